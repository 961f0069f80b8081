package sieve

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
)

// testMsg is a Message built from raw RFC 5322 text.
type testMsg struct {
	hdr      mail.Header
	body     string
	from, to string
	size     int64
	parts    []BodyPart
}

func newMsg(t testing.TB, raw string) *testMsg {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\n", "\r\n")
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("test message: %v", err)
	}
	b, _ := io.ReadAll(m.Body)
	tm := &testMsg{hdr: m.Header, body: string(b), size: int64(len(raw)),
		from: "sender@example.org", to: "rcpt@example.com"}
	ct := m.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, _, _ := mime.ParseMediaType(ct)
	tm.parts = []BodyPart{{ContentType: mt, Text: string(b)}}
	return tm
}

func (m *testMsg) Header(name string) []string {
	vs := m.hdr[textproto.CanonicalMIMEHeaderKey(name)]
	dec := new(mime.WordDecoder)
	out := make([]string, len(vs))
	for i, v := range vs {
		if d, err := dec.DecodeHeader(v); err == nil {
			v = d
		}
		out[i] = v
	}
	return out
}
func (m *testMsg) EnvelopeFrom() string  { return m.from }
func (m *testMsg) EnvelopeTo() string    { return m.to }
func (m *testMsg) Size() int64           { return m.size }
func (m *testMsg) RawBody() string       { return m.body }
func (m *testMsg) BodyParts() []BodyPart { return m.parts }

// summary renders actions compactly for table tests.
func summary(r *Result) string {
	var parts []string
	for _, a := range r.Actions {
		var b bytes.Buffer
		switch a := a.(type) {
		case Keep:
			if a.Implicit {
				b.WriteString("implicit ")
			}
			b.WriteString("keep")
			if len(a.Flags) > 0 {
				fmt.Fprintf(&b, " %v", a.Flags)
			}
		case Discard:
			b.WriteString("discard")
		case FileInto:
			fmt.Fprintf(&b, "fileinto %s", a.Mailbox)
			if a.Copy {
				b.WriteString(" copy")
			}
			if a.Create {
				b.WriteString(" create")
			}
			if len(a.Flags) > 0 {
				fmt.Fprintf(&b, " %v", a.Flags)
			}
		case Redirect:
			fmt.Fprintf(&b, "redirect %s", a.Address)
			if a.Copy {
				b.WriteString(" copy")
			}
		case Reject:
			if a.Extended {
				b.WriteString("e")
			}
			fmt.Fprintf(&b, "reject %s", a.Reason)
		case Vacation:
			fmt.Fprintf(&b, "vacation %q", a.Reason)
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "; ")
}

type boxMsg struct {
	*testMsg
	boxes map[string]bool
}

func (m boxMsg) MailboxExists(name string) bool { return m.boxes[name] }
