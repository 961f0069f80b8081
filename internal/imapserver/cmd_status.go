package imapserver

import (
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// STATUS, RFC 9051 §6.3.11, with STATUS=SIZE (RFC 8438), HIGHESTMODSEQ
// (RFC 7162 §3.1.6) and APPENDLIMIT (RFC 7889).
func (s *session) cmdStatus(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.StatusCmd)
	m, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", err
	}
	vals, err := s.statusValues(m, a.Items)
	if err != nil {
		return "", err
	}
	s.w.Status(m.name, vals)
	return "", nil
}

// statusValues computes STATUS items. Reading a mailbox's status needs the
// read right (RFC 4314 §4), as selecting it does.
func (s *session) statusValues(m *mbox, items []imap.StatusItem) ([]imap.StatusValue, error) {
	f := m.f
	if m.t.ns != nsPersonal {
		rights, err := s.o.Store.MyRights(s.ctx, f.ID)
		if err != nil {
			return nil, wrap(opMailbox, err)
		}
		if !strings.ContainsRune(rights, store.RightRead) {
			return nil, wrap(opMailbox, store.ErrPermission)
		}
	}
	var unseen, deleted uint64
	if slices.Contains(items, imap.StatusUnseen) || slices.Contains(items, imap.StatusDeleted) {
		list, err := s.o.Store.ListItems(s.ctx, f.ID, 0, 0)
		if err != nil {
			return nil, wrap(opMailbox, err)
		}
		for _, it := range list {
			if !slices.Contains(it.Flags, `\Seen`) {
				unseen++
			}
			if slices.Contains(it.Flags, `\Deleted`) {
				deleted++
			}
		}
	}
	vals := make([]imap.StatusValue, 0, len(items))
	for _, it := range items {
		var v uint64
		switch it {
		case imap.StatusMessages:
			v = uint64(max(f.Messages, 0))
		case imap.StatusUIDNext:
			v = uint64(f.UIDNext)
		case imap.StatusUIDValidity:
			v = uint64(f.UIDValidity)
		case imap.StatusUnseen:
			v = unseen
		case imap.StatusDeleted:
			v = deleted
		case imap.StatusSize:
			v = uint64(max(f.Size, 0))
		case imap.StatusRecent:
			n, err := s.statusRecent(f)
			if err != nil {
				return nil, err
			}
			v = n
		case imap.StatusHighestModSeq:
			s.enableCondStore() // RFC 7162 §3.1: a CONDSTORE enabling command
			v = f.HighestModSeq
		case imap.StatusAppendLimit:
			v = uint64(s.o.MaxMessageBytes)
		case imap.StatusMailboxID:
			vals = append(vals, imap.StatusValue{Item: it, Str: mailboxID(f.ID)}) // RFC 8474 §4
			continue
		default:
			continue
		}
		vals = append(vals, imap.StatusValue{Item: it, Value: v})
	}
	return vals, nil
}
