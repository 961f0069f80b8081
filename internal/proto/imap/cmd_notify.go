package imap

import "strings"

// NOTIFY (RFC 5465 §8):
//
//	notify          = "NOTIFY" SP (notify-set / notify-none)
//	notify-set      = "SET" [status-indicator] SP event-groups
//	status-indicator = SP "STATUS"
//	event-group     = "(" filter-mailboxes SP events ")"
//	filter-mailboxes = "selected" / "selected-delayed" / "inboxes" /
//	                  "personal" / "subscribed" /
//	                  ("subtree" SP one-or-more-mailbox) /
//	                  ("mailboxes" SP one-or-more-mailbox)
//	events          = ("(" event *(SP event) ")") / "NONE"
//	message-event   = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
//	                  "MessageExpunge" / "FlagChange" / "AnnotationChange"

// NotifyCmd is NOTIFY NONE or NOTIFY SET [STATUS] groups.
type NotifyCmd struct {
	None   bool
	Status bool
	Groups []NotifyGroup
}

// NotifyGroup is one event group: a mailbox filter (lower case) with its
// mailboxes for "subtree" and "mailboxes", and its events (nil for NONE).
type NotifyGroup struct {
	Filter    string
	Mailboxes []string
	Events    []NotifyEvent
}

// NotifyEvent is an event name in the RFC's case ("MessageNew"; an
// unknown one as sent) with the fetch attributes of MessageNew.
type NotifyEvent struct {
	Name  string
	Fetch []FetchItem
}

// notifyEvents are the events RFC 5465 §5 defines, by upper-case name.
var notifyEvents = map[string]string{
	"MESSAGENEW": "MessageNew", "MESSAGEEXPUNGE": "MessageExpunge", "FLAGCHANGE": "FlagChange",
	"ANNOTATIONCHANGE": "AnnotationChange", "MAILBOXNAME": "MailboxName",
	"SUBSCRIPTIONCHANGE": "SubscriptionChange", "MAILBOXMETADATACHANGE": "MailboxMetadataChange",
	"SERVERMETADATACHANGE": "ServerMetadataChange",
}

func parseNotify(r *Reader, _ *Command) Args {
	r.sp()
	a := &NotifyCmd{}
	if r.maybeKeyword("NONE") {
		a.None = true
		return a
	}
	r.expectKeyword("SET")
	r.sp()
	if r.maybeKeyword("STATUS") {
		a.Status = true
		r.sp()
	}
	for r.ok() {
		a.Groups = append(a.Groups, r.notifyGroup())
		if !r.maybe(' ') {
			break
		}
	}
	return a
}

func (r *Reader) notifyGroup() NotifyGroup {
	var g NotifyGroup
	r.expect('(')
	g.Filter = strings.ToLower(r.atom())
	switch g.Filter {
	case "selected", "selected-delayed", "inboxes", "personal", "subscribed":
	case "subtree", "mailboxes":
		r.sp()
		if r.peek() == '(' {
			r.list(false, func() { g.Mailboxes = append(g.Mailboxes, r.mailbox()) })
		} else {
			g.Mailboxes = []string{r.mailbox()}
		}
	default:
		if r.ok() {
			r.fail("unknown NOTIFY filter %s", g.Filter)
		}
	}
	r.sp()
	if r.maybeKeyword("NONE") {
		r.expect(')')
		return g
	}
	r.list(false, func() {
		kw := r.keyword()
		ev := NotifyEvent{Name: notifyEvents[kw]}
		if ev.Name == "" {
			ev.Name = kw // an extension event: the server answers BADEVENT
		}
		if ev.Name == "MessageNew" && r.peek() == ' ' && r.pos+1 < len(r.line) && r.line[r.pos+1] == '(' {
			r.sp()
			r.list(false, func() { ev.Fetch = append(ev.Fetch, r.fetchItem()) })
		}
		g.Events = append(g.Events, ev)
	})
	r.expect(')')
	if r.ok() {
		if err := g.check(); err != "" {
			r.fail("%s", err)
		}
	}
	return g
}

// check applies RFC 5465 §5: MessageNew and MessageExpunge go together
// for the selected mailbox,
// FlagChange and AnnotationChange need them, and fetch attributes are for
// the selected mailbox only.
func (g *NotifyGroup) check() string {
	has := map[string]bool{}
	for _, e := range g.Events {
		if has[e.Name] {
			return "duplicate NOTIFY event " + e.Name
		}
		has[e.Name] = true
		if len(e.Fetch) > 0 && g.Filter != "selected" && g.Filter != "selected-delayed" {
			return "MessageNew fetch attributes are for the selected mailbox only"
		}
	}
	// Only for the selected mailbox do the two go together: there they
	// change sequence numbers. RFC 5465 §3.1's own example (errata 1804)
	// watches a subtree with MessageNew alone.
	selected := g.Filter == "selected" || g.Filter == "selected-delayed"
	if selected && has["MessageNew"] != has["MessageExpunge"] {
		return "MessageNew and MessageExpunge must be given together for the selected mailbox"
	}
	if selected && (has["FlagChange"] || has["AnnotationChange"]) && !has["MessageNew"] {
		return "FlagChange and AnnotationChange need MessageNew and MessageExpunge"
	}
	return ""
}

func (a *NotifyCmd) appendArgs(b []byte) []byte {
	if a.None {
		return append(b, " NONE"...)
	}
	b = append(b, " SET"...)
	if a.Status {
		b = append(b, " STATUS"...)
	}
	for _, g := range a.Groups {
		b = append(append(b, " ("...), g.Filter...)
		if g.Filter == "subtree" || g.Filter == "mailboxes" {
			b = appendList(append(b, ' '), g.Mailboxes, func(b []byte, m string) []byte { return AppendMailbox(b, m, false) })
		}
		if g.Events == nil {
			b = append(b, " NONE"...)
		} else {
			b = appendList(append(b, ' '), g.Events, func(b []byte, e NotifyEvent) []byte {
				b = append(b, e.Name...)
				if len(e.Fetch) > 0 {
					b = appendList(append(b, ' '), e.Fetch, func(b []byte, it FetchItem) []byte { return it.appendTo(b, true) })
				}
				return b
			})
		}
		b = append(b, ')')
	}
	return b
}
