package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/store"
)

// DSN actions (RFC 3464 §2.3.3).
const (
	ActionFailed    = "failed"
	ActionDelayed   = "delayed"
	ActionDelivered = "delivered"
	ActionRelayed   = "relayed"
)

// DSN is a delivery status notification to build (RFC 3464).
type DSN struct {
	ReportingMTA string // our host name
	To           string // the original envelope sender, who gets the DSN
	EnvID        string // ORIGINAL-ENVELOPE-ID, decoded ("" = none)
	Arrival      time.Time
	Date         time.Time
	Recipients   []DSNRecipient
	// Ret is "HDRS" to return only the original header, "FULL" (or "")
	// for the whole message when a recipient failed; reports without a
	// failure always return the header only (RFC 3461 §4.3).
	Ret      string
	Original []byte
	// MaxReturn bounds the returned message; a longer one is returned as
	// its header. 0 means 10 MiB.
	MaxReturn int
	// MessageID and Boundary are generated when empty (tests set them).
	MessageID, Boundary string
}

// DSNRecipient is the outcome for one recipient.
type DSNRecipient struct {
	Addr   string
	ORcpt  string // "rfc822;addr" or ""
	Action string // Action*
	Status string // enhanced status code, e.g. "5.1.1"
	// Diagnostic is the remote server's reply ("550 5.1.1 no such user")
	// or our own explanation; it becomes Diagnostic-Code "smtp;" when it
	// starts with a reply code, "X-Roost;" otherwise.
	Diagnostic  string
	LastAttempt time.Time
}

// BuildDSN composes the multipart/report message (RFC 3464, RFC 6522).
// It is pure.
func BuildDSN(d DSN) []byte {
	if d.Boundary == "" {
		d.Boundary = "dsn-" + randHex(12)
	}
	if d.MessageID == "" {
		d.MessageID = randHex(16) + "@" + d.ReportingMTA
	}
	if d.MaxReturn <= 0 {
		d.MaxReturn = 10 << 20
	}
	failed, delayed := false, false
	for _, r := range d.Recipients {
		failed = failed || r.Action == ActionFailed
		delayed = delayed || r.Action == ActionDelayed
	}
	subject := "Delivery Status Notification (Success)"
	switch {
	case failed:
		subject = "Undelivered Mail Returned to Sender"
	case delayed:
		subject = "Delivery Status Notification (Delay)"
	}
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", d.ReportingMTA)
	w("To: <%s>", d.To)
	w("Subject: %s", subject)
	w("Date: %s", d.Date.Format(time.RFC1123Z))
	w("Message-ID: <%s>", d.MessageID)
	w("Auto-Submitted: auto-replied") // RFC 3834 §5
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", d.Boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", d.Boundary)
	w("Content-Type: text/plain; charset=us-ascii")
	w("")
	w("This is the mail system at host %s.", d.ReportingMTA)
	w("")
	for _, r := range d.Recipients {
		switch r.Action {
		case ActionFailed:
			w("Your message could not be delivered to <%s>:", clean(r.Addr))
		case ActionDelayed:
			w("Your message to <%s> is delayed; delivery is still being tried:", clean(r.Addr))
		case ActionDelivered:
			w("Your message was delivered to <%s>.", clean(r.Addr))
		case ActionRelayed:
			w("Your message to <%s> was passed to a server that sends no delivery reports.", clean(r.Addr))
		}
		if r.Diagnostic != "" && (r.Action == ActionFailed || r.Action == ActionDelayed) {
			w("    %s", clean(r.Diagnostic))
		}
		w("")
	}
	w("--%s", d.Boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", d.ReportingMTA)
	if d.EnvID != "" {
		w("Original-Envelope-Id: %s", smtp.EncodeXtext(d.EnvID))
	}
	if !d.Arrival.IsZero() {
		w("Arrival-Date: %s", d.Arrival.Format(time.RFC1123Z))
	}
	for _, r := range d.Recipients {
		w("")
		if r.ORcpt != "" {
			typ, addr, _ := strings.Cut(r.ORcpt, ";")
			w("Original-Recipient: %s;%s", clean(typ), smtp.EncodeXtext(addr))
		}
		w("Final-Recipient: rfc822; %s", clean(r.Addr))
		w("Action: %s", r.Action)
		status := r.Status
		if !smtp.IsEnhanced(status) {
			status = defaultStatus(r.Action)
		}
		w("Status: %s", status)
		if r.Diagnostic != "" {
			typ := "X-Roost"
			if len(r.Diagnostic) >= 3 && isDigits(r.Diagnostic[:3]) {
				typ = "smtp"
			}
			w("Diagnostic-Code: %s; %s", typ, clean(r.Diagnostic))
		}
		if !r.LastAttempt.IsZero() {
			w("Last-Attempt-Date: %s", r.LastAttempt.Format(time.RFC1123Z))
		}
	}
	w("")
	w("--%s", d.Boundary)
	hdr, _ := splitHeader(d.Original)
	if failed && d.Ret != "HDRS" && len(d.Original) <= d.MaxReturn {
		w("Content-Type: message/rfc822")
		if !isASCII(string(d.Original)) {
			w("Content-Transfer-Encoding: 8bit")
		}
		w("")
		b.Write(d.Original)
		if !bytes.HasSuffix(d.Original, []byte("\r\n")) {
			w("")
		}
	} else {
		w("Content-Type: text/rfc822-headers")
		if !isASCII(string(hdr)) {
			w("Content-Transfer-Encoding: 8bit")
		}
		w("")
		b.Write(hdr)
		if !bytes.HasSuffix(hdr, []byte("\r\n")) {
			w("")
		}
	}
	w("--%s--", d.Boundary)
	return b.Bytes()
}

