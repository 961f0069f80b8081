package imapserver

import (
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// SELECT and EXAMINE, RFC 9051 §6.3.2 and §6.3.3, with CONDSTORE (RFC 7162
// §3.1.8) and QRESYNC (RFC 7162 §3.2.5).
func (s *session) cmdSelect(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.SelectCmd)
	if s.sel != nil {
		// A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
		s.unselect()
		if s.qresync {
			s.w.Untagged(imap.OK, imap.CodeClosed, "Previous mailbox closed")
		}
	}
	if a.QResync != nil && !s.qresync {
		return "", bad(imap.CodeClientBug, "QRESYNC is not enabled")
	}
	if a.CondStore {
		s.condstore = true
	}
	var gen uint64
	if s.o.Events != nil {
		gen = s.o.Events.Gen() // before the folder is read (view.go sync)
	}
	m, err := s.resolve(a.Mailbox)
	if err != nil {
		return "", err
	}
	f := m.f // read before the items: changes after it come from the journal
	rights := store.AllRights
	if m.t.ns != nsPersonal {
		if rights, err = s.o.Store.MyRights(s.ctx, f.ID); err != nil {
			return "", wrap(opMailbox, err)
		}
	}
	if !strings.ContainsRune(rights, store.RightRead) {
		return "", wrap(opMailbox, store.ErrPermission)
	}
	if m.t.ns != nsPersonal && s.o.OnSharedOpen != nil {
		s.o.OnSharedOpen(s.ctx, f, rights, c.Name)
	}
	items, err := s.o.Store.ListItems(s.ctx, f.ID, 0, 0)
	if err != nil {
		return "", wrap(opMailbox, err)
	}
	sel := &selection{
		folderID: f.ID, storeID: f.StoreID, name: m.name, uidValidity: f.UIDValidity,
		readOnly: c.Name == "EXAMINE" || !strings.ContainsAny(rights, "stwe"),
		// RFC 3501 §6.3.2: only SELECT takes \Recent away from later
		// sessions, even when the mailbox is read-only for lack of rights.
		claimRecent: c.Name == "SELECT",
		rights:      rights, lastSeq: f.HighestModSeq, highestModSeq: f.HighestModSeq,
		gen: gen, genKnown: s.o.Events != nil,
		msgs: make([]msg, len(items)),
	}
	firstUnseen := 0
	for i, it := range items {
		sel.msgs[i] = msgOf(it)
		sel.learnKeywords(it.Flags)
		if firstUnseen == 0 && !slices.Contains(it.Flags, `\Seen`) {
			firstUnseen = i + 1
		}
	}
	slices.Sort(sel.keywords)
	s.markRecent(sel, f, sel.msgs, max(f.UIDNext, 1)-1)

	s.w.Flags(sel.flagsList()...)
	s.w.Untagged(imap.OK, imap.CodePermanentFlags(sel.permanentFlags()...), "Flags permitted")
	s.w.Exists(uint32(len(sel.msgs)))
	if !s.rev2 {
		sel.recentSent = sel.recentCount()
		s.w.Recent(sel.recentSent)
		if firstUnseen > 0 && !s.uidonly { // a sequence number (RFC 9586 §3)
			s.w.Untagged(imap.OK, imap.CodeUnseen(uint32(firstUnseen)), "First unseen")
		}
	}
	s.w.Untagged(imap.OK, imap.CodeUIDValidity(f.UIDValidity), "UIDs valid")
	s.w.Untagged(imap.OK, imap.CodeUIDNext(f.UIDNext), "Predicted next UID")
	s.w.Untagged(imap.OK, imap.CodeHighestModSeq(f.HighestModSeq), "Highest")
	s.w.Untagged(imap.OK, imap.CodeMailboxID(mailboxID(f.ID)), "Ok") // RFC 8474 §4
	if s.rev2 {
		// The canonical name, which may differ from the one asked for,
		// with accurate attributes (RFC 9051 §6.3.2).
		attrs := []string{`\HasNoChildren`}
		if m.t.hasChildren(f.ID) {
			attrs[0] = `\HasChildren`
		}
		if su := specialUse[f.Special]; su != "" {
			attrs = append(attrs, su)
		}
		s.w.List(&imap.ListData{Attrs: attrs, Delim: delim, Mailbox: m.name})
	}
	s.sel = sel
	s.state = stateSelected
	if q := a.QResync; q != nil && q.UIDValidity == sel.uidValidity {
		if err := s.qresyncSelect(q); err != nil {
			return "", err
		}
	}
	if sel.readOnly {
		return imap.CodeReadOnly, nil
	}
	return imap.CodeReadWrite, nil
}

