package imap

import "slices"

// Untagged data responses (RFC 9051 §7.2–7.4 and extensions).

// Search writes "* SEARCH n..." (RFC 3501 §7.2.5), with "(MODSEQ m)" when
// modSeq is not 0 (RFC 7162 §3.1.5). IMAP4rev2 clients get ESEARCH.
func (w *Writer) Search(nums []uint32, modSeq uint64) error {
	return w.numList("SEARCH", nums, modSeq)
}

// Sort writes "* SORT n..." (RFC 5256 §4), with "(MODSEQ m)" when modSeq
// is not 0 (RFC 7162 §3.1.5).
func (w *Writer) Sort(nums []uint32, modSeq uint64) error {
	return w.numList("SORT", nums, modSeq)
}

func (w *Writer) numList(name string, nums []uint32, modSeq uint64) error {
	b := append(append(w.line(), "* "...), name...)
	for _, n := range nums {
		b = appendUint(append(b, ' '), n)
	}
	if modSeq != 0 {
		b = appendUint(append(b, " (MODSEQ "...), modSeq)
		b = append(b, ')')
	}
	return w.send(b)
}

// ESearchData is an ESEARCH response (RFC 4731 §3.2, RFC 9051 §7.3.4).
// Zero fields are left out, except Count with HasCount.
type ESearchData struct {
	Tag      string // the command's tag, sent as (TAG "tag"); "" leaves it out
	UID      bool
	Min, Max uint32
	HasCount bool
	Count    uint32
	All      SeqSet
	ModSeq   uint64 // RFC 7162 §3.1.5
	// Partial is the range of a PARTIAL answer (RFC 9394 §3.1), sent as
	// "PARTIAL (range set)" with NIL for an empty PartialSet.
	Partial    *PartialRange
	PartialSet SeqSet
	// AddTo and RemoveFrom are CONTEXT=SEARCH updates (RFC 5267 §4.3).
	AddTo, RemoveFrom []ContextUpdate
	// Relevancy are the scores (1–100) of the messages of All, in order
	// (RFC 6203 §4); sent when not nil.
	Relevancy []uint8
}

// NewESearch computes the ESEARCH data a search with return options ret
// produced nums (sequence numbers or UIDs, any order). With no match MIN,
// MAX and ALL are left out and COUNT is 0 (RFC 4731 §3.1). A nil ret
// means ALL.
func NewESearch(tag string, uid bool, ret *SearchReturn, nums []uint32) *ESearchData {
	if ret == nil {
		ret = &SearchReturn{All: true}
	}
	d := &ESearchData{Tag: tag, UID: uid, Partial: ret.Partial}
	if ret.Count {
		d.HasCount = true
		d.Count = uint32(len(nums))
	}
	if len(nums) == 0 {
		return d
	}
	if ret.Min || ret.Max {
		lo, hi := nums[0], nums[0]
		for _, n := range nums {
			lo, hi = min(lo, n), max(hi, n)
		}
		if ret.Min {
			d.Min = lo
		}
		if ret.Max {
			d.Max = hi
		}
	}
	if ret.All {
		d.All = SeqSetOf(nums...)
	}
	if ret.Partial != nil {
		sorted := slices.Clone(nums)
		slices.Sort(sorted)
		i, j := ret.Partial.Window(len(sorted))
		d.PartialSet = SeqSetOf(sorted[i:j]...)
	}
	return d
}

// ESearch writes "* ESEARCH (TAG "x") UID MIN 1 MAX 9 COUNT 3 ALL 1:3,5".
func (w *Writer) ESearch(d *ESearchData) error {
	b := append(w.line(), "* ESEARCH"...)
	if d.Tag != "" {
		b = appendQuoted(append(b, " (TAG "...), d.Tag)
		b = append(b, ')')
	}
	if d.UID {
		b = append(b, " UID"...)
	}
	if d.Min != 0 {
		b = appendUint(append(b, " MIN "...), d.Min)
	}
	if d.Max != 0 {
		b = appendUint(append(b, " MAX "...), d.Max)
	}
	if d.HasCount {
		b = appendUint(append(b, " COUNT "...), d.Count)
	}
	if len(d.All.Ranges) > 0 {
		b = d.All.appendTo(append(b, " ALL "...))
	}
	if d.Partial != nil {
		// The range as low:high, however the client wrote it (as Dovecot).
		lo, hi := d.Partial.Bounds()
		b = PartialRange{First: lo, Last: hi, FromEnd: d.Partial.FromEnd}.appendTo(append(b, " PARTIAL ("...))
		if len(d.PartialSet.Ranges) > 0 {
			b = d.PartialSet.appendTo(append(b, ' '))
		} else {
			b = append(b, " NIL"...)
		}
		b = append(b, ')')
	}
	if d.Relevancy != nil {
		b = append(b, " RELEVANCY ("...)
		for i, v := range d.Relevancy {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendUint(b, uint32(v))
		}
		b = append(b, ')')
	}
	b = appendContextUpdates(b, "REMOVEFROM", d.RemoveFrom)
	b = appendContextUpdates(b, "ADDTO", d.AddTo)
	if d.ModSeq != 0 {
		b = appendUint(append(b, " MODSEQ "...), d.ModSeq)
	}
	return w.send(b)
}

