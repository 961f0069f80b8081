package imap

import (
	"strings"
	"time"
	"unsafe"
)

// SearchKey is a node of a SEARCH program (RFC 9051 §6.4.4). Op is the
// upper-case key name and selects the fields used:
//
//	ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN
//	UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN          no argument
//	BCC BODY CC FROM SUBJECT TEXT TO                      Str
//	KEYWORD UNKEYWORD                                     Str (the keyword)
//	HEADER                                                Str (field name), Value
//	BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE           Date (midnight UTC)
//	SAVEDBEFORE SAVEDON SAVEDSINCE                        Date (RFC 8514 §4.1)
//	SAVEDATESUPPORTED                                     no argument (RFC 8514 §4.1)
//	EMAILID THREADID                                      Str (an objectid, RFC 8474 §6)
//	LARGER SMALLER                                        Num (octets)
//	YOUNGER OLDER                                         Num (seconds, RFC 5032)
//	MODSEQ                                                Num; Str and Value are the optional
//	                                                      entry name and type (RFC 7162 §3.1.5)
//	SEQ                                                   Seq (a bare sequence set)
//	UID                                                   Seq
//	AND                                                   Keys (a parenthesised list)
//	NOT FUZZY                                             Keys[0] (FUZZY: RFC 6203)
//	OR                                                    Keys[0], Keys[1]
type SearchKey struct {
	Op    string
	Str   string
	Value string
	Date  time.Time
	Num   uint64
	Seq   SeqSet
	Keys  []SearchKey
}

// SearchReturn holds ESEARCH return options (RFC 4731 §3.1, RFC 5182,
// CONTEXT=SEARCH RFC 5267 §4, PARTIAL RFC 9394). "RETURN ()", and a list
// with only CONTEXT, is returned with All set; UPDATE alone returns no
// data now, only the updates later (RFC 5267 §4.2, as Dovecot).
type SearchReturn struct {
	Min, Max, All, Count, Save bool
	// Update asks for ADDTO/REMOVEFROM while the mailbox stays selected;
	// Context is a hint that it may come (RFC 5267 §4.1, §4.2).
	Update, Context bool
	Partial         *PartialRange // RFC 9394 §3.1; never with All
	// Relevancy asks for the relevancy score of each match (SEARCH=FUZZY,
	// RFC 6203 §4), returned with ALL.
	Relevancy bool
}

// SearchCmd is SEARCH [RETURN (...)] [CHARSET cs] keys (RFC 9051 §6.4.4).
type SearchCmd struct {
	Charset string        // "" when not given
	Return  *SearchReturn // nil without RETURN: an IMAP4rev1 client wants "* SEARCH"
	Keys    []SearchKey   // implicitly ANDed
}

func parseSearch(r *Reader, _ *Command) Args {
	a := &SearchCmd{}
	r.sp()
	if r.peekKeyword("RETURN") {
		a.Return = r.searchReturn()
		r.sp()
	}
	if r.maybeKeyword("CHARSET") {
		r.sp()
		a.Charset = r.astring()
		r.sp()
	}
	a.Keys = r.searchKeys()
	return a
}

// searchReturn parses "RETURN" SP "(" [search-return-opt *(SP ...)] ")".
func (r *Reader) searchReturn() *SearchReturn {
	r.expectKeyword("RETURN")
	r.sp()
	ret := &SearchReturn{}
	empty := true
	r.list(true, func() {
		empty = false
		switch kw := r.keyword(); kw {
		case "MIN":
			ret.Min = true
		case "MAX":
			ret.Max = true
		case "ALL":
			ret.All = true
		case "COUNT":
			ret.Count = true
		case "SAVE":
			ret.Save = true
		case "UPDATE":
			if ret.Update {
				r.fail("duplicate UPDATE")
			}
			ret.Update = true
		case "CONTEXT":
			ret.Context = true
		case "RELEVANCY":
			ret.Relevancy = true
		case "PARTIAL":
			if ret.Partial != nil {
				r.fail("duplicate PARTIAL")
			}
			r.sp()
			p := r.partialRange()
			ret.Partial = &p
		default:
			if r.ok() {
				r.fail("unknown SEARCH return option %s", kw)
			}
		}
	})
	if empty || !ret.Min && !ret.Max && !ret.Count && !ret.Save && !ret.Update && ret.Partial == nil {
		ret.All = true // RFC 4731 §3.1; CONTEXT is only a hint (RFC 5267 §4.1)
	}
	if r.ok() && ret.All && ret.Partial != nil {
		r.fail("PARTIAL and ALL are mutually exclusive") // RFC 9394 §3.1
	}
	return ret
}

