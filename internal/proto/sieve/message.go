package sieve

// Message is what a script may look at, implemented by the caller so the
// package stays pure.
type Message interface {
	// Header returns the values of every field named name (compared
	// case-insensitively), in order, unfolded and with RFC 2047 encoded
	// words decoded; nil when there is none.
	Header(name string) []string
	// EnvelopeFrom is the SMTP reverse-path without angle brackets; ""
	// for the null sender.
	EnvelopeFrom() string
	// EnvelopeTo is the recipient this delivery is for (RFC 5228 §5.4).
	EnvelopeTo() string
	// Size is the message size in octets (RFC 5228 §5.9).
	Size() int64
	// RawBody is the body after the header, undecoded (RFC 5173 :raw).
	RawBody() string
	// BodyParts are the MIME parts with their content decoded to UTF-8
	// (RFC 5173 :content and :text). A multipart part may be listed with
	// its preamble and epilogue as Text.
	BodyParts() []BodyPart
}

// BodyPart is one MIME part for the body test.
type BodyPart struct {
	// ContentType is "type/subtype", lower case, without parameters.
	ContentType string
	Text        string
}

// MailboxChecker is an optional interface a Message may implement to
// answer the mailboxexists test (RFC 5490 §3.1). Without it the test is
// false.
type MailboxChecker interface {
	MailboxExists(name string) bool
}
