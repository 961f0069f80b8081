package imapserver

import (
	"slices"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): a SEARCH or SORT with
// RETURN (UPDATE) stays live while the mailbox is selected. After every
// look at the mailbox (sync) the session evaluates the live searches again
// when the view changed, and sends what entered the result as ADDTO and
// what left it as REMOVEFROM, tagged with the search's tag. Results are
// kept as UIDs, so they survive renumbering; a search by sequence number
// is answered with the numbers current when the update is sent.

// maxLiveSearches bounds the updating searches of one session: each is run
// again whenever the mailbox changes. One more is answered once, with
// NO [NOUPDATE] (RFC 5267 §4.3.1).
const maxLiveSearches = 8

// liveSearch is one search whose results the client keeps up to date.
type liveSearch struct {
	tag     string
	uid     bool
	sort    []imap.SortCriterion // nil for SEARCH
	charset string
	keys    []imap.SearchKey // as parsed: evaluation normalises a copy
	result  []uint32         // UIDs; ascending for SEARCH, in sort order for SORT
}

// viewPrint is what changes in a view when a search result may: a message
// added or expunged, or a flag change (which raises a MODSEQ).
type viewPrint struct {
	n       int
	maxUID  uint32
	maxMod  uint64
	pending int
}

func (sel *selection) print() viewPrint {
	p := viewPrint{n: len(sel.msgs), maxUID: sel.maxUID(), pending: sel.pending}
	for i := range sel.msgs {
		p.maxMod = max(p.maxMod, sel.msgs[i].modseq)
	}
	return p
}

// checkUpdate refuses an UPDATE whose tag is already live (RFC 5267 §4.2:
// the tag names the context) before the search runs.
func (s *session) checkUpdate(tag string, ret *imap.SearchReturn) error {
	if ret == nil || !ret.Update {
		return nil
	}
	for _, l := range s.sel.live {
		if l.tag == tag {
			return bad(imap.CodeClientBug, "An updating search already uses this tag")
		}
	}
	return nil
}

// addLive registers an updating search with its first result (UIDs).
// keys must be the keys as parsed, before searchEach normalised them.
func (s *session) addLive(c *imap.Command, ret *imap.SearchReturn, sortBy []imap.SortCriterion, charset string, keys []imap.SearchKey, result []uint32) {
	if ret == nil || !ret.Update {
		return
	}
	sel := s.sel
	if len(sel.live) >= maxLiveSearches {
		sel.noUpdate = append(sel.noUpdate, c.Tag) // sent after the ESEARCH answer
		return
	}
	if len(sel.live) == 0 {
		sel.livePrint = sel.print()
	}
	sel.live = append(sel.live, &liveSearch{
		tag: c.Tag, uid: c.UID, sort: slices.Clone(sortBy), charset: charset,
		keys: keys, result: slices.Clone(result),
	})
}

// cloneKeys deep-copies search keys, whose sets searchEach normalises
// against the view of the moment.
func cloneKeys(keys []imap.SearchKey) []imap.SearchKey {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Seq.Ranges = slices.Clone(out[i].Seq.Ranges)
		out[i].Keys = cloneKeys(out[i].Keys)
	}
	return out
}

// CANCELUPDATE, RFC 5267 §4.3.1.
func (s *session) cmdCancelUpdate(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.CancelUpdateCmd)
	sel := s.sel
	for _, t := range a.Tags {
		if !slices.ContainsFunc(sel.live, func(l *liveSearch) bool { return l.tag == t }) {
			return "", no(imap.CodeNonExistent, "No updating search with tag "+t)
		}
	}
	sel.live = slices.DeleteFunc(sel.live, func(l *liveSearch) bool { return slices.Contains(a.Tags, l.tag) })
	return "", nil
}

// sendUpdates evaluates the live searches again when the view changed and
// writes their ADDTO and REMOVEFROM (RFC 5267 §4.3.2–4.3.4).
func (s *session) sendUpdates() {
	sel := s.sel
	if sel == nil {
		return
	}
	for _, tag := range sel.noUpdate {
		s.w.Untagged(imap.NO, imap.CodeNoUpdate(tag), "Too many updating searches")
	}
	sel.noUpdate = nil
	if len(sel.live) == 0 {
		return
	}
	p := sel.print()
	if p == sel.livePrint {
		return
	}
	sel.livePrint = p
	for _, l := range sel.live {
		now, err := s.evalLive(l)
		if err != nil {
			s.log.Warn("updating search", "tag", l.tag, "err", err)
			continue
		}
		if d := s.contextDiff(l, now); d != nil {
			s.w.ESearch(d)
		}
		l.result = now
	}
}

// evalLive runs a live search on the current view and returns its UIDs.
func (s *session) evalLive(l *liveSearch) ([]uint32, error) {
	sel := s.sel
	keys := cloneKeys(l.keys)
	if l.sort == nil {
		ev := newEvaluator(s)
		defer ev.done()
		var uids []uint32
		_, err := s.searchEach(ev, l.charset, keys, func(i int) { uids = append(uids, sel.msgs[i].uid) })
		return uids, err
	}
	ms, _, err := s.collect(l.charset, keys, needFor(l.sort))
	if err != nil {
		return nil, err
	}
	sortMsgs(ms, l.sort)
	uids := make([]uint32, len(ms))
	for i := range ms {
		uids[i] = sel.msgs[ms[i].idx].uid
	}
	return uids, nil
}

