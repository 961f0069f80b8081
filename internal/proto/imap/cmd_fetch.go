package imap

import (
	"strconv"
	"strings"
	"unsafe"
)

// FetchAttr names a FETCH data item (RFC 9051 §6.4.5).
type FetchAttr string

// FETCH data items. The macros ALL, FAST and FULL are expanded by the
// parser.
const (
	FetchEnvelope      FetchAttr = "ENVELOPE"
	FetchFlags         FetchAttr = "FLAGS"
	FetchInternalDate  FetchAttr = "INTERNALDATE"
	FetchRFC822        FetchAttr = "RFC822"        // IMAP4rev1: BODY[]
	FetchRFC822Header  FetchAttr = "RFC822.HEADER" // IMAP4rev1: BODY.PEEK[HEADER]
	FetchRFC822Size    FetchAttr = "RFC822.SIZE"
	FetchRFC822Text    FetchAttr = "RFC822.TEXT" // IMAP4rev1: BODY[TEXT]
	FetchBody          FetchAttr = "BODY"        // non-extensible BODYSTRUCTURE
	FetchBodyStructure FetchAttr = "BODYSTRUCTURE"
	FetchUID           FetchAttr = "UID"
	FetchModSeq        FetchAttr = "MODSEQ"        // RFC 7162 §3.1.4.1
	FetchBodySection   FetchAttr = "BODY[]"        // BODY[section]<partial>, BODY.PEEK[...]
	FetchBinary        FetchAttr = "BINARY[]"      // BINARY[part]<partial>, BINARY.PEEK[...] (RFC 3516)
	FetchBinarySize    FetchAttr = "BINARY.SIZE[]" // BINARY.SIZE[part] (RFC 3516)
	FetchEmailID       FetchAttr = "EMAILID"       // RFC 8474 §5.1
	FetchThreadID      FetchAttr = "THREADID"      // RFC 8474 §5.2
	FetchSaveDate      FetchAttr = "SAVEDATE"      // RFC 8514 §4
	FetchPreview       FetchAttr = "PREVIEW"       // RFC 8970 §3; Lazy for "PREVIEW (LAZY)"
)

// FetchItem is one FETCH data item.
type FetchItem struct {
	Attr FetchAttr
	// Peek is set for BODY.PEEK and BINARY.PEEK: the server must not set
	// \Seen (RFC 9051 §6.4.5).
	Peek    bool
	Section Section  // for FetchBodySection, FetchBinary, FetchBinarySize
	Partial *Partial // nil for the whole section
	// Lazy is the LAZY modifier of PREVIEW (RFC 8970 §3.2).
	Lazy bool
}

// Section is a body section specification (RFC 9051 §6.4.5).
type Section struct {
	Part []uint32 // MIME part path, e.g. 1.2 is [1 2]; empty for the message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME" (MIME only with a Part).
	Specifier string
	Fields    []string // header field names for HEADER.FIELDS[.NOT]
}

// Partial is "<offset.count>": count octets from offset (RFC 9051 §6.4.5).
type Partial struct {
	Offset, Count uint64
}

// FetchCmd is FETCH sequence-set items [(modifiers)] (RFC 9051 §6.4.5,
// RFC 7162 §3.1.4 and §3.2.6).
type FetchCmd struct {
	Seq   SeqSet
	Items []FetchItem
	// ChangedSince is the CHANGEDSINCE modifier, 0 when absent.
	ChangedSince uint64
	// Vanished is the VANISHED modifier (QRESYNC): only with UID FETCH
	// and CHANGEDSINCE, which the parser checks.
	Vanished bool
	// Partial is the PARTIAL modifier (RFC 9394 §3.2): only the messages
	// of the set at these positions are fetched; nil when absent.
	Partial *PartialRange
}

func parseFetch(r *Reader, c *Command) Args {
	r.sp()
	a := &FetchCmd{Seq: r.seqSet()}
	r.sp()
	if r.peek() == '(' {
		r.list(false, func() { a.Items = append(a.Items, r.fetchItem()) })
	} else {
		switch {
		case r.maybeKeyword("ALL"):
			a.Items = macro(FetchFlags, FetchInternalDate, FetchRFC822Size, FetchEnvelope)
		case r.maybeKeyword("FAST"):
			a.Items = macro(FetchFlags, FetchInternalDate, FetchRFC822Size)
		case r.maybeKeyword("FULL"):
			a.Items = macro(FetchFlags, FetchInternalDate, FetchRFC822Size, FetchEnvelope, FetchBody)
		default:
			a.Items = []FetchItem{r.fetchItem()}
		}
	}
	if r.maybe(' ') {
		r.list(false, func() {
			switch kw := r.keyword(); kw {
			case "CHANGEDSINCE":
				r.sp()
				a.ChangedSince = r.modSeq()
			case "VANISHED":
				a.Vanished = true
			case "PARTIAL":
				if a.Partial != nil {
					r.fail("duplicate PARTIAL")
				}
				r.sp()
				p := r.partialRange()
				a.Partial = &p
			default:
				if r.ok() {
					r.fail("unknown FETCH modifier %s", kw)
				}
			}
		})
	}
	// RFC 7162 §3.2.6: VANISHED only in UID FETCH with CHANGEDSINCE.
	if a.Vanished && (!c.UID || a.ChangedSince == 0) {
		r.fail("VANISHED requires UID FETCH and CHANGEDSINCE")
	}
	return a
}