// Thread is a node of a THREAD response (RFC 5256 §4): a message and its
// replies. Num 0 is a placeholder for a missing parent.
type Thread struct {
	Num      uint32
	Children []Thread
}

// Thread writes "* THREAD (2)(3 6 (4 23)(44 7 96))" (RFC 5256 §4).
func (w *Writer) Thread(threads []Thread) error {
	b := append(w.line(), "* THREAD"...)
	if len(threads) > 0 {
		b = append(b, ' ')
	}
	for _, t := range threads {
		b = appendThread(b, t)
	}
	return w.send(b)
}

func appendThread(b []byte, t Thread) []byte {
	b = append(b, '(')
	// Follow single-child chains iteratively: long reply chains are common.
	for {
		if t.Num != 0 {
			b = appendUint(b, t.Num)
		}
		if len(t.Children) == 0 {
			break
		}
		if t.Num != 0 {
			b = append(b, ' ')
		}
		if len(t.Children) == 1 {
			t = t.Children[0]
			continue
		}
		for _, c := range t.Children {
			b = appendThread(b, c)
		}
		break
	}
	return append(b, ')')
}

// ListData is one LIST or LSUB response (RFC 9051 §7.3.1, RFC 5258 §4).
type ListData struct {
	Attrs   []string // e.g. `\HasNoChildren`, `\Subscribed`, `\Drafts`
	Delim   rune     // hierarchy delimiter; 0 for NIL (flat)
	Mailbox string   // Unicode; encoded as the Writer's UTF8 setting says
	// ChildInfo is the CHILDINFO extended item, e.g. ["SUBSCRIBED"]
	// (RFC 5258 §4).
	ChildInfo []string
	// OldName is the OLDNAME extended item (RFC 9051 §6.3.9), "" if none.
	OldName string
}

// List writes "* LIST (attrs) "/" name [(extended items)]".
func (w *Writer) List(d *ListData) error { return w.list("LIST", d) }

// LSub writes "* LSUB (attrs) "/" name" (RFC 3501 §7.2.3).
func (w *Writer) LSub(d *ListData) error { return w.list("LSUB", d) }

func (w *Writer) list(name string, d *ListData) error {
	b := append(append(w.line(), "* "...), name...)
	b = appendList(append(b, ' '), d.Attrs, appendRaw)
	b = append(b, ' ')
	b = appendDelim(b, d.Delim)
	b = AppendMailbox(append(b, ' '), d.Mailbox, w.UTF8)
	if d.ChildInfo != nil || d.OldName != "" {
		b = append(b, " ("...)
		if d.ChildInfo != nil {
			b = append(b, `"CHILDINFO" `...)
			b = appendList(b, d.ChildInfo, appendQuoted)
			if d.OldName != "" {
				b = append(b, ' ')
			}
		}
		if d.OldName != "" {
			b = append(b, `"OLDNAME" (`...)
			b = AppendMailbox(b, d.OldName, w.UTF8)
			b = append(b, ')')
		}
		b = append(b, ')')
	}
	return w.send(b)
}

// appendDelim appends a hierarchy delimiter: a quoted char or NIL.
func appendDelim(b []byte, d rune) []byte {
	if d == 0 {
		return append(b, "NIL"...)
	}
	return appendQuoted(b, string(d))
}

// StatusValue is one item of a STATUS response. Str, when set, is sent
// instead of Value as a parenthesised atom: MAILBOXID (RFC 8474 §4).
type StatusValue struct {
	Item  StatusItem
	Value uint64
	Str   string
}

// Status writes "* STATUS mailbox (MESSAGES 2 UIDNEXT 7)" (RFC 9051
// §7.3.3), also used for LIST-STATUS (RFC 5819).
func (w *Writer) Status(mailbox string, items []StatusValue) error {
	b := AppendMailbox(append(w.line(), "* STATUS "...), mailbox, w.UTF8)
	b = appendList(append(b, ' '), items, func(b []byte, v StatusValue) []byte {
		b = append(append(b, v.Item...), ' ')
		if v.Str != "" {
			return append(append(append(b, '('), v.Str...), ')')
		}
		return appendUint(b, v.Value)
	})
	return w.send(b)
}

// Namespace is one namespace of a NAMESPACE response.
type Namespace struct {
	Prefix string // Unicode, e.g. "Other Users/"
	Delim  rune   // 0 for NIL
}

