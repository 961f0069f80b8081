package imapserver

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// \Recent (RFC 3501 §2.3.2) for IMAP4rev1 sessions; IMAP4rev2 dropped it
// (RFC 9051 Appendix E), so a session that enabled IMAP4rev2 neither shows
// nor claims it.
//
// A message is recent for the first session that selects its mailbox (not
// EXAMINE) after the message arrived, or that has the mailbox selected when
// it arrives. The store keeps no per-session flag; instead each folder has
// a watermark, the highest UID already announced as recent, in the folder
// property store.RecentProp ("UIDVALIDITY:UID"). SELECT, and a selected
// session learning of new messages, claim the messages above it with
// store.Backend.ClaimRecent, which advances the watermark and returns its
// previous value in one transaction: of two sessions polling at once, each
// gets its own range of UIDs, so no message is recent in two sessions.
// EXAMINE and STATUS only read the watermark.
//
// The watermark is read with the system principal (a reader of a shared
// mailbox may lack the rights properties need) and claimed with the
// session's own principal, which needs the read right SELECT needs anyway.

// recentMark returns the folder's \Recent watermark: messages with a
// greater UID are recent. A folder never selected has 0; a watermark of
// another UIDVALIDITY counts as 0. When the property cannot be read the
// error is logged and every message counts as old, so that a store
// failure never floods a client with \Recent.
func (s *session) recentMark(f *store.Folder) uint32 {
	props, err := s.o.Store.FolderProps(store.SystemContext(s.ctx), f.ID)
	if err != nil {
		s.log.Warn("recent: read watermark", "folder", f.ID, "err", err)
		return max(f.UIDNext, 1) - 1
	}
	v, ok := props[store.RecentProp]
	if !ok {
		return 0
	}
	vs, us, ok := strings.Cut(v, ":")
	validity, err1 := strconv.ParseUint(vs, 10, 32)
	uid, err2 := strconv.ParseUint(us, 10, 32)
	if !ok || err1 != nil || err2 != nil || uint32(validity) != f.UIDValidity {
		return 0
	}
	return uint32(uid)
}

// wantsRecent reports whether the session deals in \Recent at all.
func (s *session) wantsRecent() bool { return !s.rev2 }

// markRecent flags the messages of msgs whose UID is above the folder's
// watermark as recent. When the selection claims \Recent (SELECT, not
// EXAMINE) it advances the watermark past them first and flags only the
// messages its claim got. f is the selected folder as last read; atLeast
// is a UID the watermark moves to at least when it moves (SELECT passes
// UIDNEXT-1).
func (s *session) markRecent(sel *selection, f *store.Folder, msgs []msg, atLeast uint32) {
	if !s.wantsRecent() || len(msgs) == 0 {
		return
	}
	mark := s.recentMark(f)
	top := uint32(0)
	for i := range msgs {
		if msgs[i].uid > mark {
			top = max(top, msgs[i].uid)
		}
	}
	if top == 0 {
		return
	}
	if sel.claimRecent {
		prev, err := s.o.Store.ClaimRecent(s.ctx, f.ID, f.UIDValidity, max(top, atLeast))
		if err != nil {
			// Nothing is claimed: the next session gets the messages.
			s.log.Warn("recent: claim", "folder", f.ID, "err", err)
			return
		}
		mark = prev
	}
	for i := range msgs {
		if msgs[i].uid > mark {
			msgs[i].recent = true
		}
	}
}

// recentCount is the number of messages of the view flagged \Recent.
func (sel *selection) recentCount() uint32 {
	n := uint32(0)
	for i := range sel.msgs {
		if sel.msgs[i].recent {
			n++
		}
	}
	return n
}

// announceRecent sends RECENT when the number of recent messages changed
// since the last one sent (RFC 3501 §7.3.2: after the size of the mailbox
// changed), as Dovecot does: after EXISTS for new messages and after
// EXPUNGE. sync calls it at the end of every command and while idling.
func (s *session) announceRecent() {
	sel := s.sel
	if !s.wantsRecent() || sel == nil {
		return
	}
	if n := sel.recentCount(); n != sel.recentSent {
		sel.recentSent = n
		s.w.Recent(n)
	}
}

// statusRecent counts a folder's messages above its watermark, for STATUS
// RECENT.
func (s *session) statusRecent(f *store.Folder) (uint64, error) {
	if !s.wantsRecent() {
		return 0, nil
	}
	mark := s.recentMark(f)
	if mark == ^uint32(0) || f.UIDNext <= mark+1 {
		return 0, nil
	}
	items, err := s.o.Store.ListItems(s.ctx, f.ID, mark+1, 0)
	if err != nil {
		return 0, wrap(opMailbox, err)
	}
	return uint64(len(items)), nil
}

// flagsOf returns the FLAGS of a message as this session shows them:
// the stored flags plus \Recent when it is recent for this session.
func (s *session) flagsOf(m *msg) []string {
	if !m.recent || !s.wantsRecent() {
		return m.flags
	}
	return append(slices.Clip(m.flags), `\Recent`)
}
