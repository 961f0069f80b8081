package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/store"
)

func TestAdminQueue(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "ann", "--email", "ann@acme.test", "--admin", "1", "--tenant", "acme")
	m, err := e.db.Enqueue(sysCtx, store.QueuedMessage{Tenant: "acme", Sender: "ann", From: "ann@acme.test",
		Recipients: []store.QueueRecipient{{Addr: "x@remote.test"}, {Addr: "y@remote.test", State: store.QueueFailed, Error: "550 5.1.1 no such user"}}},
		strings.NewReader("Subject: hi\r\n\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.db.Enqueue(sysCtx, store.QueuedMessage{Tenant: "globex", From: "",
		Recipients: []store.QueueRecipient{{Addr: "z@remote.test"}}}, strings.NewReader("bounce"))
	if err != nil {
		t.Fatal(err)
	}
	out := e.ok("queue", "list")
	if !strings.Contains(out, "ann@acme.test") || !strings.Contains(out, "1/2") || !strings.Contains(out, "<>") {
		t.Fatalf("queue list:\n%s", out)
	}
	id := fmt.Sprint(m.ID)
	out = e.ok("queue", "show", id)
	wantLine(t, out, "Envelope from", "ann@acme.test")
	wantLine(t, out, "Sender", "ann")
	if !strings.Contains(out, "y@remote.test") || !strings.Contains(out, "550 5.1.1 no such user") {
		t.Fatalf("queue show:\n%s", out)
	}
	var shown []queueView
	e.okJSON(&shown, "queue", "list")
	if len(shown) != 2 || shown[0].Recipients[1].State != "failed" {
		t.Fatalf("--json queue list: %+v", shown)
	}
	if out := e.ok("queue", "retry", id); !strings.Contains(out, "tried again") {
		t.Fatalf("retry: %q", out)
	}
	// A tenant admin sees and manages its tenant's messages only.
	annDir := e.serveAs("ann")
	r := runIn(annDir, "", "queue", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "ann@acme.test") || strings.Contains(r.stdout, "<>") {
		t.Fatalf("tenant admin's queue list: %+v", r)
	}
	wantFail(t, runIn(annDir, "", "queue", "delete", fmt.Sprint(other.ID)), 1, "not found", nil)
	e.fails(2, "not a number", "queue", "show", "abc")
	e.fails(1, "not found", "queue", "show", "999999")
	e.ok("queue", "delete", id)
	e.fails(1, "not found", "queue", "show", id)
}
