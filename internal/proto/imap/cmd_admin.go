package imap

import "strings"

// GetQuotaCmd is GETQUOTA quota-root (RFC 9208).
type GetQuotaCmd struct {
	Root string
}

func parseGetQuota(r *Reader, _ *Command) Args {
	r.sp()
	return &GetQuotaCmd{Root: r.astring()}
}

func (a *GetQuotaCmd) appendArgs(b []byte) []byte {
	return AppendAString(append(b, ' '), a.Root, false)
}

// QuotaLimit is a resource and its limit in SETQUOTA (RFC 9208).
type QuotaLimit struct {
	Resource string // upper case: STORAGE (KiB), MESSAGE, MAILBOX, ANNOTATION-STORAGE, ...
	Limit    uint64
}

// SetQuotaCmd is SETQUOTA quota-root (limits) (RFC 9208).
type SetQuotaCmd struct {
	Root   string
	Limits []QuotaLimit // nil for "()": remove all limits
}

func parseSetQuota(r *Reader, _ *Command) Args {
	r.sp()
	a := &SetQuotaCmd{Root: r.astring()}
	r.sp()
	r.list(true, func() {
		l := QuotaLimit{Resource: r.keyword()}
		r.sp()
		l.Limit = r.number64()
		a.Limits = append(a.Limits, l)
	})
	return a
}

func (a *SetQuotaCmd) appendArgs(b []byte) []byte {
	b = AppendAString(append(b, ' '), a.Root, false)
	return appendList(append(b, ' '), a.Limits, func(b []byte, l QuotaLimit) []byte {
		return appendUint(append(append(b, l.Resource...), ' '), l.Limit)
	})
}

// ACLCmd is SETACL mailbox identifier rights, DELETEACL mailbox identifier
// or LISTRIGHTS mailbox identifier (RFC 4314 §3).
type ACLCmd struct {
	Mailbox    string
	Identifier string
	// Rights is SETACL's mod-rights, as sent: a leading "+" or "-" adds or
	// removes rights, otherwise they replace. Empty for the others.
	Rights string
}

func parseSetACL(r *Reader, _ *Command) Args {
	a := parseIdentifierACL(r, nil).(*ACLCmd)
	r.sp()
	a.Rights = r.astring()
	return a
}

func parseIdentifierACL(r *Reader, _ *Command) Args {
	r.sp()
	a := &ACLCmd{Mailbox: r.mailbox()}
	r.sp()
	a.Identifier = r.astring()
	return a
}

func (a *ACLCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	b = AppendAString(append(b, ' '), a.Identifier, false)
	if a.Rights != "" {
		b = AppendAString(append(b, ' '), a.Rights, false)
	}
	return b
}

// GetMetadataCmd is GETMETADATA [(options)] mailbox entries (RFC 5464
// §4.2). The options are also accepted after the mailbox, where some
// clients put them.
type GetMetadataCmd struct {
	Mailbox string   // "" for server annotations
	Entries []string // lower case, e.g. "/shared/comment"
	MaxSize *uint32  // MAXSIZE; nil when absent
	Depth   string   // DEPTH: "0" (default, ""), "1" or "infinity"
}

func parseGetMetadata(r *Reader, _ *Command) Args {
	a := &GetMetadataCmd{}
	r.sp()
	opts := false
	if r.peek() == '(' {
		r.metadataOptions(a)
		opts = true
		r.sp()
	}
	a.Mailbox = r.mailbox()
	r.sp()
	if !opts && r.peekOptions() {
		r.metadataOptions(a)
		r.sp()
	}
	if r.peek() == '(' {
		r.list(false, func() { a.Entries = append(a.Entries, r.metadataEntry()) })
	} else {
		a.Entries = []string{r.metadataEntry()}
	}
	return a
}

