package imapserver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// URLAUTH, RFC 4467: GENURLAUTH authorises IMAP URLs of the user's own
// messages with the INTERNAL mechanism, RESETKEY voids them, URLFETCH
// reads them. The keys and the resolution live in mail/urlauth, which
// the submission server's BURL uses too.

// maxURLs bounds the URLs of one GENURLAUTH, URLFETCH or CATENATE
// message: each costs a folder lookup and, but for GENURLAUTH, reading
// and parsing a message of up to the message size limit, so the command's
// byte limit alone (some 100,000 URLs) would let one command read for
// hours.
const maxURLs = 100

func tooManyURLs(n int) error {
	if n > maxURLs {
		return no(imap.CodeLimit, fmt.Sprintf("At most %d URLs in one command", maxURLs))
	}
	return nil
}

func (s *session) urlResolver() *urlauth.Resolver {
	return &urlauth.Resolver{Store: s.o.Store, MaxBytes: s.o.MaxMessageBytes}
}

func (s *session) urlAccess() urlauth.Access {
	return urlauth.Access{Principal: s.p, StoreID: s.storeID}
}

// GENURLAUTH, RFC 4467 §7.
func (s *session) cmdGenURLAuth(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.GenURLAuthCmd)
	if err := tooManyURLs(len(a.URLs)); err != nil {
		return "", err
	}
	r := s.urlResolver()
	out := make([]string, 0, len(a.URLs))
	for _, u := range a.URLs {
		if u.Mechanism != urlauth.Mechanism {
			return "", no(imap.CodeCannot, "Unsupported URLAUTH mechanism "+u.Mechanism)
		}
		full, err := r.Generate(s.ctx, s.urlAccess(), u.URL, u.Mechanism)
		switch {
		case errors.Is(err, urlauth.ErrInvalid):
			return "", bad(imap.CodeClientBug, "Invalid URL for GENURLAUTH: "+short(u.URL))
		case err != nil:
			return "", wrap(opMailbox, err)
		}
		out = append(out, full)
	}
	s.w.GenURLAuth(out...)
	return "", nil
}

// RESETKEY, RFC 4467 §7.
func (s *session) cmdResetKey(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ResetKeyCmd)
	for _, m := range a.Mechanisms {
		if m != urlauth.Mechanism {
			return "", no(imap.CodeCannot, "Unsupported URLAUTH mechanism "+m)
		}
	}
	r := s.urlResolver()
	var folderID int64
	if a.Mailbox != "" {
		f, err := r.Folder(s.ctx, s.storeID, a.Mailbox)
		if err != nil {
			return "", wrap(opMailbox, err)
		}
		folderID = f.ID
	}
	if err := r.ResetKeys(s.ctx, s.storeID, folderID); err != nil {
		return "", wrap(opMailbox, err)
	}
	return "", nil
}

// URLFETCH, RFC 4467 §9: a URL that does not authorise this user, or
// names nothing, reads NIL; a failure of the store fails the command.
func (s *session) cmdURLFetch(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.URLFetchCmd)
	if err := tooManyURLs(len(a.URLs)); err != nil {
		return "", err
	}
	r := s.urlResolver()
	for i, u := range a.URLs {
		if o := a.Opt(i); o.Extended {
			if err := s.urlFetchExt(r, u, o); err != nil {
				return "", err
			}
			continue
		}
		data, err := r.Fetch(s.ctx, s.urlAccess(), u)
		switch {
		case errors.Is(err, urlauth.ErrInvalid), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
			s.w.URLFetch(u, nil, false)
		case err != nil:
			return "", wrap(opMessage, err)
		default:
			s.w.URLFetch(u, data, true)
		}
	}
	return "", nil
}

func short(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