// Namespace writes "* NAMESPACE personal other shared" (RFC 9051 §7.3.2,
// RFC 2342); a nil list is NIL.
func (w *Writer) Namespace(personal, other, shared []Namespace) error {
	b := append(w.line(), "* NAMESPACE"...)
	for _, ns := range [][]Namespace{personal, other, shared} {
		b = append(b, ' ')
		if len(ns) == 0 {
			b = append(b, "NIL"...)
			continue
		}
		// "(" 1*("(" string SP delim ")") ")": no spaces between
		// namespaces (RFC 2342 §5).
		b = append(b, '(')
		for _, n := range ns {
			b = append(b, '(')
			b = AppendString(b, EncodeMailbox(n.Prefix, w.UTF8), w.UTF8)
			b = appendDelim(append(b, ' '), n.Delim)
			b = append(b, ')')
		}
		b = append(b, ')')
	}
	return w.send(b)
}

// QuotaResource is a resource's usage and limit in a QUOTA response.
type QuotaResource struct {
	Name         string // STORAGE (in KiB), MESSAGE, MAILBOX, ANNOTATION-STORAGE
	Usage, Limit uint64
}

// Quota writes "* QUOTA root (STORAGE 10 512)" (RFC 9208).
func (w *Writer) Quota(root string, res []QuotaResource) error {
	b := AppendAString(append(w.line(), "* QUOTA "...), root, w.UTF8)
	b = appendList(append(b, ' '), res, func(b []byte, r QuotaResource) []byte {
		b = append(append(b, r.Name...), ' ')
		b = appendUint(b, r.Usage)
		return appendUint(append(b, ' '), r.Limit)
	})
	return w.send(b)
}

// QuotaRoot writes "* QUOTAROOT mailbox root..." (RFC 9208).
func (w *Writer) QuotaRoot(mailbox string, roots ...string) error {
	b := AppendMailbox(append(w.line(), "* QUOTAROOT "...), mailbox, w.UTF8)
	for _, r := range roots {
		b = AppendAString(append(b, ' '), r, w.UTF8)
	}
	return w.send(b)
}

// ACLEntry is an identifier and its rights (RFC 4314 §3.6).
type ACLEntry struct {
	Identifier, Rights string
}

// ACL writes "* ACL mailbox id rights..." (RFC 4314 §3.6).
func (w *Writer) ACL(mailbox string, entries []ACLEntry) error {
	b := AppendMailbox(append(w.line(), "* ACL "...), mailbox, w.UTF8)
	for _, e := range entries {
		b = AppendAString(append(b, ' '), e.Identifier, w.UTF8)
		b = AppendAString(append(b, ' '), e.Rights, w.UTF8)
	}
	return w.send(b)
}

// ListRights writes "* LISTRIGHTS mailbox id required optional..." (RFC
// 4314 §3.7).
func (w *Writer) ListRights(mailbox, identifier, required string, optional ...string) error {
	b := AppendMailbox(append(w.line(), "* LISTRIGHTS "...), mailbox, w.UTF8)
	b = AppendAString(append(b, ' '), identifier, w.UTF8)
	b = AppendAString(append(b, ' '), required, w.UTF8)
	for _, o := range optional {
		b = AppendAString(append(b, ' '), o, w.UTF8)
	}
	return w.send(b)
}

// MyRights writes "* MYRIGHTS mailbox rights" (RFC 4314 §3.8).
func (w *Writer) MyRights(mailbox, rights string) error {
	b := AppendMailbox(append(w.line(), "* MYRIGHTS "...), mailbox, w.UTF8)
	return w.send(AppendAString(append(b, ' '), rights, w.UTF8))
}

// Metadata writes "* METADATA mailbox (entry value ...)" (RFC 5464
// §4.4.1); a nil value is NIL and a value holding NUL goes as literal8.
func (w *Writer) Metadata(mailbox string, entries []MetadataEntry) error {
	b := AppendMailbox(append(w.line(), "* METADATA "...), mailbox, w.UTF8)
	b = appendList(append(b, ' '), entries, func(b []byte, e MetadataEntry) []byte {
		b = AppendAString(b, e.Name, w.UTF8)
		b = append(b, ' ')
		return appendNBytes(b, e.Value, w.UTF8)
	})
	return w.send(b)
}

// MetadataNames writes the unsolicited "* METADATA mailbox entry..." (RFC
// 5464 §4.4.2).
func (w *Writer) MetadataNames(mailbox string, names ...string) error {
	b := AppendMailbox(append(w.line(), "* METADATA "...), mailbox, w.UTF8)
	for _, n := range names {
		b = AppendAString(append(b, ' '), n, w.UTF8)
	}
	return w.send(b)
}

// appendNBytes appends data as NIL (nil), a string, or literal8 when it
// holds NUL.
func appendNBytes(b, data []byte, utf8 bool) []byte {
	switch {
	case data == nil:
		return append(b, "NIL"...)
	case indexNUL(data) >= 0:
		b = appendUint(append(b, "~{"...), len(data))
		return append(append(b, "}\r\n"...), data...)
	}
	return AppendString(b, string(data), utf8)
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// ID writes "* ID (fields)" or "* ID NIL" for nil fields (RFC 2971 §3.2).
func (w *Writer) ID(fields []IDField) error {
	b := append(w.line(), "* ID "...)
	if fields == nil {
		return w.send(append(b, "NIL"...))
	}
	return w.send(appendIDFields(b, fields, w.UTF8))
}