// peekOptions reports whether "(MAXSIZE" or "(DEPTH" comes next.
func (r *Reader) peekOptions() bool {
	if r.peek() != '(' {
		return false
	}
	r.pos++
	ok := r.peekKeyword("MAXSIZE") || r.peekKeyword("DEPTH")
	r.pos--
	return ok
}

// metadataOptions parses "(" getmetadata-option *(SP ...) ")".
func (r *Reader) metadataOptions(a *GetMetadataCmd) {
	r.list(false, func() {
		switch kw := r.keyword(); kw {
		case "MAXSIZE":
			r.sp()
			n := r.number()
			a.MaxSize = &n
		case "DEPTH":
			r.sp()
			switch d := strings.ToLower(r.atom()); d {
			case "0", "1", "infinity":
				a.Depth = d
			default:
				if r.ok() {
					r.fail("invalid DEPTH %q", d)
				}
			}
		default:
			if r.ok() {
				r.fail("unknown GETMETADATA option %s", kw)
			}
		}
	})
}

// metadataEntry parses an entry name and checks it (RFC 5464 §3.2): it
// starts with /private/ or /shared/, holds no wildcards, empty components
// or non-ASCII, and is returned in lower case (entry names are
// case-insensitive).
func (r *Reader) metadataEntry() string {
	s := r.astring()
	if !r.ok() {
		return ""
	}
	s = strings.ToLower(s)
	valid := (strings.HasPrefix(s, "/private/") || strings.HasPrefix(s, "/shared/")) &&
		!strings.HasSuffix(s, "/") && !strings.Contains(s, "//") && !strings.ContainsAny(s, "*%")
	for i := 0; valid && i < len(s); i++ {
		valid = s[i] > ' ' && s[i] < 0x7f
	}
	if !valid {
		r.fail("invalid metadata entry name")
	}
	return s
}

func (a *GetMetadataCmd) appendArgs(b []byte) []byte {
	if a.MaxSize != nil || a.Depth != "" {
		b = append(b, " ("...)
		if a.MaxSize != nil {
			b = appendUint(append(b, "MAXSIZE "...), *a.MaxSize)
			if a.Depth != "" {
				b = append(b, ' ')
			}
		}
		if a.Depth != "" {
			b = append(append(b, "DEPTH "...), a.Depth...)
		}
		b = append(b, ')')
	}
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	return appendList(append(b, ' '), a.Entries, func(b []byte, e string) []byte { return AppendAString(b, e, false) })
}

// MetadataEntry is an entry and its value (RFC 5464 §4.3); a nil Value is
// NIL, which removes the entry.
type MetadataEntry struct {
	Name  string
	Value []byte
}

// SetMetadataCmd is SETMETADATA mailbox (entry value ...) (RFC 5464 §4.3).
type SetMetadataCmd struct {
	Mailbox string
	Entries []MetadataEntry
}

func parseSetMetadata(r *Reader, _ *Command) Args {
	r.sp()
	a := &SetMetadataCmd{Mailbox: r.mailbox()}
	r.sp()
	r.list(false, func() {
		e := MetadataEntry{Name: r.metadataEntry()}
		r.sp()
		switch {
		case r.isLiteralStart():
			e.Value = r.literal(true) // value = nstring / literal8
		case r.peek() == '"':
			e.Value = []byte(r.quoted())
		default:
			r.expectKeyword("NIL")
		}
		a.Entries = append(a.Entries, e)
	})
	return a
}

func (a *SetMetadataCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	return appendList(append(b, ' '), a.Entries, func(b []byte, e MetadataEntry) []byte {
		b = AppendAString(b, e.Name, false)
		b = append(b, ' ')
		switch {
		case e.Value == nil:
			return append(b, "NIL"...)
		case strings.IndexByte(string(e.Value), 0) >= 0:
			b = appendUint(append(b, "~{"...), len(e.Value))
			return append(append(b, "}\r\n"...), e.Value...)
		}
		return AppendString(b, string(e.Value), false)
	})
}
