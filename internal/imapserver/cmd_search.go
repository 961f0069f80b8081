package imapserver

import (
	"errors"
	"github.com/roost-mail/roost/internal/search"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// maxSearchText bounds the body text one message contributes to TEXT and
// BODY searches.
const maxSearchText = 10 << 20

// SEARCH and UID SEARCH, RFC 9051 §6.4.4, with ESEARCH (RFC 4731), SEARCHRES
// (RFC 5182), CONDSTORE MODSEQ (RFC 7162 §3.1.5) and WITHIN (RFC 5032).
// TEXT, BODY and header keys scan the messages.
func (s *session) cmdSearch(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.SearchCmd)
	sel := s.sel
	ret := a.Return
	// The evaluator keeps the old "$", which the keys may use.
	ev := newEvaluator(s)
	defer ev.done()
	if ret != nil && ret.Save {
		sel.saved = nil // a failed SEARCH leaves "$" empty (RFC 5182 §2.1)
	}
	if ret != nil && ret.Relevancy && !s.o.SearchIndex {
		return "", bad("", "RELEVANCY needs SEARCH=FUZZY, which this server does not offer")
	}
	live, err := s.liveKeys(c.Tag, ret, a.Keys)
	if err != nil {
		return "", err
	}
	var nums, uids []uint32
	var modseqs []uint64
	var ids []int64 // for RELEVANCY
	highest, err := s.searchEach(ev, a.Charset, a.Keys, func(i int) {
		m := &sel.msgs[i]
		ids = append(ids, m.id)
		uids = append(uids, m.uid)
		modseqs = append(modseqs, m.modseq)
		if c.UID {
			nums = append(nums, m.uid)
		} else {
			nums = append(nums, uint32(i+1))
		}
	})
	if err != nil {
		return "", err
	}
	s.addLive(c, ret, nil, a.Charset, live, uids)
	if ret != nil && ret.Save {
		sel.saved = uids
		if (ret.Min || ret.Max) && !ret.All && !ret.Count && len(uids) > 0 {
			// RFC 5182 §2.4: only the values returned are saved.
			var keep []uint32
			if ret.Min {
				keep = append(keep, uids[0])
			}
			if ret.Max {
				keep = append(keep, uids[len(uids)-1])
			}
			sel.saved = slices.Compact(keep)
		}
		if ret.Partial != nil && !ret.Min && !ret.Max && !ret.All {
			i, j := ret.Partial.Window(len(uids)) // RFC 9394 §3.1
			sel.saved = uids[i:j]
		}
		if !ret.Min && !ret.Max && !ret.All && !ret.Count && ret.Partial == nil {
			return "", nil // SAVE alone returns nothing
		}
	}
	if ret == nil && !s.rev2 {
		s.w.Search(nums, highest)
		return "", nil
	}
	d := imap.NewESearch(c.Tag, c.UID, ret, nums)
	if highest > 0 && ret != nil && (ret.Min || ret.Max) && !ret.All && !ret.Count {
		// RFC 7162 §3.1.5: with MIN or MAX alone, the MODSEQ is that of
		// the messages returned.
		highest = 0
		if ret.Min {
			highest = modseqs[0]
		}
		if ret.Max {
			highest = max(highest, modseqs[len(modseqs)-1])
		}
	}
	if len(nums) > 0 {
		d.ModSeq = highest
	}
	if ret != nil && ret.Relevancy && len(d.All.Ranges) > 0 {
		d.Relevancy = ev.relevancy(ids) // RFC 6203 §4: in the order of ALL
	}
	s.w.ESearch(d)
	return "", nil
}

// searchEach evaluates search keys (SEARCH, SORT and THREAD share them)
// against every message of the view in order and calls fn with the index
// of each match while the evaluator is still at it, so fn can read the
// message's header without loading it again. It returns the highest
// MODSEQ of the matches when a MODSEQ key was used (RFC 7162 §3.1.5), 0
// otherwise.
func (s *session) searchEach(ev *evaluator, charset string, keys []imap.SearchKey, fn func(i int)) (uint64, error) {
	sel := s.sel
	switch strings.ToUpper(charset) {
	case "", "UTF-8", "US-ASCII":
	default:
		return 0, no(imap.CodeBadCharsets("UTF-8", "US-ASCII"), "Unsupported charset")
	}
	usesModSeq := false
	for i := range keys {
		if hasKey(&keys[i], "MODSEQ") {
			usesModSeq = true
		}
	}
	if usesModSeq {
		s.enableCondStore() // RFC 7162 §3.1
	}
	for i := range keys {
		normalizeSets(&keys[i], uint32(len(sel.msgs)), sel.maxUID())
	}
	if err := ev.prepareExt(keys); err != nil {
		return 0, err
	}
	if err := ev.prepareIndex(keys); err != nil { // search_index.go
		return 0, err
	}
	// The keys are ANDed: try the cheap ones first, so that flags,
	// numbers and index answers can spare loading a message. The keys
	// stay in place (the index answers are kept by their address).
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return ev.indexCost(&keys[x]) - ev.indexCost(&keys[y]) })
	var highest uint64
	pg := s.startProgress(len(sel.msgs)) // RFC 9585
	for i := range sel.msgs {
		m := &sel.msgs[i]
		if m.expunged {
			continue
		}
		pg.at(i)
		ev.at(i)
		ok := true
		for _, k := range order {
			if !ev.match(&keys[k]) {
				ok = false
				break
			}
		}
		if ev.err != nil {
			return 0, ev.err // a store failure is not "no match"
		}
		if !ok {
			continue
		}
		fn(i)
		if ev.err != nil {
			return 0, ev.err // SORT and THREAD read more of the match in fn
		}
		highest = max(highest, m.modseq)
	}
	if !usesModSeq {
		highest = 0
	}
	return highest, nil
}

