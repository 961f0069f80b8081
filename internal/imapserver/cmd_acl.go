package imapserver

import (
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// ACL (RFC 4314), mapped onto the store's folder ACLs so that sharing set
// over IMAP holds in every protocol.
//
// Identifiers: "anyone" is the store's "anyone" (users of the folder's
// tenant); "$NAME" is the group NAME ("group:NAME" is accepted too, as
// Cyrus spells it); anything else is a login name. Negative rights
// ("-login") are not supported. The owner of a private store always has
// every right and is listed first by GETACL.

// subjectOf maps an RFC 4314 identifier to a store ACL subject.
func subjectOf(id string) (string, error) {
	switch {
	case id == "":
		return "", bad(imap.CodeClientBug, "Empty identifier")
	case strings.HasPrefix(id, "-"):
		return "", no(imap.CodeCannot, "Negative rights are not supported")
	case strings.EqualFold(id, store.SubjectAnyone):
		return store.SubjectAnyone, nil
	case strings.HasPrefix(id, "$") && len(id) > 1:
		return store.GroupSubject(id[1:]), nil
	case len(id) > 6 && strings.EqualFold(id[:6], "group:"):
		return store.GroupSubject(id[6:]), nil
	}
	return store.UserSubject(id), nil
}

// identifierOf maps a store ACL subject back to an identifier.
func identifierOf(subject string) string {
	switch {
	case strings.HasPrefix(subject, "user:"):
		return subject[5:]
	case strings.HasPrefix(subject, "group:"):
		return "$" + subject[6:]
	}
	return subject
}

// owner returns the login owning a mailbox's store, or "".
func (s *session) owner(m *mbox) string {
	switch m.t.ns {
	case nsPersonal, nsArchive:
		return s.p.Login
	case nsOther:
		return m.t.owner
	}
	return ""
}

// GETACL, RFC 4314 §3.3 (needs the "a" right).
func (s *session) cmdGetACL(c *imap.Command) (imap.Code, error) {
	m, err := s.resolve(c.Args.(*imap.MailboxCmd).Mailbox)
	if err != nil {
		return "", err
	}
	acl, err := s.o.Store.GetACL(s.ctx, m.f.ID)
	if err != nil {
		return "", wrap(opMailbox, err)
	}
	var out []imap.ACLEntry
	if o := s.owner(m); o != "" {
		out = append(out, imap.ACLEntry{Identifier: o, Rights: store.AllRights})
	}
	for _, e := range acl {
		out = append(out, imap.ACLEntry{Identifier: identifierOf(e.Subject), Rights: e.Rights})
	}
	s.w.ACL(m.name, out)
	return "", nil
}

// SETACL and DELETEACL, RFC 4314 §3.1 and §3.2. "+rights" adds, "-rights"
// removes, plain rights replace.
func (s *session) cmdSetACL(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ACLCmd)
	m, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", err
	}
	subj, err := subjectOf(a.Identifier)
	if err != nil {
		return "", err
	}
	if c.Name == "DELETEACL" {
		return "", wrap(opACL, s.o.Store.DeleteACL(s.ctx, m.f.ID, subj))
	}
	rights := a.Rights
	if rights != "" && (rights[0] == '+' || rights[0] == '-') {
		acl, err := s.o.Store.GetACL(s.ctx, m.f.ID)
		if err != nil {
			return "", wrap(opMailbox, err)
		}
		cur := ""
		for _, e := range acl {
			if strings.EqualFold(e.Subject, subj) {
				cur = e.Rights
			}
		}
		change, err := store.NormalizeRights(rights[1:])
		if err != nil {
			return "", bad(imap.CodeClientBug, "Invalid rights")
		}
		if rights[0] == '+' {
			rights = cur + change
		} else {
			rights = strings.Map(func(r rune) rune {
				if strings.ContainsRune(change, r) {
					return -1
				}
				return r
			}, cur)
		}
	}
	if _, err := store.NormalizeRights(rights); err != nil {
		return "", bad(imap.CodeClientBug, "Invalid rights")
	}
	return "", wrap(opACL, s.o.Store.SetACL(s.ctx, m.f.ID, subj, rights))
}

// LISTRIGHTS, RFC 4314 §3.4: no right is tied to another, so every right
// is optional, except for the owner, who holds them all.
func (s *session) cmdListRights(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ACLCmd)
	m, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", err
	}
	rights, err := s.o.Store.MyRights(s.ctx, m.f.ID)
	if err != nil {
		return "", wrap(opMailbox, err)
	}
	if !strings.ContainsRune(rights, store.RightAdmin) {
		return "", no(imap.CodeNoPerm, "Permission denied")
	}
	if o := s.owner(m); o != "" && strings.EqualFold(o, a.Identifier) {
		s.w.ListRights(m.name, a.Identifier, store.AllRights)
		return "", nil
	}
	var opt []string
	for _, r := range store.AllRights {
		opt = append(opt, string(r))
	}
	s.w.ListRights(m.name, a.Identifier, "", opt...)
	return "", nil
}

// MYRIGHTS, RFC 4314 §3.5.
func (s *session) cmdMyRights(c *imap.Command) (imap.Code, error) {
	m, err := s.resolve(c.Args.(*imap.MailboxCmd).Mailbox)
	if err != nil {
		return "", err
	}
	rights, err := s.o.Store.MyRights(s.ctx, m.f.ID)
	if err != nil {
		return "", wrap(opMailbox, err)
	}
	s.w.MyRights(m.name, rights)
	return "", nil
}