// permanentFlags are the flags the principal may change for good (RFC 9051
// §7.1; RFC 4314 §4: \Seen needs "s", \Deleted "t", the others "w").
func (sel *selection) permanentFlags() []string {
	if sel.readOnly {
		return nil
	}
	var out []string
	for _, f := range systemFlags {
		need := store.RightWrite
		switch f {
		case `\Seen`:
			need = store.RightSeen
		case `\Deleted`:
			need = store.RightDeleteMsg
		}
		if strings.ContainsRune(sel.rights, need) {
			out = append(out, f)
		}
	}
	if strings.ContainsRune(sel.rights, store.RightWrite) {
		out = append(out, sel.keywords...)
		out = append(out, `\*`)
	}
	return out
}

// qresyncSelect sends what changed since the client's last session (RFC
// 7162 §3.2.5.1): VANISHED (EARLIER) for UIDs expunged since its MODSEQ,
// then FETCH for messages changed since.
func (s *session) qresyncSelect(q *imap.QResync) error {
	sel := s.sel
	gone, err := s.expungedSince(q.ModSeq, q.KnownUIDs)
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		s.w.Vanished(true, imap.SeqSetOf(gone...))
	}
	last := sel.maxUID()
	for i, m := range sel.msgs {
		if m.modseq <= q.ModSeq {
			continue
		}
		if len(q.KnownUIDs.Ranges) > 0 && !q.KnownUIDs.Contains(m.uid, max(last, m.uid)) {
			continue
		}
		s.writeFlags(i, true, false)
	}
	return nil
}

// expungedSince returns the UIDs of the selected mailbox removed after
// modseq, limited to known when it is not empty, from the journal.
func (s *session) expungedSince(modseq uint64, known imap.SeqSet) ([]uint32, error) {
	sel := s.sel
	var gone []uint32
	since := modseq
	for {
		chs, err := s.o.Store.Changes(s.ctx, sel.storeID, since, changesPage)
		if err != nil {
			return nil, wrap(opMailbox, err)
		}
		for _, c := range chs {
			since = max(since, c.Seq)
			if c.FolderID != sel.folderID || c.Kind != store.ChangeItemDeleted {
				continue
			}
			if len(known.Ranges) > 0 && !known.Contains(c.UID, c.UID) {
				continue
			}
			if sel.find(c.UID) < 0 {
				gone = append(gone, c.UID)
			}
		}
		if len(chs) < changesPage {
			break
		}
	}
	slices.Sort(gone)
	return slices.Compact(gone), nil
}

// CLOSE (RFC 9051 §6.4.1) expunges silently, then leaves the mailbox;
// UNSELECT (RFC 3691) only leaves it.
func (s *session) cmdClose(c *imap.Command) (imap.Code, error) {
	sel := s.sel
	if c.Name == "CLOSE" && !sel.readOnly {
		// The store's flags, not the view's: \Deleted may have been set
		// elsewhere since the last sync. Errors are not reported: CLOSE
		// always leaves the mailbox.
		if err := s.expungeDeleted(sel.folderID); err != nil {
			s.log.Debug("close: expunge", "err", err)
		}
	}
	s.unselect()
	return "", nil
}

// expungeDeleted removes the messages flagged \Deleted of a folder.
func (s *session) expungeDeleted(folderID int64) error {
	items, err := s.o.Store.ListItems(s.ctx, folderID, 0, 0)
	if err != nil {
		return err
	}
	var uids []uint32
	for _, it := range items {
		if slices.Contains(it.Flags, `\Deleted`) {
			uids = append(uids, it.UID)
		}
	}
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), maxUIDsPerCall)]
		uids = uids[len(chunk):]
		if _, err := s.o.Store.DeleteItems(s.ctx, folderID, chunk); err != nil {
			return err
		}
	}
	return nil
}
