package postfixtest_test

import (
	"net/smtp"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/postfixtest"
)

// TestSink: mail for any domain lands in the sink with its envelope
// (several recipients, the null sender) and the message byte for byte
// below Postfix's Received line.
func TestSink(t *testing.T) {
	t.Parallel()
	p := postfixtest.Start(t, postfixtest.Config{Sink: true, Hostname: "sink.test"})
	msg := "From: <a@one.test>\r\nTo: <b@two.test>\r\nSubject: sink\r\nDate: Thu, 01 Jan 2026 12:00:00 +0000\r\nMessage-ID: <sink@one.test>\r\n\r\n.leading dot\r\nGrüße\r\n"
	if err := smtp.SendMail(p.Addr, nil, "a@one.test", []string{"b@two.test", "c@two.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := smtp.SendMail(p.Addr, nil, "", []string{"d@three.test"}, []byte("Subject: bounce-like\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	ms := p.Wait(t, "both messages", func(ms []postfixtest.Message) bool { return len(ms) == 2 })
	var got, null *postfixtest.Message
	for i := range ms {
		switch ms[i].From {
		case "a@one.test":
			got = &ms[i]
		case "":
			null = &ms[i]
		}
	}
	if got == nil || null == nil {
		t.Fatalf("envelopes: %+v", ms)
	}
	if strings.Join(got.To, ",") != "b@two.test,c@two.test" || strings.Join(null.To, ",") != "d@three.test" {
		t.Fatalf("recipients: %v %v", got.To, null.To)
	}
	if !strings.HasPrefix(got.Data, "Received: from ") || !strings.Contains(got.Data, "by sink.test") {
		t.Fatalf("no Received line from Postfix:\n%s", got.Data)
	}
	if _, body, _ := strings.Cut(got.Data, "\r\nFrom: "); "From: "+body != msg {
		t.Fatalf("message changed:\n%q\nwant\n%q", "From: "+body, msg)
	}
	p.WaitLog(t, "to=<d@three.test>", "relay=sink", "status=sent")
	if empty, list, err := p.QueueEmpty(); err != nil || !empty {
		t.Fatalf("queue not empty: %v\n%s", err, list)
	}
}
