package imap

import "strings"

// MailboxCmd is the argument of DELETE, SUBSCRIBE, UNSUBSCRIBE (RFC 9051
// §6.3), GETQUOTAROOT (RFC 9208), GETACL and MYRIGHTS (RFC 4314).
type MailboxCmd struct {
	Mailbox string
}

func parseMailboxOnly(r *Reader, _ *Command) Args {
	r.sp()
	return &MailboxCmd{Mailbox: r.mailbox()}
}

func (a *MailboxCmd) appendArgs(b []byte) []byte {
	return AppendMailbox(append(b, ' '), a.Mailbox, false)
}

// RenameCmd is RENAME from to (RFC 9051 §6.3.6).
type RenameCmd struct {
	From, To string
}

func parseRename(r *Reader, _ *Command) Args {
	r.sp()
	a := &RenameCmd{From: r.mailbox()}
	r.sp()
	a.To = r.mailbox()
	return a
}

func (a *RenameCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.From, false)
	return AppendMailbox(append(b, ' '), a.To, false)
}

// SelectCmd is SELECT or EXAMINE mailbox [(CONDSTORE / QRESYNC (...))]
// (RFC 9051 §6.3.2, RFC 7162 §3.1.8 and §3.2.5).
type SelectCmd struct {
	Mailbox   string
	CondStore bool
	QResync   *QResync // nil when not given
}

// QResync holds the QRESYNC select parameter (RFC 7162 §3.2.5).
type QResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   SeqSet // may be empty; never "*" or "$"
	// KnownSeqs and KnownSeqUIDs are the optional sequence match data:
	// message numbers and their UIDs, both empty when absent.
	KnownSeqs, KnownSeqUIDs SeqSet
}

func parseSelect(r *Reader, _ *Command) Args {
	r.sp()
	a := &SelectCmd{Mailbox: r.mailbox()}
	if !r.maybe(' ') {
		return a
	}
	r.list(false, func() {
		switch kw := r.keyword(); kw {
		case "CONDSTORE":
			a.CondStore = true
		case "QRESYNC":
			if a.QResync != nil {
				r.fail("duplicate QRESYNC")
				return
			}
			r.sp()
			a.QResync = r.qresync()
		default:
			if r.ok() {
				r.fail("unknown select parameter %s", kw)
			}
		}
	})
	return a
}

// qresync parses "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 §7).
func (r *Reader) qresync() *QResync {
	q := &QResync{}
	r.expect('(')
	q.UIDValidity = r.nzNumber()
	r.sp()
	q.ModSeq = r.modSeq()
	if r.maybe(' ') {
		if r.peek() != '(' {
			q.KnownUIDs = r.knownSet()
			if r.maybe(' ') {
				r.seqMatch(q)
			}
		} else {
			r.seqMatch(q)
		}
	}
	r.expect(')')
	return q
}

// seqMatch parses seq-match-data: "(" known-sequence-set SP known-uid-set
// ")" (RFC 7162 §7).
func (r *Reader) seqMatch(q *QResync) {
	r.expect('(')
	q.KnownSeqs = r.knownSet()
	r.sp()
	q.KnownSeqUIDs = r.knownSet()
	r.expect(')')
}

// knownSet parses a sequence set without "*" or "$" (RFC 7162 §7
// known-uids).
func (r *Reader) knownSet() SeqSet {
	s := r.seqSet()
	if s.Saved {
		r.fail(`"$" not allowed here`)
	}
	for _, x := range s.Ranges {
		if x.Start == 0 || x.Stop == 0 {
			r.fail(`"*" not allowed here`)
		}
	}
	return s
}

func (a *SelectCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	if !a.CondStore && a.QResync == nil {
		return b
	}
	b = append(b, " ("...)
	if a.CondStore {
		b = append(b, "CONDSTORE"...)
	}
	if q := a.QResync; q != nil {
		if a.CondStore {
			b = append(b, ' ')
		}
		b = append(b, "QRESYNC ("...)
		b = appendUint(b, q.UIDValidity)
		b = appendUint(append(b, ' '), q.ModSeq)
		if !q.KnownUIDs.IsEmpty() {
			b = q.KnownUIDs.appendTo(append(b, ' '))
		}
		if !q.KnownSeqs.IsEmpty() {
			b = q.KnownSeqs.appendTo(append(b, " ("...))
			b = q.KnownSeqUIDs.appendTo(append(b, ' '))
			b = append(b, ')')
		}
		b = append(b, ')')
	}
	return append(b, ')')
}

