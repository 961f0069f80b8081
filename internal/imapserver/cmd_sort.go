package imapserver

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
)

// sortMsg is what SORT and THREAD know of one matching message. Only the
// fields the command needs are filled in.
type sortMsg struct {
	idx     int       // index in the view; the sequence number minus one
	arrival time.Time // INTERNALDATE
	// date is the sent date: the Date field, or INTERNALDATE when it is
	// missing or unreadable (RFC 5256 §2.2).
	date    time.Time
	size    int64
	from    string // ascii-casemapped addr-mailbox of the first From
	to, cc  string // likewise for To and Cc
	dfrom   string // display name of the first From, casefolded (RFC 5957)
	dto     string
	subject string // base subject (RFC 5256 §2.1), ascii-casemapped
	reply   bool   // the subject was a reply or forward (RFC 5256 §2.1)
	msgID   string
	refs    []string // References, or the first In-Reply-To identifier
}

// need says which sortMsg fields to compute.
type need struct {
	arrival, date, addrs, display, subject, thread bool
}

func needFor(crit []imap.SortCriterion) need {
	var n need
	for _, c := range crit {
		switch c.Key {
		case "ARRIVAL":
			n.arrival = true
		case "DATE":
			n.date = true
		case "CC", "FROM", "TO":
			n.addrs = true
		case "DISPLAYFROM", "DISPLAYTO":
			n.display = true
		case "SUBJECT":
			n.subject = true
		}
	}
	return n
}

// collect runs the search keys and returns the facts of each match, in
// sequence order, and the highest MODSEQ as searchEach does.
func (s *session) collect(charset string, keys []imap.SearchKey, n need) ([]sortMsg, uint64, error) {
	ev := newEvaluator(s)
	defer ev.done()
	var out []sortMsg
	highest, err := s.searchEach(ev, charset, keys, func(i int) {
		out = append(out, ev.sortMsg(n))
	})
	return out, highest, err
}

// sortMsg extracts the facts of the message the evaluator is at.
func (ev *evaluator) sortMsg(n need) sortMsg {
	m := ev.msg()
	sm := sortMsg{idx: ev.i, size: m.size}
	if n.arrival {
		sm.arrival = m.internalDate()
	}
	if !n.date && !n.addrs && !n.display && !n.subject && !n.thread {
		return sm
	}
	h := ev.header()
	if h == nil {
		h = &mime.Header{}
	}
	if n.date || n.thread {
		if t, ok := mime.ParseDate(h.Get("Date")); ok {
			sm.date = t
		} else {
			sm.date = m.internalDate()
		}
	}
	if n.addrs {
		sm.from = asciiUpper(firstMailbox(h.Get("From")))
		sm.to = asciiUpper(firstMailbox(h.Get("To")))
		sm.cc = asciiUpper(firstMailbox(h.Get("Cc")))
	}
	if n.display {
		sm.dfrom = displayName(h.Get("From"))
		sm.dto = displayName(h.Get("To"))
	}
	if n.subject || n.thread {
		raw := h.Get("Subject")
		base := mime.BaseSubject(raw)
		sm.subject = asciiUpper(base)
		sm.reply = isReply(raw, base)
	}
	if n.thread {
		if ids := mime.ParseMessageIDs(h.Get("Message-ID")); len(ids) > 0 {
			sm.msgID = ids[0]
		}
		sm.refs = mime.ParseMessageIDs(h.Get("References"))
		if len(sm.refs) == 0 {
			// RFC 5256 §2.2 step 1.A: the first identifier of In-Reply-To.
			if ids := mime.ParseMessageIDs(h.Get("In-Reply-To")); len(ids) > 0 {
				sm.refs = ids[:1]
			}
		}
	}
	return sm
}

// firstMailbox is the addr-mailbox of the first address of a list (RFC
// 5256 §3 CC, FROM, TO): "" when there is none. When the list starts with
// a group, the first address of the envelope is the group's start marker,
// whose addr-mailbox is the group name (RFC 9051 §7.5.2), as Dovecot
// sorts it.
func firstMailbox(v string) string {
	for _, a := range mime.ParseAddressList(v) {
		if a.Kind == mime.AddrGroupStart {
			return a.Mailbox
		}
		if a.Kind == mime.AddrMailbox {
			if a.Mailbox == mime.MissingMailbox {
				return ""
			}
			return a.Mailbox
		}
	}
	return ""
}

// displayName is the sort key of RFC 5957 §3: the decoded display name of
// the first address, or its addr-spec when it has none, casefolded for
// i;unicode-casemap. A group's display name is its group name.
func displayName(v string) string {
	for _, a := range mime.ParseAddressList(v) {
		if a.Kind == mime.AddrGroupStart {
			return strings.ToLower(strings.TrimSpace(mime.DecodeHeaderValue(a.Mailbox)))
		}
		if a.Kind != mime.AddrMailbox {
			continue
		}
		if name := strings.TrimSpace(mime.DecodeHeaderValue(a.Name)); name != "" {
			return strings.ToLower(name)
		}
		if a.Mailbox == mime.MissingMailbox {
			return ""
		}
		spec := a.Mailbox
		if a.Host != mime.MissingDomain {
			spec += "@" + a.Host
		}
		return strings.ToLower(spec)
	}
	return ""
}