func defaultStatus(action string) string {
	switch action {
	case ActionFailed:
		return "5.0.0"
	case ActionDelayed:
		return "4.0.0"
	}
	return "2.0.0"
}

// clean keeps a value on one printable line of bounded length.
func clean(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 900; i++ {
		c := s[i]
		if c < ' ' || c == 0x7f {
			c = ' '
		}
		b = append(b, c)
	}
	return string(b)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// statusOf takes the enhanced code out of a stored diagnostic
// ("550 5.1.1 …"), or derives one from its reply code.
func statusOf(diag string, action string) string {
	f := strings.Fields(diag)
	if len(f) >= 2 && smtp.IsEnhanced(f[1]) {
		return f[1]
	}
	if len(f) >= 1 && len(f[0]) == 3 && isDigits(f[0]) {
		return string(f[0][0]) + ".0.0"
	}
	return defaultStatus(action)
}

// report queues a DSN about m to its envelope sender. Nothing is sent for
// the null sender (a DSN about a DSN) or when no recipient asked.
func (q *Queue) report(ctx context.Context, m *store.QueuedMessage, rcpts []DSNRecipient, original []byte) error {
	if m.From == "" || len(rcpts) == 0 {
		return nil
	}
	now := q.now()
	msg := BuildDSN(DSN{ReportingMTA: q.o.Hostname, To: m.From, EnvID: m.EnvID, Arrival: m.Created,
		Date: now, Recipients: rcpts, Ret: m.Ret, Original: original})
	dm := store.QueuedMessage{Tenant: m.Tenant, From: "", Size: int64(len(msg)),
		Recipients: []store.QueueRecipient{{Addr: m.From, State: store.QueuePending}},
		Created:    now, NextAttempt: now, Expires: now.Add(q.o.Lifetime)}
	saved, err := q.o.Store.Enqueue(store.SystemContext(ctx), dm, bytes.NewReader(msg))
	if err != nil {
		return fmt.Errorf("enqueue dsn: %w", err)
	}
	q.log.Info("dsn queued", "id", saved.ID, "about", m.ID, "to", m.From, "rcpts", len(rcpts))
	q.kick()
	return nil
}