// CreateCmd is CREATE mailbox [(USE (attrs))] (RFC 9051 §6.3.4, RFC 6154
// §3).
type CreateCmd struct {
	Mailbox    string
	SpecialUse []string // e.g. `\Drafts`, canonical case; nil when not given
}

// specialUse maps upper-cased special-use attributes (RFC 6154 §2) to
// their canonical spelling.
var specialUse = map[string]string{
	`\ALL`: `\All`, `\ARCHIVE`: `\Archive`, `\DRAFTS`: `\Drafts`, `\FLAGGED`: `\Flagged`,
	`\JUNK`: `\Junk`, `\SENT`: `\Sent`, `\TRASH`: `\Trash`, `\IMPORTANT`: `\Important`,
}

func parseCreate(r *Reader, _ *Command) Args {
	r.sp()
	a := &CreateCmd{Mailbox: r.mailbox()}
	if !r.maybe(' ') {
		return a
	}
	r.list(false, func() {
		if kw := r.keyword(); kw != "USE" {
			if r.ok() {
				r.fail("unknown CREATE parameter %s", kw)
			}
			return
		}
		r.sp()
		r.list(true, func() {
			r.expect('\\')
			attr := `\` + r.atom()
			if c, ok := specialUse[strings.ToUpper(attr)]; ok {
				attr = c
			}
			a.SpecialUse = append(a.SpecialUse, attr)
		})
	})
	return a
}

func (a *CreateCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	if a.SpecialUse != nil {
		b = append(b, " (USE "...)
		b = appendList(b, a.SpecialUse, appendRaw)
		b = append(b, ')')
	}
	return b
}

// StatusItem is a STATUS data item (RFC 9051 §6.3.11).
type StatusItem string

// Status items.
const (
	StatusMessages      StatusItem = "MESSAGES"
	StatusUIDNext       StatusItem = "UIDNEXT"
	StatusUIDValidity   StatusItem = "UIDVALIDITY"
	StatusUnseen        StatusItem = "UNSEEN"
	StatusDeleted       StatusItem = "DELETED"
	StatusSize          StatusItem = "SIZE"
	StatusRecent        StatusItem = "RECENT"        // IMAP4rev1 only
	StatusHighestModSeq StatusItem = "HIGHESTMODSEQ" // RFC 7162 §3.1.6
	StatusAppendLimit   StatusItem = "APPENDLIMIT"   // RFC 7889
	StatusMailboxID     StatusItem = "MAILBOXID"     // RFC 8474 §4
)

var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true, "DELETED": true,
	"SIZE": true, "RECENT": true, "HIGHESTMODSEQ": true, "APPENDLIMIT": true, "MAILBOXID": true,
}

// StatusCmd is STATUS mailbox (items) (RFC 9051 §6.3.11).
type StatusCmd struct {
	Mailbox string
	Items   []StatusItem
}

func parseStatus(r *Reader, _ *Command) Args {
	r.sp()
	a := &StatusCmd{Mailbox: r.mailbox()}
	r.sp()
	a.Items = r.statusItems()
	return a
}

// statusItems parses "(" status-att *(SP status-att) ")".
func (r *Reader) statusItems() []StatusItem {
	var items []StatusItem
	r.list(false, func() {
		kw := r.keyword()
		if r.ok() && !statusItems[kw] {
			r.fail("unknown STATUS item %s", kw)
		}
		items = append(items, StatusItem(kw))
	})
	return items
}

func appendStatusItem(b []byte, it StatusItem) []byte { return append(b, it...) }

func (a *StatusCmd) appendArgs(b []byte) []byte {
	b = AppendMailbox(append(b, ' '), a.Mailbox, false)
	return appendList(append(b, ' '), a.Items, appendStatusItem)
}

// ListCmd is LIST or LSUB (RFC 9051 §6.3.9, RFC 3501 §6.3.9), with the
// LIST-EXTENDED syntax (RFC 5258): selection options, several patterns and
// return options, including STATUS (RFC 5819) and SPECIAL-USE (RFC 6154).
type ListCmd struct {
	Reference string
	Patterns  []string // at least one; "%" and "*" are wildcards
	// Extended is set when the client used any LIST-EXTENDED syntax (a
	// selection option list, a pattern list or RETURN); the server then
	// answers in the extended form (CHILDINFO, \NonExistent, RFC 5258 §3).
	Extended bool
	Select   ListSelect
	Return   ListReturn
}

// ListSelect holds the selection options (RFC 5258 §3.1, RFC 6154 §5).
type ListSelect struct {
	Subscribed, Remote, RecursiveMatch, SpecialUse bool
}

// ListReturn holds the return options (RFC 5258 §3.2, RFC 5819, RFC 6154).
type ListReturn struct {
	Subscribed, Children, SpecialUse bool
	MyRights                         bool         // RFC 8440
	Status                           []StatusItem // nil unless STATUS was asked for
}

func parseList(r *Reader, c *Command) Args {
	lsub := c.Name == "LSUB"
	a := &ListCmd{}
	r.sp()
	if !lsub && r.peek() == '(' {
		a.Extended = true
		r.list(true, func() {
			switch kw := r.keyword(); kw {
			case "SUBSCRIBED":
				a.Select.Subscribed = true
			case "REMOTE":
				a.Select.Remote = true
			case "RECURSIVEMATCH":
				a.Select.RecursiveMatch = true
			case "SPECIAL-USE":
				a.Select.SpecialUse = true
			default:
				if r.ok() {
					r.fail("unknown LIST selection option %s", kw)
				}
			}
		})
		s := a.Select
		if s.RecursiveMatch && !s.Subscribed && !s.SpecialUse {
			// RFC 5258 §3.1: RECURSIVEMATCH needs another option.
			r.fail("RECURSIVEMATCH without another selection option")
		}
		r.sp()
	}
	a.Reference = r.mailbox()
	r.sp()
	if !lsub && r.peek() == '(' {
		a.Extended = true
		r.list(false, func() { a.Patterns = append(a.Patterns, r.listMailbox()) })
	} else {
		a.Patterns = []string{r.listMailbox()}
	}
	if lsub || !r.maybe(' ') {
		return a
	}
	a.Extended = true
	r.expectKeyword("RETURN")
	r.sp()
	r.list(true, func() {
		switch kw := r.keyword(); kw {
		case "SUBSCRIBED":
			a.Return.Subscribed = true
		case "CHILDREN":
			a.Return.Children = true
		case "SPECIAL-USE":
			a.Return.SpecialUse = true
		case "MYRIGHTS":
			a.Return.MyRights = true
		case "STATUS":
			if a.Return.Status != nil {
				r.fail("duplicate STATUS return option")
				return
			}
			r.sp()
			a.Return.Status = r.statusItems()
		default:
			if r.ok() {
				r.fail("unknown LIST return option %s", kw)
			}
		}
	})
	return a
}

func (a *ListCmd) appendArgs(b []byte) []byte {
	b = append(b, ' ')
	if a.Extended {
		var opts []string
		s := a.Select
		for _, o := range []struct {
			on   bool
			name string
		}{{s.Subscribed, "SUBSCRIBED"}, {s.Remote, "REMOTE"}, {s.RecursiveMatch, "RECURSIVEMATCH"}, {s.SpecialUse, "SPECIAL-USE"}} {
			if o.on {
				opts = append(opts, o.name)
			}
		}
		b = appendList(b, opts, appendRaw)
		b = append(b, ' ')
	}
	b = AppendMailbox(b, a.Reference, false)
	b = append(b, ' ')
	if len(a.Patterns) == 1 {
		b = appendMailboxPattern(b, a.Patterns[0], false)
	} else {
		b = appendList(b, a.Patterns, func(b []byte, p string) []byte { return appendMailboxPattern(b, p, false) })
	}
	if !a.Extended {
		return b
	}
	ret := a.Return
	var opts []string
	if ret.Subscribed {
		opts = append(opts, "SUBSCRIBED")
	}
	if ret.Children {
		opts = append(opts, "CHILDREN")
	}
	if ret.SpecialUse {
		opts = append(opts, "SPECIAL-USE")
	}
	if ret.MyRights {
		opts = append(opts, "MYRIGHTS")
	}
	if ret.Status != nil {
		opts = append(opts, "STATUS "+string(appendList(nil, ret.Status, appendStatusItem)))
	}
	if opts != nil {
		b = append(b, " RETURN "...)
		b = appendList(b, opts, appendRaw)
	}
	return b
}