func macro(attrs ...FetchAttr) []FetchItem {
	items := make([]FetchItem, len(attrs))
	for i, at := range attrs {
		items[i].Attr = at
	}
	return items
}

func isFetchNameChar(c byte) bool {
	return c == '.' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// fetchItem parses fetch-att (RFC 9051 §9).
func (r *Reader) fetchItem() FetchItem {
	r.charge(int64(unsafe.Sizeof(FetchItem{})))
	name := strings.ToUpper(string(r.takeWhile(isFetchNameChar)))
	var it FetchItem
	switch name {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
		"RFC822.TEXT", "BODYSTRUCTURE", "UID", "MODSEQ", "EMAILID", "THREADID", "SAVEDATE":
		it.Attr = FetchAttr(name)
	case "PREVIEW":
		it.Attr = FetchPreview
		it.Lazy = r.previewMods()
	case "BODY", "BODY.PEEK":
		if name == "BODY" && r.peek() != '[' {
			it.Attr = FetchBody
			break
		}
		it.Attr = FetchBodySection
		it.Peek = name == "BODY.PEEK"
		it.Section = r.section()
		it.Partial = r.partial()
	case "BINARY", "BINARY.PEEK":
		it.Attr = FetchBinary
		it.Peek = name == "BINARY.PEEK"
		it.Section = r.binarySection()
		it.Partial = r.partial()
	case "BINARY.SIZE":
		it.Attr = FetchBinarySize
		it.Section = r.binarySection()
	default:
		if r.ok() {
			r.fail("unknown FETCH item %q", name)
		}
	}
	return it
}

// previewMods parses the optional " (" preview-mod *(SP preview-mod) ")"
// after PREVIEW (RFC 8970 §7) and reports whether LAZY was among them.
func (r *Reader) previewMods() bool {
	if !r.ok() || r.pos+1 >= len(r.line) || r.line[r.pos] != ' ' || r.line[r.pos+1] != '(' {
		return false
	}
	r.sp()
	lazy := false
	r.list(false, func() {
		if kw := r.keyword(); kw == "LAZY" {
			lazy = true
		} else if r.ok() {
			r.fail("unknown PREVIEW modifier %s", kw)
		}
	})
	return lazy
}

// section parses "[" [section-spec] "]".
func (r *Reader) section() Section {
	var s Section
	r.expect('[')
	for r.ok() && isDigit(r.peek()) {
		s.Part = append(s.Part, r.nzNumber())
		if !r.maybe('.') {
			break
		}
		if !isDigit(r.peek()) {
			s.Specifier = r.sectionText(true)
			break
		}
	}
	if s.Part == nil && r.peek() != ']' {
		s.Specifier = r.sectionText(false)
	}
	if s.Specifier == "HEADER.FIELDS" || s.Specifier == "HEADER.FIELDS.NOT" {
		r.sp()
		r.list(false, func() { s.Fields = append(s.Fields, r.headerFieldName()) })
	}
	r.expect(']')
	return s
}

// sectionText parses section-msgtext, or "MIME" after a part number.
func (r *Reader) sectionText(afterPart bool) string {
	t := strings.ToUpper(string(r.takeWhile(func(c byte) bool { return c == '.' || (c|0x20 >= 'a' && c|0x20 <= 'z') })))
	switch t {
	case "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT":
		return t
	case "MIME":
		if afterPart {
			return t
		}
	}
	r.fail("invalid section %q", t)
	return ""
}

// headerFieldName parses header-fld-name (an astring) and checks that it
// is a field name (RFC 5322 §3.6.8 ftext).
func (r *Reader) headerFieldName() string {
	s := r.astring()
	if !r.ok() {
		return ""
	}
	if s == "" {
		r.fail("empty header field name")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			r.fail("invalid header field name")
			break
		}
	}
	return s
}

// binarySection parses section-binary: "[" [section-part] "]" (RFC 3516).
func (r *Reader) binarySection() Section {
	var s Section
	r.expect('[')
	if r.peek() != ']' {
		for r.ok() {
			s.Part = append(s.Part, r.nzNumber())
			if !r.maybe('.') {
				break
			}
		}
	}
	r.expect(']')
	return s
}

// partial parses the optional "<" number64 "." nz-number64 ">".
func (r *Reader) partial() *Partial {
	if !r.maybe('<') {
		return nil
	}
	p := &Partial{Offset: r.number64()}
	r.expect('.')
	p.Count = r.number64()
	if r.ok() && p.Count == 0 {
		r.fail("partial count must not be 0")
	}
	r.expect('>')
	return p
}

// String returns the item as a client sends it, e.g.
// "BODY.PEEK[1.HEADER.FIELDS (From To)]<0.100>".
func (it FetchItem) String() string { return string(it.appendTo(nil, true)) }

