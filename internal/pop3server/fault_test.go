package pop3server_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// Store and directory failures are -ERR [SYS/TEMP] and logged, never a
// wrong password (issue 9.15); store calls run under a context with a
// deadline that the server's Close cancels (issue 9.19).

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

func faultStart(t *testing.T) (*env, *storefault.Backend, *logBuf) {
	var f *storefault.Backend
	logs := &logBuf{}
	e := start(t, true, func(o *pop3server.Options) {
		f = storefault.New(o.Store.(store.Backend))
		o.Store = f
		o.Authenticate = f.Authenticate("pop3")
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return e, f, logs
}

func TestFaultLogin(t *testing.T) {
	e, f, logs := faultStart(t)
	c := dial(t, e.addr)
	f.Fail(nil, "GetUser")
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
		t.Errorf("PASS with a failing directory: %q, want -ERR [SYS/TEMP]", l)
	}
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the directory failure is not in the log:\n%s", logs.String())
	}
	f.Heal()
	c.cmd("USER alice")
	if l := c.cmd("PASS wrong"); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("wrong password: %q", l)
	}
	c.cmd("USER nopop")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("POP3 disabled: %q", l)
	}
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Errorf("after healing: %q", l)
	}
}

func TestFaultRetr(t *testing.T) {
	e, f, logs := faultStart(t)
	e.add(t, "Subject: one\r\n\r\nbody\r\n")
	c := dial(t, e.addr)
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	f.Fail(nil, "OpenItem")
	if l := c.cmd("RETR 1"); !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
		t.Errorf("RETR with a failing store: %q", l)
	}
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the store failure is not in the log:\n%s", logs.String())
	}
}

// A store call runs with a deadline, and closing the server cancels it.
// (Reading a message for RETR is bounded per read instead:
// TestRetrStalledStore.)
func TestStoreCallContext(t *testing.T) {
	e, f, _ := faultStart(t)
	e.add(t, "Subject: one\r\n\r\nbody\r\n")
	c := dial(t, e.addr)
	c.cmd("USER alice")
	entered := make(chan bool, 1) // whether the call has a deadline
	release := make(chan struct{})
	cancelled := make(chan bool, 1)
	f.SetHook(func(ctx context.Context, method string) error {
		if method != "ListItems" {
			return nil
		}
		_, ok := ctx.Deadline()
		entered <- ok
		select {
		case <-ctx.Done():
			cancelled <- true
		case <-release:
			cancelled <- false
		}
		return ctx.Err()
	})
	c.c.Write([]byte("PASS secret\r\n")) // opens the maildrop: ListItems
	if !<-entered {
		t.Error("the store call has no deadline")
	}
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

// A panic in a session is logged with its stack, and the server lives on.
func TestPanicLogsStack(t *testing.T) {
	e, f, logs := faultStart(t)
	f.SetHook(func(_ context.Context, method string) error {
		if method == "GetUser" {
			panic("injected panic")
		}
		return nil
	})
	c := dial(t, e.addr)
	c.cmd("USER alice")
	c.c.Write([]byte("PASS secret\r\n"))
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.r.ReadString('\n') // the connection ends
	f.SetHook(nil)
	dial(t, e.addr).cmd("NOOP")
	if s := logs.String(); !strings.Contains(s, "injected panic") || !strings.Contains(s, "goroutine") {
		t.Errorf("the panic is not logged with its stack:\n%s", s)
	}
}
