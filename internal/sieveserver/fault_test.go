package sieveserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// Store and directory failures are NO (TRYLATER) and logged, never
// "authentication failed" or "no such script" (issue 9.15).

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

func TestFaultLoginAndScripts(t *testing.T) {
	t.Parallel()
	var f *storefault.Backend
	logs := &logBuf{}
	e := newEnv(t, func(o *sieveserver.Options) {
		f = storefault.New(o.Store.(store.Backend))
		o.Store = f
		o.Authenticate = f.Authenticate("")
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
		o.AllowPlaintextAuth = true
	})
	c := e.dial()
	f.Fail(nil, "GetUser")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + password("alice")))
	c.cmd(`AUTHENTICATE "PLAIN" "`+plain+`"`, "NO (TRYLATER)")
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the directory failure is not in the log:\n%s", logs.String())
	}
	f.Heal()
	c.login("alice")
	f.SetHook(func(context.Context, string) error { return storefault.ErrInjected })
	c.cmd("LISTSCRIPTS", "NO (TRYLATER)")
	c.cmd(`GETSCRIPT "main"`, "NO (TRYLATER)")
	c.cmd(`SETACTIVE "main"`, "NO (TRYLATER)")
	f.SetHook(nil)
	c.cmd("LISTSCRIPTS", "OK")
}
