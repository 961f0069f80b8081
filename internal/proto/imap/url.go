package imap

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// URL is an IMAP URL naming one message or part (RFC 5092) with its
// URLAUTH component (RFC 4467 §2):
//
//	imap://user[;AUTH=x]@host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n
//	    [/;SECTION=s][/;PARTIAL=o[.l]][;EXPIRE=date-time]
//	    [;URLAUTH=access[:mechanism:token]]
type URL struct {
	User        string // the mailbox owner ("" when not given)
	Host        string // host[:port]
	Mailbox     string // percent-decoded UTF-8 (RFC 5092 §3.1)
	UIDValidity uint32 // 0 when not given
	UID         uint32
	Section     string // upper case; "" is the whole message
	Partial     *[2]uint64
	Expire      time.Time // zero when not given
	// Access is "submit+user", "user+user", "authuser" or "anonymous"
	// ("" without URLAUTH); Mechanism and Token are "" in a rump URL.
	Access, Mechanism, Token string
	// Rump is the URL up to and including the access identifier: what the
	// token authorises (RFC 4467 §2.3).
	Rump string
}

var errURL = errors.New("invalid IMAP URL")

// ParseURL parses an IMAP message URL. Only URLs naming a message (with a
// UID) are accepted: they are what URLAUTH and BURL use.
func ParseURL(s string) (*URL, error) {
	if len(s) < 7 || !strings.EqualFold(s[:7], "imap://") || len(s) > 8192 {
		return nil, errURL
	}
	rest := s[7:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return nil, errURL
	}
	u := &URL{}
	auth, path := rest[:slash], rest[slash+1:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user := auth[:at]
		if i := strings.Index(upperASCII(user), ";AUTH="); i >= 0 {
			user = user[:i]
		}
		var err error
		if u.User, err = url.PathUnescape(user); err != nil || u.User == "" {
			return nil, errURL
		}
		auth = auth[at+1:]
	}
	if auth == "" {
		return nil, errURL
	}
	u.Host = auth
	up := upperASCII(path) // same length as path, unlike strings.ToUpper
	if i := strings.LastIndex(up, ";URLAUTH="); i >= 0 {
		ua := path[i+len(";URLAUTH="):]
		u.Rump = s[:len(s)-len(path)+i+len(";URLAUTH=")]
		access, mech, hasMech := strings.Cut(ua, ":")
		u.Rump += access
		a, err := url.PathUnescape(access)
		if err != nil || !validAccess(a) {
			return nil, errURL
		}
		u.Access = a
		if hasMech {
			m, token, ok := strings.Cut(mech, ":")
			if !ok || m == "" || token == "" || !isHex(token) {
				return nil, errURL
			}
			u.Mechanism, u.Token = strings.ToUpper(m), strings.ToLower(token)
		}
		path, up = path[:i], up[:i]
	}
	if i := strings.LastIndex(up, ";EXPIRE="); i >= 0 {
		t, err := time.Parse(time.RFC3339, path[i+len(";EXPIRE="):])
		if err != nil {
			return nil, errURL
		}
		u.Expire = t
		path = path[:i]
	}
	if err := u.parsePath(path); err != nil {
		return nil, err
	}
	return u, nil
}

// ParseRelativeURL parses a relative IMAP URL of a message or part, as
// CATENATE takes them (RFC 4469 §5, RFC 5092 §7: "/" mailbox
// [;UIDVALIDITY=n] /;UID=n [/;SECTION=s] [/;PARTIAL=o[.l]]). It has no
// user, host, EXPIRE or URLAUTH.
func ParseRelativeURL(s string) (*URL, error) {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || len(s) > 8192 {
		return nil, errURL
	}
	u := &URL{}
	if err := u.parsePath(s[1:]); err != nil {
		return nil, err
	}
	return u, nil
}

// parsePath parses what follows the host: mailbox, UIDVALIDITY, UID,
// SECTION and PARTIAL.
func (u *URL) parsePath(path string) error {
	parts := strings.Split(path, "/;")
	mb := parts[0]
	if i := strings.Index(upperASCII(mb), ";UIDVALIDITY="); i >= 0 {
		n, err := strconv.ParseUint(mb[i+len(";UIDVALIDITY="):], 10, 32)
		if err != nil || n == 0 {
			return errURL
		}
		u.UIDValidity = uint32(n)
		mb = mb[:i]
	}
	name, err := url.PathUnescape(mb)
	if err != nil || name == "" {
		return errURL
	}
	u.Mailbox = name
	for k, p := range parts[1:] {
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			return errURL
		}
		switch key = strings.ToUpper(key); {
		case key == "UID" && k == 0:
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 {
				return errURL
			}
			u.UID = uint32(n)
		case key == "SECTION" && k == 1:
			sec, err := url.PathUnescape(val)
			if err != nil {
				return errURL
			}
			u.Section = strings.ToUpper(sec)
		case key == "PARTIAL" && k >= 1 && u.Partial == nil:
			off, length, hasLen := strings.Cut(val, ".")
			o, err := strconv.ParseUint(off, 10, 32)
			if err != nil {
				return errURL
			}
			l := uint64(1<<63 - 1)
			if hasLen {
				if l, err = strconv.ParseUint(length, 10, 32); err != nil || l == 0 {
					return errURL
				}
			}
			u.Partial = &[2]uint64{o, l}
		default:
			return errURL
		}
	}
	if u.UID == 0 {
		return errURL
	}
	return nil
}

// validAccess checks an access identifier (RFC 4467 §3).
func validAccess(a string) bool {
	switch {
	case strings.EqualFold(a, "authuser"), strings.EqualFold(a, "anonymous"):
		return true
	case len(a) > 7 && strings.EqualFold(a[:7], "submit+"), len(a) > 5 && strings.EqualFold(a[:5], "user+"):
		return true
	}
	return false
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// upperASCII upper-cases ASCII letters only, keeping byte offsets.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