// searchKeys parses search-key *(SP search-key) up to the end of the line.
func (r *Reader) searchKeys() []SearchKey {
	var keys []SearchKey
	for r.ok() {
		keys = append(keys, r.searchKey())
		if !r.maybe(' ') {
			break
		}
	}
	return keys
}

// searchKey parses one search-key; nesting is bounded by Limits.MaxDepth
// so that a hostile "NOT NOT NOT ..." cannot exhaust the stack.
func (r *Reader) searchKey() SearchKey {
	if !r.ok() || !r.enter() {
		return SearchKey{}
	}
	defer r.leave()
	r.charge(int64(unsafe.Sizeof(SearchKey{})))
	switch c := r.peek(); {
	case c == '(':
		k := SearchKey{Op: "AND"}
		r.list(false, func() { k.Keys = append(k.Keys, r.searchKey()) })
		return k
	case isDigit(c) || c == '*' || c == '$':
		return SearchKey{Op: "SEQ", Seq: r.seqSet()}
	}
	k := SearchKey{Op: r.keyword()}
	switch k.Op {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
		"UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN", "SAVEDATESUPPORTED":
	case "EMAILID", "THREADID":
		r.sp()
		k.Str = r.objectID()
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		r.sp()
		k.Str = r.astring()
	case "KEYWORD", "UNKEYWORD":
		r.sp()
		k.Str = r.atom()
	case "HEADER":
		r.sp()
		k.Str = r.headerFieldName()
		r.sp()
		k.Value = r.astring()
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		r.sp()
		k.Date = r.date()
	case "LARGER", "SMALLER":
		r.sp()
		k.Num = r.number64()
	case "YOUNGER", "OLDER":
		r.sp()
		k.Num = uint64(r.nzNumber())
	case "UID":
		r.sp()
		k.Seq = r.seqSet()
	case "NOT", "FUZZY":
		r.sp()
		k.Keys = []SearchKey{r.searchKey()}
	case "OR":
		r.sp()
		a := r.searchKey()
		r.sp()
		k.Keys = []SearchKey{a, r.searchKey()}
	case "MODSEQ":
		r.sp()
		if r.peek() == '"' {
			k.Str = r.quoted()
			if r.ok() && !strings.HasPrefix(k.Str, "/flags/") {
				r.fail("invalid MODSEQ entry name")
			}
			r.sp()
			k.Value = strings.ToLower(r.atom())
			if r.ok() && k.Value != "priv" && k.Value != "shared" && k.Value != "all" {
				r.fail("invalid MODSEQ entry type")
			}
			r.sp()
		}
		k.Num = r.number64()
	default:
		if r.ok() {
			r.fail("unknown search key %s", k.Op)
		}
	}
	return k
}

// objectID parses objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474
// §7).
func (r *Reader) objectID() string {
	id := r.takeWhile(func(c byte) bool {
		return c == '_' || c == '-' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
	})
	if r.ok() && (len(id) == 0 || len(id) > 255) {
		r.fail("invalid objectid")
	}
	return string(id)
}

// String returns the key in wire form.
func (k SearchKey) String() string { return string(k.appendTo(nil)) }

func (k SearchKey) appendTo(b []byte) []byte {
	switch k.Op {
	case "AND":
		return appendList(b, k.Keys, func(b []byte, k SearchKey) []byte { return k.appendTo(b) })
	case "SEQ":
		return k.Seq.appendTo(b)
	}
	b = append(b, k.Op...)
	switch k.Op {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		b = AppendAString(append(b, ' '), k.Str, false)
	case "KEYWORD", "UNKEYWORD":
		b = append(append(b, ' '), k.Str...)
	case "HEADER":
		b = AppendAString(append(b, ' '), k.Str, false)
		b = AppendAString(append(b, ' '), k.Value, false)
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		b = appendDate(append(b, ' '), k.Date)
	case "EMAILID", "THREADID":
		b = append(append(b, ' '), k.Str...)
	case "LARGER", "SMALLER", "YOUNGER", "OLDER":
		b = appendUint(append(b, ' '), k.Num)
	case "UID":
		b = k.Seq.appendTo(append(b, ' '))
	case "NOT", "FUZZY", "OR":
		for _, sub := range k.Keys {
			b = sub.appendTo(append(b, ' '))
		}
	case "MODSEQ":
		if k.Str != "" {
			b = appendQuoted(append(b, ' '), k.Str)
			b = append(append(b, ' '), k.Value...)
		}
		b = appendUint(append(b, ' '), k.Num)
	}
	return b
}