// normalizeSets sorts and merges the sets of SEQ and UID keys once, so
// that each message is matched by binary search, however many ranges a
// client sends.
func normalizeSets(k *imap.SearchKey, n, maxUID uint32) {
	switch k.Op {
	case "SEQ":
		if !k.Seq.Saved {
			k.Seq = k.Seq.Normalize(n)
		}
	case "UID":
		if !k.Seq.Saved {
			k.Seq = k.Seq.Normalize(maxUID)
		}
	}
	for i := range k.Keys {
		normalizeSets(&k.Keys[i], n, maxUID)
	}
}

// inSet reports whether n is in a normalised set.
func inSet(set imap.SeqSet, n uint32) bool {
	rs := set.Ranges
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Stop >= n })
	return i < len(rs) && rs[i].Start <= n
}

func hasKey(k *imap.SearchKey, op string) bool {
	if k.Op == op {
		return true
	}
	for i := range k.Keys {
		if hasKey(&k.Keys[i], op) {
			return true
		}
	}
	return false
}

// evaluator matches search keys against one message at a time, loading
// the content only when a key needs it.
type evaluator struct {
	s      *session
	open   *opener    // for this command
	sums   *summaries // headers of the view's messages, read in batches
	sel    *selection
	now    time.Time
	saved  map[uint32]bool
	maxUID uint32

	i       int
	ct      *content
	ctErr   bool
	hdrText string // decoded header, lower case
	hdrDone bool
	body    string // body text, lower case
	bodyOK  bool
	// err is the first failure to load a message other than its having
	// been expunged meanwhile; the search fails with it.
	err error

	saveDates map[int64]time.Time // by item id, for SAVED* keys (search_ext.go)

	index  map[*imap.SearchKey]*search.Lookup // search_index.go
	scores map[int64]float64                  // FUZZY scores by item id
}

func newEvaluator(s *session) *evaluator {
	ev := &evaluator{s: s, open: s.newOpener(), sel: s.sel, now: time.Now(), maxUID: s.sel.maxUID()}
	ev.saved = map[uint32]bool{}
	for _, u := range s.sel.saved {
		ev.saved[u] = true
	}
	return ev
}

// at moves to the message at index i.
func (ev *evaluator) at(i int) {
	ev.done()
	ev.i = i
	ev.ct, ev.ctErr = nil, false
	ev.hdrText, ev.hdrDone = "", false
	ev.body, ev.bodyOK = "", false
}

func (ev *evaluator) done() {
	if ev.ct != nil {
		ev.ct.close()
		ev.ct = nil
	}
}

func (ev *evaluator) msg() *msg { return &ev.sel.msgs[ev.i] }

// fail records a load failure: a message expunged since the view was
// built just does not match (RFC 9051 §7.5.1), anything else ends the
// search.
func (ev *evaluator) fail(err error) {
	if ev.err == nil && !errors.Is(err, store.ErrNotFound) {
		ev.err = err
	}
}

func (ev *evaluator) content() *content {
	if ev.ct == nil && !ev.ctErr {
		ct, err := ev.open.content(ev.msg())
		if err != nil {
			ev.fail(err)
			ev.ctErr = true
			return nil
		}
		ev.ct = ct
	}
	return ev.ct
}

func (ev *evaluator) header() *mime.Header {
	cache := ev.s.srv.headers
	if ev.ct == nil && cache != nil {
		if h := cache.get(ev.msg().id); h != nil {
			return h
		}
	}
	var h *mime.Header
	if ev.ct == nil {
		h = ev.summaryHeader()
	}
	if h == nil {
		ct := ev.content()
		if ct == nil {
			return nil
		}
		h = &ct.parse().Header
	}
	if cache != nil {
		h = cache.put(ev.msg().id, h)
	}
	return h
}

// headerText is the decoded header block for TEXT.
func (ev *evaluator) headerText() string {
	if !ev.hdrDone {
		ev.hdrDone = true
		if h := ev.header(); h != nil {
			var b strings.Builder
			for _, f := range h.Fields() {
				b.WriteString(f.Name)
				b.WriteString(": ")
				b.WriteString(mime.DecodeHeaderValue(f.Value))
				b.WriteByte('\n')
			}
			ev.hdrText = strings.ToLower(b.String())
		}
	}
	return ev.hdrText
}

