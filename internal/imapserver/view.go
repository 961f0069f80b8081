package imapserver

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// msg is one message of the selected mailbox as the client knows it; its
// index in selection.msgs plus one is its message sequence number.
type msg struct {
	id     int64
	modseq uint64
	size   int64
	// date is the INTERNALDATE in Unix microseconds, the store's
	// precision (0: none), kept from the listing so that FETCH
	// INTERNALDATE, SEARCH BEFORE/SINCE and SORT ARRIVAL need no read per
	// message; an int64, not a time.Time, keeps msg at 64 bytes.
	date  int64
	flags []string // shared with the store's listing: never modify in place
	uid   uint32
	// expunged is set when another session removed the message and the
	// client has not been told yet (no EXPUNGE allowed at that moment).
	expunged bool
	// recent is the session's \Recent flag (RFC 3501 §2.3.2, recent.go).
	recent bool
}

// internalDate is the message's INTERNALDATE, in UTC as the store keeps it.
func (m *msg) internalDate() time.Time {
	if m.date == 0 {
		return time.Time{}
	}
	return time.UnixMicro(m.date).UTC()
}

// selection is the session's view of the selected mailbox (RFC 9051 §5.2).
type selection struct {
	folderID    int64
	storeID     int64
	name        string
	uidValidity uint32
	readOnly    bool
	// claimRecent is set for SELECT (not EXAMINE): the session takes the
	// \Recent flag of new messages from every later session (recent.go).
	claimRecent bool
	recentSent  uint32 // the last RECENT count sent
	rights      string
	msgs        []msg // in UID order
	// lastSeq is the store journal sequence read up to; highestModSeq the
	// folder's HIGHESTMODSEQ when last synced (a cheap "anything new?").
	lastSeq       uint64
	highestModSeq uint64
	// gen is the events hub's generation when the mailbox was last read
	// (genKnown: there is a hub): while the store's StoreGen is not above
	// it, nothing changed and sync needs no database read.
	gen      uint64
	genKnown bool
	keywords []string // keywords announced in FLAGS
	pending  int      // messages marked expunged
	saved    []uint32 // SEARCHRES result "$" (RFC 5182), as UIDs
	// live are the updating searches (RFC 5267, context.go) and
	// livePrint the view they were last evaluated against.
	live      []*liveSearch
	livePrint viewPrint
	noUpdate  []string // tags refused NOUPDATE, told after their answer
}

// systemFlags are the flags of RFC 9051 §2.3.2 that can be stored.
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

// find returns the index of uid in the view, or -1.
func (sel *selection) find(uid uint32) int {
	i := sort.Search(len(sel.msgs), func(i int) bool { return sel.msgs[i].uid >= uid })
	if i < len(sel.msgs) && sel.msgs[i].uid == uid {
		return i
	}
	return -1
}

func (sel *selection) maxUID() uint32 {
	if len(sel.msgs) == 0 {
		return 0
	}
	return sel.msgs[len(sel.msgs)-1].uid
}

// flagsList returns the FLAGS response: system flags and known keywords.
func (sel *selection) flagsList() []string {
	return append(slices.Clone(systemFlags), sel.keywords...)
}

// learnKeywords adds unknown keywords of flags and reports whether any was
// new (a new FLAGS response is then due, RFC 9051 §7.3.5).
func (sel *selection) learnKeywords(flags []string) bool {
	added := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		if !slices.ContainsFunc(sel.keywords, func(k string) bool { return strings.EqualFold(k, f) }) {
			sel.keywords = append(sel.keywords, f)
			added = true
		}
	}
	return added
}