// asciiUpper is the i;ascii-casemap collation key (RFC 4790 §9.2): ASCII
// letters upper-cased, other bytes kept.
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isReply reports whether extracting the base subject removed a "Re:" or
// "Fwd:" leader, a "(fwd)" trailer or a "[fwd: …]" wrapper (RFC 5256 §2.1,
// the note after step 6), rather than only list tags ("[list] …") and
// whitespace.
func isReply(raw, base string) bool {
	// Whitespace as step 1 normalises it: tabs and line breaks are spaces,
	// runs of spaces one.
	s := strings.Join(strings.FieldsFunc(mime.DecodeHeaderValue(raw), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
	// Remove leading blobs while something remains after them (step 4).
	for {
		n := leadingBlob(s)
		if n == 0 || strings.TrimSpace(s[n:]) == "" {
			break
		}
		s = strings.TrimLeft(s[n:], " ")
	}
	return s != base
}

// leadingBlob is the length of a "[…]" at the start of s, or 0.
func leadingBlob(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	i := strings.IndexAny(s[1:], "[]")
	if i < 0 || s[1+i] != ']' {
		return 0
	}
	return i + 2
}

// compareBy orders two messages by one sort key.
func compareBy(key string, a, b *sortMsg) int {
	switch key {
	case "ARRIVAL":
		return a.arrival.Compare(b.arrival)
	case "DATE":
		return a.date.Compare(b.date)
	case "SIZE":
		return cmp.Compare(a.size, b.size)
	case "FROM":
		return strings.Compare(a.from, b.from)
	case "TO":
		return strings.Compare(a.to, b.to)
	case "CC":
		return strings.Compare(a.cc, b.cc)
	case "DISPLAYFROM":
		return strings.Compare(a.dfrom, b.dfrom)
	case "DISPLAYTO":
		return strings.Compare(a.dto, b.dto)
	case "SUBJECT":
		return strings.Compare(a.subject, b.subject)
	}
	return 0
}

// sortMsgs orders messages by the criteria; equal ones stay in sequence
// order (RFC 5256 §3: the sequence number is the final tie-breaker, and
// REVERSE applies to its own criterion only).
func sortMsgs(ms []sortMsg, crit []imap.SortCriterion) {
	slices.SortFunc(ms, func(a, b sortMsg) int {
		for _, c := range crit {
			r := compareBy(c.Key, &a, &b)
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.idx, b.idx)
	})
}

// SORT and UID SORT, RFC 5256 §3, with DISPLAYFROM and DISPLAYTO (RFC
// 5957) and ESORT's RETURN options (RFC 5267 §3).
func (s *session) cmdSort(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.SortCmd)
	if len(a.Criteria) == 0 {
		return "", bad(imap.CodeClientBug, "No sort criteria")
	}
	ret := a.Return
	live, err := s.liveKeys(c.Tag, ret, a.Keys)
	if err != nil {
		return "", err
	}
	ms, highest, err := s.collect(a.Charset, a.Keys, needFor(a.Criteria))
	if err != nil {
		if ret != nil && ret.Save {
			s.sel.saved = nil // RFC 5182 §2.1
		}
		return "", err
	}
	sortMsgs(ms, a.Criteria)
	nums := make([]uint32, len(ms))
	uids := make([]uint32, len(ms))
	for i := range ms {
		uids[i] = s.sel.msgs[ms[i].idx].uid
		if c.UID {
			nums[i] = uids[i]
		} else {
			nums[i] = uint32(ms[i].idx + 1)
		}
	}
	if ret == nil {
		s.w.Sort(nums, highest)
		return "", nil
	}
	s.addLive(c, ret, a.Criteria, a.Charset, live, uids)
	if ret.Save {
		// SEARCHRES with ESORT (RFC 5182 §2.4, RFC 5267 §3): "$" is a
		// set; with MIN or MAX alone only those are saved.
		saved := uids
		if (ret.Min || ret.Max) && !ret.All && !ret.Count && len(uids) > 0 {
			saved = nil
			if ret.Min {
				saved = append(saved, uids[0])
			}
			if ret.Max {
				saved = append(saved, uids[len(uids)-1])
			}
		}
		saved = slices.Clone(saved)
		slices.Sort(saved)
		s.sel.saved = slices.Compact(saved)
		if !ret.Min && !ret.Max && !ret.All && !ret.Count && ret.Partial == nil {
			return "", nil
		}
	}
	s.w.ESearch(esort(c.Tag, c.UID, ret, nums, highest))
	return "", nil
}

// esort is the ESEARCH answer of an ESORT (RFC 5267 §3.2): MIN and MAX are
// the first and last messages in sort order, ALL lists them in sort order.
func esort(tag string, uid bool, ret *imap.SearchReturn, nums []uint32, modSeq uint64) *imap.ESearchData {
	if !ret.Min && !ret.Max && !ret.All && !ret.Count && !ret.Update && ret.Partial == nil {
		ret = &imap.SearchReturn{All: true}
	}
	d := &imap.ESearchData{Tag: tag, UID: uid, Partial: ret.Partial}
	if ret.Count {
		d.HasCount, d.Count = true, uint32(len(nums))
	}
	if len(nums) == 0 {
		return d
	}
	d.ModSeq = modSeq
	if ret.Min {
		d.Min = nums[0]
	}
	if ret.Max {
		d.Max = nums[len(nums)-1]
	}
	if ret.All {
		d.All = orderedSet(nums)
	}
	if ret.Partial != nil {
		// RFC 9394 §3.1: positions in sort order.
		i, j := ret.Partial.Window(len(nums))
		d.PartialSet = orderedSet(nums[i:j])
	}
	return d
}

// orderedSet writes nums as a set whose ascending runs become ranges,
// keeping their order (RFC 5267 §3.2).
func orderedSet(nums []uint32) imap.SeqSet {
	var set imap.SeqSet
	for _, n := range nums {
		if k := len(set.Ranges); k > 0 && set.Ranges[k-1].Stop+1 == n {
			set.Ranges[k-1].Stop = n
			continue
		}
		set.Ranges = append(set.Ranges, imap.SeqRange{Start: n, Stop: n})
	}
	return set
}