// bodyText is the text of the message's text parts for BODY and TEXT.
func (ev *evaluator) bodyText() string {
	if !ev.bodyOK {
		ev.bodyOK = true
		if ct := ev.content(); ct != nil {
			ev.body = strings.ToLower(ct.parse().Text(ct.ra, maxSearchText))
		}
	}
	return ev.body
}

// headerHas reports whether a field called name contains s (decoded, case
// insensitive); an empty s matches any such field (RFC 9051 §6.4.4).
func (ev *evaluator) headerHas(name, s string) bool {
	h := ev.header()
	if h == nil {
		return false
	}
	s = strings.ToLower(s)
	addrs := false
	switch strings.ToUpper(name) {
	case "FROM", "TO", "CC", "BCC":
		addrs = true
	}
	for _, v := range h.Values(name) {
		if s == "" || strings.Contains(strings.ToLower(mime.DecodeHeaderValue(v)), s) {
			return true
		}
		// RFC 9051 §6.4.4: FROM, TO, CC and BCC search the envelope's
		// address fields, where comments and folding are gone:
		// "<a (c)@ (c) b.org>" is a@b.org.
		if addrs {
			for _, a := range mime.ParseAddressList(v) {
				if a.Kind == mime.AddrMailbox && strings.Contains(strings.ToLower(a.Mailbox+"@"+a.Host), s) {
					return true
				}
			}
		}
	}
	return false
}

func (ev *evaluator) hasFlag(f string) bool {
	return slices.ContainsFunc(ev.msg().flags, func(x string) bool { return strings.EqualFold(x, f) })
}

// day is the calendar date of t, as a time at midnight UTC.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// compareDate applies BEFORE/ON/SINCE to a date against the key's date.
func compareDate(op string, t, key time.Time) bool {
	d := day(t)
	switch op {
	case "BEFORE", "SENTBEFORE":
		return d.Before(key)
	case "ON", "SENTON":
		return d.Equal(key)
	}
	return !d.Before(key) // SINCE, SENTSINCE
}

// match evaluates one key. Nesting is bounded by the parser (Limits.MaxDepth).
func (ev *evaluator) match(k *imap.SearchKey) bool {
	m := ev.msg()
	switch k.Op {
	case "ALL":
		return true
	case "RECENT": // RFC 3501 §6.4.4; always false in IMAP4rev2 sessions
		return m.recent
	case "NEW":
		return m.recent && !ev.hasFlag(`\Seen`)
	case "OLD":
		return !m.recent
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN":
		return ev.hasFlag(`\` + k.Op)
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return !ev.hasFlag(`\` + k.Op[2:])
	case "KEYWORD":
		return ev.hasFlag(k.Str)
	case "UNKEYWORD":
		return !ev.hasFlag(k.Str)
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		if match, ok := ev.indexed(k); ok {
			return match
		}
		return ev.headerHas(k.Op, k.Str)
	case "HEADER":
		return ev.headerHas(k.Str, k.Value)
	case "BODY":
		if match, ok := ev.indexed(k); ok {
			return match
		}
		return strings.Contains(ev.bodyText(), strings.ToLower(k.Str))
	case "TEXT":
		if match, ok := ev.indexed(k); ok {
			return match
		}
		s := strings.ToLower(k.Str)
		return strings.Contains(ev.headerText(), s) || strings.Contains(ev.bodyText(), s)
	case "BEFORE", "ON", "SINCE":
		return compareDate(k.Op, m.internalDate(), k.Date)
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		h := ev.header()
		if h == nil {
			return false
		}
		t, ok := mime.ParseDate(h.Get("Date"))
		// The date as written, disregarding time and zone (RFC 9051 §6.4.4).
		return ok && compareDate(k.Op, t, k.Date)
	case "LARGER":
		return uint64(m.size) > k.Num
	case "SMALLER":
		return uint64(m.size) < k.Num
	case "YOUNGER", "OLDER":
		age := ev.now.Sub(m.internalDate())
		lim := time.Duration(min(k.Num, 1<<32)) * time.Second
		if k.Op == "YOUNGER" {
			return age <= lim
		}
		return age >= lim
	case "MODSEQ":
		return m.modseq >= k.Num
	case "SEQ":
		if k.Seq.Saved {
			return ev.saved[m.uid]
		}
		return inSet(k.Seq, uint32(ev.i+1))
	case "UID":
		if k.Seq.Saved {
			return ev.saved[m.uid]
		}
		return inSet(k.Seq, m.uid)
	case "AND":
		for i := range k.Keys {
			if !ev.match(&k.Keys[i]) {
				return false
			}
		}
		return true
	case "NOT":
		return len(k.Keys) == 1 && !ev.match(&k.Keys[0])
	case "OR":
		return len(k.Keys) == 2 && (ev.match(&k.Keys[0]) || ev.match(&k.Keys[1]))
	case "FUZZY":
		// RFC 6203: the keys below were looked up stemmed in the index
		// (search_index.go); without it an exact match is a fuzzy one.
		return len(k.Keys) == 1 && ev.match(&k.Keys[0])
	}
	match, _ := ev.matchExt(k)
	return match
}
