package mime

// Env is the IMAP ENVELOPE of a message (RFC 9051 §7.5.2). Strings are
// raw header values (unfolded, encoded words kept); "" stands for NIL, as
// does an empty address list.
type Env struct {
	Date    string
	Subject string
	From    []Address
	// Sender and ReplyTo equal From when their fields are absent or
	// empty, as RFC 9051 §7.5.2 requires.
	Sender  []Address
	ReplyTo []Address
	To      []Address
	Cc      []Address
	Bcc     []Address

	InReplyTo string
	MessageID string
}

// Envelope returns the envelope of message m: the root from Parse or the
// Message of a message/rfc822 part. The first occurrence of each field
// counts.
func Envelope(m *Part) *Env {
	h := &m.Header
	e := &Env{
		Date:      h.Get("Date"),
		Subject:   h.Get("Subject"),
		From:      ParseAddressList(h.Get("From")),
		Sender:    ParseAddressList(h.Get("Sender")),
		ReplyTo:   ParseAddressList(h.Get("Reply-To")),
		To:        ParseAddressList(h.Get("To")),
		Cc:        ParseAddressList(h.Get("Cc")),
		Bcc:       ParseAddressList(h.Get("Bcc")),
		InReplyTo: h.Get("In-Reply-To"),
		MessageID: h.Get("Message-ID"),
	}
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// List returns the envelope as an IMAP value tree (see AppendValue):
// (date subject from sender reply-to to cc bcc in-reply-to message-id).
func (e *Env) List() []any {
	if e == nil {
		return []any{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
	}
	return []any{
		nstring(e.Date), nstring(e.Subject),
		AddressList(e.From), AddressList(e.Sender), AddressList(e.ReplyTo),
		AddressList(e.To), AddressList(e.Cc), AddressList(e.Bcc),
		nstring(e.InReplyTo), nstring(e.MessageID),
	}
}

// AddressList returns an address list as an IMAP value: nil (NIL) when
// empty, else a list of (name adl mailbox host) lists written back to
// back, as RFC 9051 "1*address" wants.
func AddressList(as []Address) any {
	if len(as) == 0 {
		return nil
	}
	adj := make(Adjacent, 0, len(as))
	for _, a := range as {
		switch a.Kind {
		case AddrGroupStart:
			adj = append(adj, []any{nil, nil, a.Mailbox, nil})
		case AddrGroupEnd:
			adj = append(adj, []any{nil, nil, nil, nil})
		default:
			adj = append(adj, []any{nstring(a.Name), nstring(a.Adl), a.Mailbox, a.Host})
		}
	}
	return []any{adj}
}

// nstring maps "" to NIL.
func nstring(s string) any {
	if s == "" {
		return nil
	}
	return s
}
