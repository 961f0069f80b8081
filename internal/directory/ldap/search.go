package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/roost-mail/roost/internal/directory"
)

// MaxSearchResults bounds what Search returns, whatever a client asks.
const MaxSearchResults = 200

// maxQueryLen bounds a client's search string.
const maxQueryLen = 256

// SearchResult is directory.GALEntry: protocols use it through
// directory.AddressBook without naming this backend.
type SearchResult = directory.GALEntry

// SearchFilter is the filter Search sends for a client's query: the
// user filter, and a substring match of each word of the query on the
// login, name and address attributes. Every word is escaped (RFC 4515
// §3: "*", "(", ")", "\" and NUL become \XX), so a query is only ever
// matched as text: it cannot add filter terms (no LDAP injection).
func (d *Directory) SearchFilter(query string) string {
	var terms strings.Builder
	for _, w := range strings.Fields(query) {
		v := goldap.EscapeFilter(w)
		terms.WriteString("(|")
		for _, a := range []string{d.cfg.LoginAttr, d.cfg.FullNameAttr, d.cfg.MailAttr, d.cfg.AliasesAttr} {
			if a != "" {
				fmt.Fprintf(&terms, "(%s=*%s*)", a, v)
			}
		}
		terms.WriteString(")")
	}
	return "(&" + d.cfg.Filter + terms.String() + ")"
}

// Search is the global address list search for clients (JMAP, the web
// client, ActiveSync): the directory's users whose login, name or
// address contains every word of query, at most limit of them (and never
// more than MaxSearchResults; limit <= 0 means that). The query is
// untrusted: it is escaped (SearchFilter), bounded to 256 bytes of
// valid UTF-8, and an empty query finds nothing rather than everyone.
// An unreachable directory wraps ErrUnavailable.
func (d *Directory) Search(ctx context.Context, query string, limit int) ([]SearchResult, error) {
	if limit <= 0 || limit > MaxSearchResults {
		limit = MaxSearchResults
	}
	if len(query) > maxQueryLen || !utf8.ValidString(query) || strings.ContainsRune(query, 0) {
		return nil, fmt.Errorf("ldap search: the query must be valid text of at most %d bytes", maxQueryLen)
	}
	if strings.TrimSpace(query) == "" {
		return nil, nil
	}
	filter := d.SearchFilter(query)
	var out []SearchResult
	err := d.with(ctx, func(c *conn) error {
		req := goldap.NewSearchRequest(d.cfg.Base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit,
			int(d.cfg.Timeout.Seconds()), false, filter, d.attrs(), nil)
		res, err := c.Search(req)
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) && !errors.Is(err, goldap.ErrSizeLimitExceeded) {
			return fmt.Errorf("ldap search %s: %w", filter, err)
		}
		if res == nil {
			return nil
		}
		for _, le := range res.Entries {
			e, err := d.entryOf(le)
			if err != nil {
				continue // an entry without login: not in the address book
			}
			out = append(out, SearchResult{Login: e.Login, FullName: e.FullName, Mail: e.Mail, Aliases: e.Aliases, Active: e.Active})
			if len(out) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ directory.AddressBook = (*Directory)(nil)
