package imapserver

import (
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// caps returns the capabilities for the session's current state (RFC 9051
// §6.1.1): before authentication only what is needed to log in.
func (s *session) caps() []string {
	c := []string{"IMAP4rev1", "IMAP4rev2"}
	if s.state == stateNotAuth {
		c = append(c, "SASL-IR", "LITERAL-", "ID", "ENABLE")
		if s.o.TLS != nil && !s.tls {
			c = append(c, "STARTTLS")
		}
		if s.o.GSSAPI != nil {
			c = append(c, "AUTH=GSSAPI")
		}
		if s.plainAllowed() {
			c = append(c, "AUTH=PLAIN", "AUTH=LOGIN")
			if s.o.VerifyToken != nil {
				c = append(c, "AUTH=OAUTHBEARER", "AUTH=XOAUTH2")
			}
		} else {
			c = append(c, "LOGINDISABLED")
		}
		return c
	}
	c = append(c,
		"LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE",
		"CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE",
		"CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "WITHIN", "MULTIAPPEND", "BINARY",
		"UTF8=ACCEPT", "STATUS=SIZE", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "ACL", "RIGHTS=texk",
		"SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"METADATA", "METADATA-SERVER",
		"OBJECTID", "SAVEDATE", "PREVIEW", "LIST-MYRIGHTS", "REPLACE", "CATENATE", "INPROGRESS",
		"PARTIAL", "CONTEXT=SEARCH", "CONTEXT=SORT", "UIDONLY", "NOTIFY", "URLAUTH", "URLAUTH=BINARY",
		"APPENDLIMIT="+strconv.FormatInt(s.o.MaxMessageBytes, 10),
		s.messageLimitCap(),
	)
	if !s.compressed {
		c = append(c, "COMPRESS=DEFLATE")
	}
	if s.o.SearchIndex {
		c = append(c, "SEARCH=FUZZY") // RFC 6203, search_index.go
	}
	return c
}

// plainAllowed reports whether passwords may be sent now.
func (s *session) plainAllowed() bool { return s.tls || s.o.AllowPlaintextAuth }

// CAPABILITY, RFC 9051 §6.1.1.
func (s *session) cmdCapability(c *imap.Command) (imap.Code, error) {
	s.w.Capability(s.caps()...)
	return "", nil
}

// NOOP (RFC 9051 §6.1.2) and CHECK (RFC 3501 §6.4.1): the pending updates
// of the selected mailbox are sent by dispatch.
func (s *session) cmdNoop(c *imap.Command) (imap.Code, error) { return "", nil }

// LOGOUT, RFC 9051 §6.1.3.
func (s *session) cmdLogout(c *imap.Command) (imap.Code, error) {
	s.w.Untagged(imap.BYE, "", "Logging out")
	s.w.Tagged(c.Tag, imap.OK, "", "LOGOUT completed")
	s.flush()
	s.state = stateLogout
	return "", errLogout
}

// ID, RFC 2971. The client's fields are logged, the server's name
// returned.
func (s *session) cmdID(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.IDCmd)
	if len(a.Fields) > 0 {
		attrs := make([]any, 0, 2*len(a.Fields))
		for _, f := range a.Fields {
			v := f.Value
			if len(v) > 100 {
				v = v[:100]
			}
			attrs = append(attrs, "id."+strings.ToLower(sanitize(f.Name)), sanitize(v))
		}
		s.log.Debug("client ID", attrs...)
		if s.o.ProxyLogin != nil && s.state == stateNotAuth {
			s.origin = originOf(a.Fields)
		}
	}
	s.w.ID([]imap.IDField{{Name: "name", Value: "Roost"}, {Name: "vendor", Value: "Roost"}})
	return "", nil
}

// sanitize keeps printable ASCII for the log.
func sanitize(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, v)
}

// ENABLE, RFC 5161: IMAP4rev2 (RFC 9051 §6.3.1), CONDSTORE and QRESYNC
// (RFC 7162 §3.2.3), UTF8=ACCEPT (RFC 6855).
func (s *session) cmdEnable(c *imap.Command) (imap.Code, error) {
	if s.state == stateSelected {
		// RFC 5161 §3.1: only before a mailbox is selected (and QRESYNC
		// must be on before SELECT to mean anything).
		return "", bad(imap.CodeClientBug, "ENABLE is not allowed with a mailbox selected")
	}
	var done []string
	for _, cp := range c.Args.(*imap.EnableCmd).Caps {
		switch cp {
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				s.setUTF8()
				done = append(done, "IMAP4rev2")
			}
		case "CONDSTORE":
			if !s.condstore {
				s.condstore = true
				done = append(done, "CONDSTORE")
			}
		case "QRESYNC":
			if !s.qresync {
				s.qresync, s.condstore = true, true
				done = append(done, "QRESYNC")
			}
		case "UTF8=ACCEPT":
			if !s.utf8 {
				s.setUTF8()
				done = append(done, "UTF8=ACCEPT")
			}
		case "UIDONLY":
			if !s.uidonly {
				s.uidonly = true // RFC 9586 §3
				done = append(done, "UIDONLY")
			}
		}
	}
	s.w.Enabled(done...)
	return "", nil
}

// setUTF8 switches mailbox names and strings to UTF-8 (RFC 6855 §3, RFC
// 9051 §6.3.1).
func (s *session) setUTF8() {
	s.utf8 = true
	s.r.UTF8 = true
	s.w.UTF8 = true
}
