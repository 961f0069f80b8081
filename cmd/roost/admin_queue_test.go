package main

import (
	"context"
	"os"

	"fmt"
	"github.com/roost-mail/roost/internal/mail"
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

func TestAdminUserOOF(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("user", "create", "alice", "--email", "alice@acme.test", "--tenant", "acme")
	wantLine(t, e.ok("user", "oof", "alice"), "Out of office", "off")
	e.fails(1, "needs a message", "user", "oof", "alice", "--on")
	msgFile := e.dir + "/oof.txt"
	if err := os.WriteFile(msgFile, []byte("I am away until Monday.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.ok("user", "oof", "alice", "--on", "--subject", "Away", "--message-file", msgFile, "--until", "2030-01-02")
	wantLine(t, out, "Out of office", "on")
	wantLine(t, out, "Subject", "Away")
	wantLine(t, out, "Until", "2030-01-02 00:00")
	if !strings.Contains(out, "I am away until Monday.") {
		t.Fatalf("oof show:\n%s", out)
	}
	// The setting is what delivery reads.
	o, err := mail.GetOOF(sysCtx, e.db, "alice")
	if err != nil || !o.Enabled || o.Subject != "Away" || o.Message != "I am away until Monday.\n" || o.Until.IsZero() {
		t.Fatalf("stored OOF %+v, %v", o, err)
	}
	out = e.okIn("Back soon.", "user", "oof", "alice", "--message-file", "-", "--until", "")
	if !strings.Contains(out, "Back soon.") || strings.Contains(out, "Until") {
		t.Fatalf("oof from stdin:\n%s", out)
	}
	wantLine(t, e.ok("user", "oof", "alice", "--off"), "Out of office", "off")
	e.fails(2, "exclude each other", "user", "oof", "alice", "--on", "--off")
	e.fails(2, "want YYYY-MM-DD", "user", "oof", "alice", "--from", "next week")
	e.fails(1, "not found", "user", "oof", "nobody", "--off")
}

// roost deliver runs the delivery pipeline: a Sieve reject is exit 77
// (EX_NOPERM, the MTA bounces), a discard is a completed delivery.
func TestAdminDeliverSieve(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("domain", "add", "acme.test", "--tenant", "acme")
	e.ok("user", "create", "alice", "--email", "alice@acme.test", "--tenant", "acme")
	sc := &mail.Scripts{Store: e.db}
	p, err := e.db.Principal(sysCtx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ctx := store.WithPrincipal(context.Background(), p)
	script := `require ["reject"]; if header :contains "subject" "spam" { reject "not wanted"; } elsif header :contains "subject" "drop" { discard; }`
	if err := sc.Put(ctx, "alice", "main", []byte(script)); err != nil {
		t.Fatal(err)
	}
	if err := sc.SetActive(ctx, "alice", "main"); err != nil {
		t.Fatal(err)
	}
	wantFail(t, e.run("From: x@example.test\r\nSubject: spam offer\r\n\r\nhi\r\n", "deliver", "alice@acme.test", "--from", "x@example.test"),
		77, "not wanted", nil)
	if out := e.okIn("From: x@example.test\r\nSubject: drop me\r\n\r\nhi\r\n", "deliver", "alice@acme.test"); !strings.Contains(out, "discarded or redirected") {
		t.Fatalf("discard: %q", out)
	}
	if out := e.okIn("From: x@example.test\r\nSubject: hello\r\n\r\nhi\r\n", "deliver", "alice@acme.test"); out != "delivered to alice, UID 1\n" {
		t.Fatalf("plain: %q", out)
	}
}