// contextDiff is the ESEARCH update from old to now, nil when nothing
// changed. SEARCH additions and all removals carry position 0; a SORT
// addition carries its 1-based position in the new order, in ascending
// order, so that applying them one by one after the removals gives the
// new result.
func (s *session) contextDiff(l *liveSearch, now []uint32) *imap.ESearchData {
	sel := s.sel
	in := func(set []uint32) map[uint32]bool {
		m := make(map[uint32]bool, len(set))
		for _, u := range set {
			m[u] = true
		}
		return m
	}
	oldSet, newSet := in(l.result), in(now)
	// num is what the client is told: the UID, or the current sequence
	// number (0 when the message has left the view).
	num := func(u uint32) uint32 {
		if l.uid {
			return u
		}
		if i := sel.find(u); i >= 0 {
			return uint32(i + 1)
		}
		return 0
	}
	var gone []uint32
	for _, u := range l.result {
		if !newSet[u] {
			if n := num(u); n != 0 {
				gone = append(gone, n)
			}
		}
	}
	d := &imap.ESearchData{Tag: l.tag, UID: l.uid}
	if len(gone) > 0 {
		d.RemoveFrom = []imap.ContextUpdate{{Pos: 0, Set: imap.SeqSetOf(gone...)}}
	}
	var added []uint32
	for k, u := range now {
		if oldSet[u] {
			continue
		}
		n := num(u)
		if l.sort == nil {
			added = append(added, n)
			continue
		}
		d.AddTo = append(d.AddTo, imap.ContextUpdate{Pos: uint32(k + 1), Set: imap.SeqSetOf(n)})
	}
	if len(added) > 0 {
		d.AddTo = []imap.ContextUpdate{{Pos: 0, Set: imap.SeqSetOf(added...)}}
	}
	if d.RemoveFrom == nil && d.AddTo == nil {
		return nil
	}
	return d
}

// partialIndexes keeps the messages of idx (ascending view indexes) that a
// PARTIAL FETCH modifier selects (RFC 9394 §3.2): positions counted among
// the messages of the set that are still there.
func (s *session) partialIndexes(idx []int, p imap.PartialRange) []int {
	live := idx[:0:0]
	for _, i := range idx {
		if !s.sel.msgs[i].expunged {
			live = append(live, i)
		}
	}
	i, j := p.Window(len(live))
	return live[i:j]
}

// liveKeys checks an UPDATE's tag and returns a copy of the keys for
// addLive (nil without UPDATE), taken before searchEach normalises them.
// Sequence numbers and "$" in the program mean the messages they named
// when the command was received (RFC 5267 §4.3), so they become UID sets.
func (s *session) liveKeys(tag string, ret *imap.SearchReturn, keys []imap.SearchKey) ([]imap.SearchKey, error) {
	if ret == nil || !ret.Update {
		return nil, nil
	}
	if err := s.checkUpdate(tag, ret); err != nil {
		return nil, err
	}
	out := cloneKeys(keys)
	for i := range out {
		s.freezeKey(&out[i])
	}
	return out, nil
}

func (s *session) freezeKey(k *imap.SearchKey) {
	sel := s.sel
	switch {
	case k.Op == "SEQ" || k.Op == "UID" && k.Seq.Saved:
		var uids []uint32
		if k.Seq.Saved {
			uids = slices.Clone(sel.saved)
		} else {
			n := uint32(len(sel.msgs))
			for seq := range k.Seq.Normalize(n).All(n) {
				if seq >= 1 && seq <= n {
					uids = append(uids, sel.msgs[seq-1].uid)
				}
			}
		}
		k.Op, k.Seq = "UID", imap.SeqSetOf(uids...)
		if len(uids) == 0 {
			// No message: a set no UID is in.
			k.Op, k.Keys = "NOT", []imap.SearchKey{{Op: "ALL"}}
		}
	}
	for i := range k.Keys {
		s.freezeKey(&k.Keys[i])
	}
}

// removeExpunged tells the live searches, before the EXPUNGE responses
// renumber the messages, that the messages being expunged left them
// (RFC 5267 §4.3.4). Sequence-number searches of a QRESYNC session are
// not told: VANISHED gives no numbers to relate to.
func (s *session) removeExpunged() {
	sel := s.sel
	if len(sel.live) == 0 || sel.pending == 0 {
		return
	}
	for _, l := range sel.live {
		var gone []uint32
		l.result = slices.DeleteFunc(l.result, func(u uint32) bool {
			i := sel.find(u)
			if i < 0 || !sel.msgs[i].expunged {
				return false
			}
			if l.uid {
				gone = append(gone, u)
			} else if !s.qresync {
				gone = append(gone, uint32(i+1))
			}
			return true
		})
		if len(gone) > 0 {
			s.w.ESearch(&imap.ESearchData{Tag: l.tag, UID: l.uid,
				RemoveFrom: []imap.ContextUpdate{{Pos: 0, Set: imap.SeqSetOf(gone...)}}})
		}
	}
}
