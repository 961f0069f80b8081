package smtpserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// Store and directory failures reach the client as a 4xx and the log,
// never as "credentials invalid" or "no such user" (issue 9.15).

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestFaultSubmissionAuth(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	logs := &logBuf{}
	e := startSubmission(t, func(so *smtpserver.SubmissionOptions, qo *queue.Options) {
		f = storefault.New(qo.Store)
		qo.Store = f
		so.Authenticate = f.Authenticate("")
		so.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	s := subDial(t, e.tlsAddr, true)
	s.cmd("EHLO client.test", "250 ")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + subPassword("alice")))
	f.Fail(nil, "GetUser")
	s.cmd("AUTH PLAIN "+plain, "454 4.7.0")
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the directory failure is not in the log:\n%s", logs.String())
	}
	f.Heal()
	s.cmd("AUTH PLAIN "+plain, "235 ")
	f.SetHook(func(context.Context, string) error { return storefault.ErrInjected })
	s.cmd("MAIL FROM:<alice@acme.test>", "4")
	f.SetHook(nil)
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	f.SetHook(func(context.Context, string) error { return storefault.ErrInjected })
	s.cmd("RCPT TO:<bob@acme.test>", "4")
}

func TestFaultLMTPDelivery(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := start(t, 2, func(o *smtpserver.Options) {
		f = storefault.New(o.Store)
		o.Store = f
	})
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	f.Fail(nil, "Recipients")
	c.cmd("RCPT TO:<alice@acme.test>", "451 ")
	f.Heal()
	c.cmd("RCPT TO:<alice@acme.test>", "250 ")
	c.cmd("RCPT TO:<bob@acme.test>", "250 ")
	c.cmd("DATA", "354 ")
	f.Fail(nil, "AppendItem")
	c.send("Subject: hi\r\n\r\nbody\r\n.")
	c.expect("451 ")
	c.expect("451 ")
	if n := inboxCount(t, e.db, "alice"); n != 0 {
		t.Errorf("alice has %d messages after a failed delivery", n)
	}
	// A group's contacts unreadable: a temporary failure, not "no such
	// user" (a group of contacts only has no users to fall back on).
	f.Heal()
	if _, err := e.db.CreateContact(sys, "acme", store.Contact{Email: "ann@partner.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateGroup(sys, "acme", store.Group{Name: "outside", Email: "outside@acme.test"}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddGroupContact(sys, "acme", "outside", "ann@partner.example"); err != nil {
		t.Fatal(err)
	}
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	f.Fail(nil, "RecipientContacts")
	c.cmd("RCPT TO:<outside@acme.test>", "451 ")
	f.Heal()
	c.cmd("RCPT TO:<outside@acme.test>", "250 ")
}

// LMTP store calls run under a context with a deadline that the server's
// Close cancels (issue 9.19).
func TestLMTPStoreCallContext(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	e := start(t, 1, func(o *smtpserver.Options) {
		f = storefault.New(o.Store)
		o.Store = f
	})
	deadlines := map[string]bool{}
	var mu sync.Mutex
	f.SetHook(func(ctx context.Context, method string) error {
		_, ok := ctx.Deadline()
		mu.Lock()
		deadlines[method] = ok
		mu.Unlock()
		return nil
	})
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	c.cmd("RCPT TO:<alice@acme.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.send("Subject: hi\r\n\r\nbody\r\n.")
	c.expect("250 ")
	mu.Lock()
	for _, m := range []string{"Recipients", "AppendItem"} {
		if !deadlines[m] {
			t.Errorf("%s ran without a deadline (calls: %v)", m, deadlines)
		}
	}
	mu.Unlock()

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	cancelled := make(chan bool, 1)
	f.SetHook(func(ctx context.Context, method string) error {
		if method != "Recipients" {
			return nil
		}
		entered <- struct{}{}
		select {
		case <-ctx.Done():
			cancelled <- true
		case <-release:
			cancelled <- false
		}
		return ctx.Err()
	})
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	c.send("RCPT TO:<alice@acme.test>")
	<-entered
	closed := make(chan struct{})
	go func() { e.srv.Close(); close(closed) }()
	// Safety net only: without the fix the call would block forever.
	timer := time.AfterFunc(10*time.Second, func() { close(release) })
	defer timer.Stop()
	if !<-cancelled {
		t.Error("closing the server did not cancel the store call's context")
	}
	<-closed
}

// A panic in an LMTP session is logged with its stack.
func TestLMTPPanicLogsStack(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	logs := &logBuf{}
	e := start(t, 1, func(o *smtpserver.Options) {
		f = storefault.New(o.Store)
		o.Store = f
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	f.SetHook(func(_ context.Context, method string) error {
		if method == "Recipients" {
			panic("injected panic")
		}
		return nil
	})
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<x@example.test>", "250 ")
	c.send("RCPT TO:<alice@acme.test>")
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.r.ReadString('\n') // the connection ends
	if s := logs.String(); !strings.Contains(s, "injected panic") || !strings.Contains(s, "goroutine") {
		t.Errorf("the panic is not logged with its stack:\n%s", s)
	}
}
