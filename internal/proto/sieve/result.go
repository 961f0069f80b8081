package sieve

import "time"

// Action is one action a script asks for. The concrete types are Keep,
// Discard, FileInto, Redirect, Reject and Vacation.
type Action interface{ action() }

// Keep files the message into the user's default mailbox (RFC 5228 §4.3).
// Implicit is true for the implicit keep (RFC 5228 §2.10.2). Flags are
// the IMAP flags to set (RFC 5232); nil when imap4flags is not in use.
type Keep struct {
	Flags    []string
	Implicit bool
}

// Discard silently drops the message (RFC 5228 §4.4).
type Discard struct{}

// FileInto files the message into Mailbox (RFC 5228 §4.1). Create asks to
// create a missing mailbox (RFC 5490 §3.2).
type FileInto struct {
	Mailbox string
	Copy    bool
	Flags   []string
	Create  bool
}

// Redirect sends the message on to Address (RFC 5228 §4.2).
type Redirect struct {
	Address string
	Copy    bool
}

// Reject refuses the message with Reason (RFC 5429): at SMTP/LMTP time
// when possible, else by an MDN. Extended is true for ereject, which must
// refuse in protocol when it can.
type Reject struct {
	Reason   string
	Extended bool
}

// Vacation asks for an automatic reply (RFC 5230). The caller keeps the
// response history keyed by Handle and sender, and applies the RFC 5230
// §4.5 rules about whom never to answer.
type Vacation struct {
	// Period is how long to wait before answering the same sender again;
	// PeriodSet is false when neither :days nor :seconds was given, and
	// the caller uses its default (RFC 5230 §4.1 suggests 7 days).
	Period    time.Duration
	PeriodSet bool
	Subject   string
	From      string
	Addresses []string
	// Mime means Reason is a whole MIME entity, header included.
	Mime   bool
	Handle string
	Reason string
}

func (Keep) action()     {}
func (Discard) action()  {}
func (FileInto) action() {}
func (Redirect) action() {}
func (Reject) action()   {}
func (Vacation) action() {}

// Result is what a script run decided. When the implicit keep applies,
// Actions ends with a Keep whose Implicit is true, so the caller can carry
// out Actions in order and need look at nothing else.
type Result struct {
	Actions      []Action
	ImplicitKeep bool
	// Flags is the final value of the imap4flags internal variable.
	Flags []string
}
