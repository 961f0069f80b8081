package queue

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/proto/mime"
)

func TestBuildDSN(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	orig := []byte("From: <a@acme.test>\r\nSubject: hi\r\n\r\nbody text\r\n")
	base := DSN{ReportingMTA: "mx.acme.test", To: "a@acme.test", Arrival: at, Date: at, Original: orig,
		MessageID: "id@mx", Boundary: "BOUND"}
	for _, c := range []struct {
		name    string
		mod     func(*DSN)
		want    []string
		notWant []string
		third   string // media type of the third part
	}{
		{name: "failure returns full message", mod: func(d *DSN) {
			d.EnvID = "E 1"
			d.Recipients = []DSNRecipient{{Addr: "x@r.test", ORcpt: "rfc822;X@r.test", Action: ActionFailed, Status: "5.1.1",
				Diagnostic: "550 5.1.1 unknown", LastAttempt: at}}
		}, want: []string{
			"Subject: Undelivered Mail Returned to Sender", "From: Mail Delivery System <MAILER-DAEMON@mx.acme.test>",
			"To: <a@acme.test>", "Auto-Submitted: auto-replied", "report-type=delivery-status",
			"Reporting-MTA: dns; mx.acme.test\r\nOriginal-Envelope-Id: E+201\r\nArrival-Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n\r\n",
			"Original-Recipient: rfc822;X@r.test\r\nFinal-Recipient: rfc822; x@r.test\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
				"Diagnostic-Code: smtp; 550 5.1.1 unknown\r\nLast-Attempt-Date: Fri, 02 Jan 2026 03:04:05 +0000\r\n",
			"body text",
		}, third: "message/rfc822"},
		{name: "RET=HDRS", mod: func(d *DSN) {
			d.Ret = "HDRS"
			d.Recipients = []DSNRecipient{{Addr: "x@r.test", Action: ActionFailed, Diagnostic: "connection refused"}}
		}, want: []string{"Status: 5.0.0", "Diagnostic-Code: X-Roost; connection refused", "Subject: hi"},
			notWant: []string{"body text", "Original-Envelope-Id"}, third: "text/rfc822-headers"},
		{name: "success returns headers only", mod: func(d *DSN) {
			d.Recipients = []DSNRecipient{{Addr: "x@r.test", Action: ActionDelivered, Status: "2.0.0"}}
		}, want: []string{"Subject: Delivery Status Notification (Success)", "Action: delivered", "Status: 2.0.0"},
			notWant: []string{"body text", "Diagnostic-Code"}, third: "text/rfc822-headers"},
		{name: "too big returns headers", mod: func(d *DSN) {
			d.MaxReturn = 10
			d.Recipients = []DSNRecipient{{Addr: "x@r.test", Action: ActionFailed, Status: "4.4.7", Diagnostic: "delivery time expired"}}
		}, want: []string{"Status: 4.4.7"}, notWant: []string{"body text"}, third: "text/rfc822-headers"},
		{name: "header injection", mod: func(d *DSN) {
			d.Recipients = []DSNRecipient{{Addr: "x@r.test", Action: ActionFailed, Diagnostic: "550 no\r\nBcc: evil@x"}}
		}, want: []string{"Diagnostic-Code: smtp; 550 no  Bcc: evil@x"}, notWant: []string{"\r\nBcc:"}, third: "message/rfc822"},
	} {
		d := base
		c.mod(&d)
		out := BuildDSN(d)
		s := string(out)
		for _, w := range c.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: lacks %q:\n%s", c.name, w, s)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(s, w) {
				t.Errorf("%s: has %q:\n%s", c.name, w, s)
			}
		}
		// The structure parses as RFC 3464 says: report, then status, then
		// the original.
		root, err := mime.Parse(out, mime.Limits{})
		if err != nil || root.MediaType+"/"+root.SubType != "multipart/report" || len(root.Children) != 3 {
			t.Fatalf("%s: structure %v %v", c.name, root, err)
		}
		kids := root.Children
		if kids[0].SubType != "plain" || kids[1].MediaType+"/"+kids[1].SubType != "message/delivery-status" ||
			kids[2].MediaType+"/"+kids[2].SubType != c.third {
			t.Errorf("%s: parts %s/%s %s/%s %s/%s", c.name, kids[0].MediaType, kids[0].SubType, kids[1].MediaType, kids[1].SubType, kids[2].MediaType, kids[2].SubType)
		}
		b, _ := io.ReadAll(kids[1].DecodedBody(bytes.NewReader(out)))
		if !strings.HasPrefix(string(b), "Reporting-MTA:") {
			t.Errorf("%s: status part %q", c.name, b)
		}
		for _, line := range strings.Split(s, "\r\n") {
			if len(line) > 998 {
				t.Errorf("%s: line of %d octets", c.name, len(line))
			}
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct{ diag, action, want string }{
		{"550 5.1.1 no", ActionFailed, "5.1.1"},
		{"554 rejected", ActionFailed, "5.0.0"},
		{"connection refused", ActionFailed, "5.0.0"},
		{"452 4.2.2 full", ActionDelayed, "4.2.2"},
	} {
		if got := statusOf(c.diag, c.action); got != c.want {
			t.Errorf("statusOf(%q) = %q, want %q", c.diag, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	q := New(Options{})
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute, 4 * time.Hour, 4 * time.Hour}
	for i, w := range want {
		if got := q.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := q.backoff(1000); got != 4*time.Hour {
		t.Errorf("backoff(1000) = %v", got)
	}
}
