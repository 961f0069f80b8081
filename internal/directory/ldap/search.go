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

// ErrNoAddressList: SearchList was given a list the directory does not
// have.
var ErrNoAddressList = errors.New("no such address list")

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
	who := d.cfg.Filter
	if d.cfg.ContactFilter != "" {
		who = "(|" + who + d.cfg.ContactFilter + ")"
	}
	return "(&" + who + terms.String() + ")"
}

// Search is the global address list search for clients (JMAP, the web
// client, ActiveSync): the directory's users whose login, name or
// address contains every word of query, at most limit of them (and never
// more than MaxSearchResults; limit <= 0 means that). The query is
// untrusted: it is escaped (SearchFilter), bounded to 256 bytes of
// valid UTF-8, and an empty query finds nothing rather than everyone.
// An unreachable directory wraps ErrUnavailable.
func (d *Directory) Search(ctx context.Context, query string, limit int) ([]SearchResult, error) {
	return d.SearchList(ctx, "", query, limit)
}

// AddressLists returns the names of the address lists
// (ldap_addresslist_search_filter), none when it is not configured.
func (d *Directory) AddressLists(ctx context.Context) ([]string, error) {
	lists, err := d.addressLists(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		out = append(out, l.name)
	}
	return out, nil
}

type addressList struct{ name, filter, base string }

func (d *Directory) addressLists(ctx context.Context) ([]addressList, error) {
	if d.cfg.AddrListFilter == "" {
		return nil, nil
	}
	attrs := []string{d.cfg.AddrListNameAttr, d.cfg.AddrListFilterAttr}
	if d.cfg.AddrListBaseAttr != "" {
		attrs = append(attrs, d.cfg.AddrListBaseAttr)
	}
	raw, err := d.searchAll(ctx, d.cfg.AddrListFilter, attrs)
	if err != nil {
		return nil, fmt.Errorf("ldap address lists: %w", err)
	}
	var out []addressList
	for _, le := range raw {
		n, f := le.GetAttributeValue(d.cfg.AddrListNameAttr), strings.TrimSpace(le.GetAttributeValue(d.cfg.AddrListFilterAttr))
		if n == "" || f == "" {
			continue
		}
		if _, err := goldap.CompileFilter(f); err != nil {
			d.log.Warn("LDAP address list with a filter that does not parse: skipped", "dn", le.DN, "filter", f, "err", err)
			continue
		}
		l := addressList{name: n, filter: f, base: d.cfg.Base}
		if d.cfg.AddrListBaseAttr != "" {
			if b := strings.TrimSpace(le.GetAttributeValue(d.cfg.AddrListBaseAttr)); b != "" {
				// Its own base (kopanoBase) narrows the list; it must
				// not widen the search beyond ldap_search_base.
				if !under(b, d.cfg.Base) {
					d.log.Warn("LDAP address list with a search base outside ldap_search_base: skipped", "dn", le.DN, "base", b, "ldap_search_base", d.cfg.Base)
					continue
				}
				l.base = b
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// SearchList is Search within the address list named list (its filter,
// from the directory, is ANDed with the query's); list "" is the whole
// address book. An unknown list wraps ErrNoAddressList.
func (d *Directory) SearchList(ctx context.Context, list, query string, limit int) ([]SearchResult, error) {
	extra, base := "", d.cfg.Base
	if list != "" {
		lists, err := d.addressLists(ctx)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			if l.name == list {
				extra, base = l.filter, l.base
			}
		}
		if extra == "" {
			return nil, fmt.Errorf("ldap search: %q: %w", list, ErrNoAddressList)
		}
	}
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
	if extra != "" {
		filter = "(&" + extra + filter + ")"
	}
	var out []SearchResult
	err := d.with(ctx, func(c *conn) error {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit,
			int(d.cfg.Timeout.Seconds()), false, filter, d.attrs(), nil)
		res, err := c.Search(req)
		if base != d.cfg.Base && goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			// A list's base that does not exist: the list is empty.
			d.log.Warn("LDAP address list's search base does not exist", "list", list, "base", base)
			return nil
		}
		if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) && !errors.Is(err, goldap.ErrSizeLimitExceeded) {
			return fmt.Errorf("ldap search %s: %w", filter, err)
		}
		if res == nil {
			return nil
		}
		contacts := d.cfg.ContactFilter != ""
		for _, le := range res.Entries {
			e, err := d.entryOf(le)
			if err != nil {
				// No login or unique id: a contact when contacts are
				// configured and it has an address.
				if !contacts || d.cfg.MailAttr == "" || le.GetAttributeValue(d.cfg.MailAttr) == "" {
					continue
				}
				r := SearchResult{Mail: strings.ToLower(le.GetAttributeValue(d.cfg.MailAttr)), Contact: true}
				if d.cfg.FullNameAttr != "" {
					r.FullName = le.GetAttributeValue(d.cfg.FullNameAttr)
				}
				out = append(out, r)
			} else {
				out = append(out, SearchResult{Login: e.Login, FullName: e.FullName, Mail: e.Mail, Aliases: e.Aliases, Active: e.Active})
			}
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