func appendSearchKeys(b []byte, keys []SearchKey) []byte {
	for i, k := range keys {
		if i > 0 {
			b = append(b, ' ')
		}
		b = k.appendTo(b)
	}
	return b
}

func (ret *SearchReturn) appendTo(b []byte) []byte {
	var opts []string
	for _, o := range []struct {
		on   bool
		name string
	}{{ret.Min, "MIN"}, {ret.Max, "MAX"}, {ret.All, "ALL"}, {ret.Count, "COUNT"}, {ret.Save, "SAVE"},
		{ret.Update, "UPDATE"}, {ret.Context, "CONTEXT"}} {
		if o.on {
			opts = append(opts, o.name)
		}
	}
	if ret.Partial != nil {
		opts = append(opts, "PARTIAL "+ret.Partial.String())
	}
	return appendList(append(b, " RETURN "...), opts, appendRaw)
}

func (a *SearchCmd) appendArgs(b []byte) []byte {
	if a.Return != nil {
		b = a.Return.appendTo(b)
	}
	if a.Charset != "" {
		b = AppendAString(append(b, " CHARSET "...), a.Charset, false)
	}
	return appendSearchKeys(append(b, ' '), a.Keys)
}

// SortCriterion is one sort key (RFC 5256 §3, RFC 5957 DISPLAYFROM and
// DISPLAYTO).
type SortCriterion struct {
	Key     string // ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO
	Reverse bool
}

var sortKeys = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true, "SUBJECT": true,
	"TO": true, "DISPLAYFROM": true, "DISPLAYTO": true,
}

// SortCmd is SORT [RETURN (...)] (criteria) charset keys (RFC 5256 §3,
// ESORT RFC 5267 §3).
type SortCmd struct {
	Return   *SearchReturn // ESORT; nil when not given
	Criteria []SortCriterion
	Charset  string
	Keys     []SearchKey
}

func parseSort(r *Reader, _ *Command) Args {
	a := &SortCmd{}
	r.sp()
	if r.peekKeyword("RETURN") {
		a.Return = r.searchReturn()
		r.sp()
	}
	r.list(false, func() {
		var c SortCriterion
		if r.maybeKeyword("REVERSE") {
			c.Reverse = true
			r.sp()
		}
		c.Key = r.keyword()
		if r.ok() && !sortKeys[c.Key] {
			r.fail("unknown sort key %s", c.Key)
		}
		a.Criteria = append(a.Criteria, c)
	})
	r.sp()
	a.Charset = r.astring()
	r.sp()
	a.Keys = r.searchKeys()
	return a
}

func (a *SortCmd) appendArgs(b []byte) []byte {
	if a.Return != nil {
		b = a.Return.appendTo(b)
	}
	b = appendList(append(b, ' '), a.Criteria, func(b []byte, c SortCriterion) []byte {
		if c.Reverse {
			b = append(b, "REVERSE "...)
		}
		return append(b, c.Key...)
	})
	b = AppendAString(append(b, ' '), a.Charset, false)
	return appendSearchKeys(append(b, ' '), a.Keys)
}

// ThreadCmd is THREAD algorithm charset keys (RFC 5256 §3).
type ThreadCmd struct {
	Algorithm string // upper case: REFERENCES, ORDEREDSUBJECT, ...
	Charset   string
	Keys      []SearchKey
}

func parseThread(r *Reader, _ *Command) Args {
	r.sp()
	a := &ThreadCmd{Algorithm: r.keyword()}
	r.sp()
	a.Charset = r.astring()
	r.sp()
	a.Keys = r.searchKeys()
	return a
}

func (a *ThreadCmd) appendArgs(b []byte) []byte {
	b = append(append(b, ' '), a.Algorithm...)
	b = AppendAString(append(b, ' '), a.Charset, false)
	return appendSearchKeys(append(b, ' '), a.Keys)
}