// ResponseName returns the name the item has in a FETCH response (RFC 9051
// §7.5.2): no .PEEK, and a partial shows its origin only, e.g.
// "BODY[1.HEADER.FIELDS (From To)]<0>".
func (it FetchItem) ResponseName() string { return string(it.appendTo(nil, false)) }

func (it FetchItem) appendTo(b []byte, request bool) []byte {
	switch it.Attr {
	case FetchBodySection, FetchBinary:
		if it.Attr == FetchBodySection {
			b = append(b, "BODY"...)
		} else {
			b = append(b, "BINARY"...)
		}
		if it.Peek && request {
			b = append(b, ".PEEK"...)
		}
		b = it.Section.appendTo(b)
		if p := it.Partial; p != nil {
			b = appendUint(append(b, '<'), p.Offset)
			if request {
				b = appendUint(append(b, '.'), p.Count)
			}
			b = append(b, '>')
		}
		return b
	case FetchBinarySize:
		return it.Section.appendTo(append(b, "BINARY.SIZE"...))
	case FetchPreview:
		b = append(b, "PREVIEW"...)
		if it.Lazy && request {
			b = append(b, " (LAZY)"...)
		}
		return b
	}
	return append(b, it.Attr...)
}

// String returns the section in brackets, e.g. "[1.2.MIME]".
func (s Section) String() string { return string(s.appendTo(nil)) }

func (s Section) appendTo(b []byte) []byte {
	b = append(b, '[')
	for i, p := range s.Part {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendUint(b, p)
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.Specifier...)
	}
	if s.Fields != nil {
		b = append(b, ' ')
		b = appendList(b, s.Fields, func(b []byte, f string) []byte { return AppendAString(b, f, false) })
	}
	return append(b, ']')
}

func (a *FetchCmd) appendArgs(b []byte) []byte {
	b = a.Seq.appendTo(append(b, ' '))
	b = append(b, ' ')
	b = appendList(b, a.Items, func(b []byte, it FetchItem) []byte { return it.appendTo(b, true) })
	if a.ChangedSince != 0 || a.Vanished || a.Partial != nil {
		var mods []string
		if a.ChangedSince != 0 {
			mods = append(mods, "CHANGEDSINCE "+strconv.FormatUint(a.ChangedSince, 10))
		}
		if a.Vanished {
			mods = append(mods, "VANISHED")
		}
		if a.Partial != nil {
			mods = append(mods, "PARTIAL "+a.Partial.String())
		}
		b = appendList(append(b, ' '), mods, appendRaw)
	}
	return b
}

// StoreOp says how STORE changes flags.
type StoreOp int

// STORE operations (RFC 9051 §6.4.6).
const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// StoreCmd is STORE sequence-set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT]
// flags (RFC 9051 §6.4.6, RFC 7162 §3.1.3).
type StoreCmd struct {
	Seq    SeqSet
	Op     StoreOp
	Silent bool
	Flags  []string // system flags in canonical case; nil for "()"
	// UnchangedSince is the UNCHANGEDSINCE modifier; nil when absent (0
	// is a valid value).
	UnchangedSince *uint64
}

func parseStore(r *Reader, _ *Command) Args {
	r.sp()
	a := &StoreCmd{Seq: r.seqSet()}
	r.sp()
	if r.peek() == '(' {
		r.list(false, func() {
			if kw := r.keyword(); kw != "UNCHANGEDSINCE" {
				if r.ok() {
					r.fail("unknown STORE modifier %s", kw)
				}
				return
			}
			if a.UnchangedSince != nil {
				r.fail("duplicate UNCHANGEDSINCE")
			}
			r.sp()
			n := r.number64()
			a.UnchangedSince = &n
		})
		r.sp()
	}
	switch {
	case r.maybe('+'):
		a.Op = StoreAdd
	case r.maybe('-'):
		a.Op = StoreRemove
	}
	switch kw := r.keyword(); kw {
	case "FLAGS":
	case "FLAGS.SILENT":
		a.Silent = true
	default:
		if r.ok() {
			r.fail("expected FLAGS, got %s", kw)
		}
	}
	r.sp()
	if r.peek() == '(' {
		a.Flags = r.flagList()
	} else {
		for r.ok() {
			a.Flags = append(a.Flags, r.flag())
			if !r.maybe(' ') {
				break
			}
		}
	}
	return a
}

func (a *StoreCmd) appendArgs(b []byte) []byte {
	b = a.Seq.appendTo(append(b, ' '))
	if a.UnchangedSince != nil {
		b = appendUint(append(b, " (UNCHANGEDSINCE "...), *a.UnchangedSince)
		b = append(b, ')')
	}
	b = append(b, ' ')
	switch a.Op {
	case StoreAdd:
		b = append(b, '+')
	case StoreRemove:
		b = append(b, '-')
	}
	b = append(b, "FLAGS"...)
	if a.Silent {
		b = append(b, ".SILENT"...)
	}
	b = append(b, ' ')
	return appendList(b, a.Flags, appendRaw)
}
