package imapserver

import (
	"github.com/roost-mail/roost/internal/proto/imap"
)

// Quota (RFC 9208). Each user has one quota root, "", over its private
// store: STORAGE in KiB against the hard quota. Mailboxes of other stores
// have no quota root the user can see.

// quotaResources returns the user's quota resources; a level that is off
// is not listed (RFC 9208 §5.1 lists resources with a limit).
func (s *session) quotaResources() ([]imap.QuotaResource, error) {
	q, err := s.o.Store.StoreQuota(s.ctx, s.storeID)
	if err != nil {
		return nil, wrap(opMailbox, err)
	}
	var res []imap.QuotaResource
	if q.Quota.Hard > 0 {
		res = append(res, imap.QuotaResource{
			Name:  "STORAGE",
			Usage: uint64(max(q.Size, 0)+1023) / 1024,
			Limit: uint64(q.Quota.Hard) / 1024,
		})
	}
	if q.MaxMessages > 0 {
		// QUOTA=RES-MESSAGE (RFC 9208 §5.2).
		res = append(res, imap.QuotaResource{Name: "MESSAGE", Usage: uint64(max(q.Messages, 0)), Limit: uint64(q.MaxMessages)})
	}
	return res, nil
}

// GETQUOTAROOT, RFC 9208 §4.3.
func (s *session) cmdGetQuotaRoot(c *imap.Command) (imap.Code, error) {
	m, err := s.resolve(c.Args.(*imap.MailboxCmd).Mailbox)
	if err != nil {
		return "", err
	}
	if m.t.ns != nsPersonal {
		s.w.QuotaRoot(m.name)
		return "", nil
	}
	res, err := s.quotaResources()
	if err != nil {
		return "", err
	}
	s.w.QuotaRoot(m.name, "")
	s.w.Quota("", res)
	return "", nil
}

// GETQUOTA, RFC 9208 §4.2.
func (s *session) cmdGetQuota(c *imap.Command) (imap.Code, error) {
	if c.Args.(*imap.GetQuotaCmd).Root != "" {
		return "", no(imap.CodeNonExistent, "No such quota root")
	}
	res, err := s.quotaResources()
	if err != nil {
		return "", err
	}
	s.w.Quota("", res)
	return "", nil
}

// SETQUOTA, RFC 9208 §4.1: quotas are set by administrators.
func (s *session) cmdSetQuota(c *imap.Command) (imap.Code, error) {
	return "", no(imap.CodeNoPerm, "Quotas are set by the administrator")
}
