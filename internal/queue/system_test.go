package queue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

// Send (automatic replies, redirects, iMIP) puts every recipient in the
// queue, local ones too, and the spooler delivers them; the null sender
// is kept.
func TestSystemSend(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	e := mxEnv(t, s, nil)
	msg := "From: alice@acme.test\r\nTo: bob@acme.test, x@remote.test\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n"
	if err := e.q.Send(context.Background(), "", []string{"bob@acme.test", "x@remote.test", "BOB@acme.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if e.queueLen() != 1 {
		t.Fatalf("queue has %d messages, want 1", e.queueLen())
	}
	if in := e.folder("bob", store.SpecialInbox); len(in) != 0 {
		t.Fatal("Send delivered locally before the spooler ran")
	}
	e.runDue()
	if e.queueLen() != 0 {
		t.Fatal("not delivered")
	}
	if in := e.folder("bob", store.SpecialInbox); len(in) != 1 || !strings.Contains(in[0], "Subject: Out of office") {
		t.Fatalf("bob's inbox %q", in)
	}
	txns := s.transactions()
	if len(txns) != 1 || len(txns[0].Rcpts) != 1 || txns[0].From != "" {
		t.Fatalf("remote transactions %+v", txns)
	}
	if err := e.q.Send(context.Background(), "a@acme.test", nil, []byte(msg)); err == nil {
		t.Fatal("Send without recipients succeeded")
	}
}
