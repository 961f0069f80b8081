package smtpserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
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
}