// indexes resolves a sequence set (or, with uid, a UID set) to indexes of
// the view in ascending order. "$" is the saved search result. A sequence
// number beyond the mailbox is a client error (RFC 9051 §6.4.5 and §9).
func (sel *selection) indexes(set imap.SeqSet, uid bool) ([]int, error) {
	if set.Saved {
		var out []int
		for _, u := range sel.saved {
			if i := sel.find(u); i >= 0 {
				out = append(out, i)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	if !uid {
		n := uint32(len(sel.msgs))
		for _, r := range set.Ranges {
			if r.Start != 0 && r.Stop != 0 && max(r.Start, r.Stop) > n {
				return nil, bad(imap.CodeClientBug, "Invalid message sequence number")
			}
		}
		var out []int
		for seq := range set.All(n) {
			out = append(out, int(seq)-1)
		}
		return out, nil
	}
	// UID sets can be as wide as 1:4294967295: walk the view and the
	// normalised ranges side by side instead of the numbers.
	norm := set.Normalize(sel.maxUID())
	var out []int
	i := 0
	for _, r := range norm.Ranges {
		i += sort.Search(len(sel.msgs)-i, func(k int) bool { return sel.msgs[i+k].uid >= r.Start })
		for i < len(sel.msgs) && sel.msgs[i].uid <= r.Stop {
			out = append(out, i)
			i++
		}
	}
	return out, nil
}

// errMailboxGone ends a session whose selected mailbox was deleted by
// someone else.
var errMailboxGone = errors.New("selected mailbox deleted")

// sync reads what changed in the selected mailbox since the last look and
// tells the client: FETCH for flag changes, EXPUNGE (or VANISHED with
// QRESYNC) for removed messages when expunge is set, EXISTS for new ones.
// Changes come from the store's journal, so they include those of every
// other session and protocol.
func (s *session) sync(expunge bool) error {
	sel := s.sel
	if sel == nil {
		return nil
	}
	defer s.sendUpdates() // RFC 5267 §4.3.2
	var gen uint64
	if hub := s.o.Events; hub != nil {
		if sel.genKnown && hub.StoreGen(sel.storeID) <= sel.gen && !(expunge && sel.pending > 0) {
			// Nothing was committed to this store since the last look.
			s.announceRecent()
			return nil
		}
		gen = hub.Gen()
	}
	f, err := s.o.Store.GetFolder(s.ctx, sel.folderID)
	if errors.Is(err, store.ErrNotFound) || err == nil && f.UIDValidity != sel.uidValidity {
		s.log.Info("selected mailbox vanished", "mailbox", sel.name)
		return s.bye("Selected mailbox was deleted")
	}
	if err != nil {
		// Transient: try again after the next command.
		s.log.Warn("sync", "mailbox", sel.name, "err", err)
		s.announceRecent()
		return nil
	}
	var newMsgs []msg
	var changed []int
	if f.HighestModSeq != sel.highestModSeq {
		newMsgs, changed, err = s.readChanges(sel)
		if err != nil {
			s.log.Warn("sync", "mailbox", sel.name, "err", err)
			s.announceRecent()
			return nil
		}
		sel.highestModSeq = f.HighestModSeq
	}
	// Flag changes first, while the sequence numbers still hold.
	flagsDue := false
	for _, i := range changed {
		if sel.learnKeywords(sel.msgs[i].flags) {
			flagsDue = true
		}
	}
	for _, m := range newMsgs {
		if sel.learnKeywords(m.flags) {
			flagsDue = true
		}
	}
	if flagsDue {
		s.w.Flags(sel.flagsList()...)
	}
	for _, i := range changed {
		if !sel.msgs[i].expunged {
			s.writeFlags(i, true, false)
		}
	}
	if expunge && sel.pending > 0 {
		s.announceExpunged()
	}
	if len(newMsgs) > 0 {
		s.markRecent(sel, f, newMsgs, 0)
		sel.msgs = append(sel.msgs, newMsgs...)
		s.w.Exists(uint32(len(sel.msgs)))
	}
	// After every change of size, including EXPUNGEs the command itself
	// sent (EXPUNGE, MOVE), once per command.
	s.announceRecent()
	sel.gen, sel.genKnown = gen, s.o.Events != nil
	return nil
}

// readChanges reads the journal since sel.lastSeq: it marks removed
// messages, updates flags and returns new messages and the indexes of
// messages whose flags changed.
func (s *session) readChanges(sel *selection) ([]msg, []int, error) {
	updated := map[uint32]bool{}
	var deleted []uint32
	created := false
	last := sel.lastSeq
	for {
		chs, err := s.o.Store.Changes(s.ctx, sel.storeID, last, changesPage)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range chs {
			last = max(last, c.Seq)
			if c.FolderID != sel.folderID {
				continue
			}
			switch c.Kind {
			case store.ChangeItemCreated:
				created = true
			case store.ChangeItemUpdated:
				updated[c.UID] = true
			case store.ChangeItemDeleted:
				deleted = append(deleted, c.UID)
				delete(updated, c.UID)
			}
		}
		if len(chs) < changesPage {
			break
		}
	}
	var newMsgs []msg
	if created {
		items, err := s.o.Store.ListItems(s.ctx, sel.folderID, sel.maxUID()+1, 0)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			newMsgs = append(newMsgs, msgOf(it))
		}
	}
	var changed []int
	if len(updated) > 0 {
		cur, err := s.currentState(sel, updated)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range cur {
			i := sel.find(it.UID)
			if i < 0 || sel.msgs[i].expunged {
				continue
			}
			m := &sel.msgs[i]
			if m.modseq == it.ModSeq && slices.Equal(m.flags, it.Flags) {
				continue
			}
			m.modseq, m.flags = it.ModSeq, it.Flags
			changed = append(changed, i)
		}
		slices.Sort(changed)
	}
	// Commit only now: a failure above reads the same entries again.
	sel.lastSeq = last
	for _, uid := range deleted {
		if i := sel.find(uid); i >= 0 && !sel.msgs[i].expunged {
			sel.msgs[i].expunged = true
			sel.pending++
		}
	}
	return newMsgs, changed, nil
}

// changesPage is how many journal entries one Changes call returns.
const changesPage = 10000

// currentState reads the flags and MODSEQ of some messages: one by one
// when they are few, else by listing from the lowest UID.
func (s *session) currentState(sel *selection, uids map[uint32]bool) ([]store.ItemSummary, error) {
	if len(uids) <= 32 {
		var out []store.ItemSummary
		for uid := range uids {
			it, err := s.o.Store.ItemByUID(s.ctx, sel.folderID, uid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, store.ItemSummary{ID: it.ID, UID: it.UID, ModSeq: it.ModSeq, Flags: it.Flags, Size: it.Size})
		}
		return out, nil
	}
	lo := uint32(0xffffffff)
	for u := range uids {
		lo = min(lo, u)
	}
	all, err := s.o.Store.ListItems(s.ctx, sel.folderID, lo, 0)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(it store.ItemSummary) bool { return !uids[it.UID] }), nil
}

func msgOf(it store.ItemSummary) msg {
	m := msg{id: it.ID, uid: it.UID, modseq: it.ModSeq, size: it.Size, flags: it.Flags}
	if !it.InternalDate.IsZero() {
		m.date = it.InternalDate.UnixMicro()
	}
	return m
}

// announceExpunged tells the client about messages marked expunged and
// drops them from the view.
func (s *session) announceExpunged() {
	sel := s.sel
	s.removeExpunged() // RFC 5267 §4.3.4: REMOVEFROM before EXPUNGE
	var gone []uint32
	kept := sel.msgs[:0]
	for _, m := range sel.msgs {
		if m.expunged {
			gone = append(gone, m.uid)
			if !s.qresync && !s.uidonly {
				// Each EXPUNGE renumbers the messages after it: the
				// number is the one after the previous removals.
				s.w.Expunge(uint32(len(kept) + 1))
			}
			continue
		}
		kept = append(kept, m)
	}
	clear(sel.msgs[len(kept):])
	sel.msgs = kept
	sel.pending = 0
	if (s.qresync || s.uidonly) && len(gone) > 0 { // RFC 9586 §3.4
		s.w.Vanished(false, imap.SeqSetOf(gone...))
	}
}

// expungeNow removes messages this session expunged and announces them
// (RFC 9051 §7.5.1, RFC 7162 §3.2.10).
func (s *session) expungeNow(uids []uint32) {
	sel := s.sel
	for _, u := range uids {
		if i := sel.find(u); i >= 0 && !sel.msgs[i].expunged {
			sel.msgs[i].expunged = true
			sel.pending++
		}
	}
	s.announceExpunged()
}

// writeFlags writes "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])" for the
// message at index i: after STORE and for changes made elsewhere. With
// silent only MODSEQ is sent (RFC 7162 §3.1.3).
func (s *session) writeFlags(i int, withUID, silent bool) {
	m := &s.sel.msgs[i]
	fw := s.fetchAt(i)
	// RFC 7162 §3.1: once CONDSTORE is on, every untagged FETCH caused by
	// STORE or by another agent carries UID and MODSEQ; a UIDFETCH is
	// numbered by it (RFC 9586 §3.3).
	if (withUID || s.condstore) && !s.uidonly {
		fw.UID(m.uid)
	}
	if !silent {
		fw.Flags(s.flagsOf(m)...)
	}
	if s.condstore {
		fw.ModSeq(m.modseq)
	}
	fw.Close()
}

// unselect leaves the selected state without announcing anything.
func (s *session) unselect() {
	s.sel = nil
	s.state = stateAuth
}
