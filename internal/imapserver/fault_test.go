package imapserver_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/storefault"
)

// Store and directory failures reach the client as a temporary failure
// and the log with their context, never as "no match", a skipped message
// or a wrong password (issue 9.15).

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

// faultEnv is newEnv over a storefault wrapper, with logins going through
// the real directory.Authenticator over the same wrapper, and the log
// captured.
func faultEnv(t *testing.T) (*env, *storefault.Backend, *logBuf) {
	var f *storefault.Backend
	logs := &logBuf{}
	e := newEnv(t, func(o *imapserver.Options) {
		f = storefault.New(o.Store)
		o.Store = f
		o.Authenticate = f.Authenticate("imap")
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return e, f, logs
}

func wantTempFailure(t *testing.T, got string) {
	t.Helper()
	if !strings.HasPrefix(got, "NO [UNAVAILABLE]") && !strings.HasPrefix(got, "NO [SERVERBUG]") {
		t.Errorf("got %q, want NO [UNAVAILABLE] or NO [SERVERBUG]", got)
	}
}

func TestFaultSearch(t *testing.T) {
	t.Parallel()
	e, f, logs := faultEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	e.deliver(inbox.ID, testMsg(2))
	c := e.selectBox("alice", "INBOX")
	f.Fail(nil, "OpenItem", "OpenItems", "MessageMetas", "GetItem")
	_, got := c.cmd("SEARCH BODY message")
	wantTempFailure(t, got)
	_, got = c.cmd("UID SEARCH TEXT nothing-matches-this")
	wantTempFailure(t, got)
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the failure is not in the log:\n%s", logs.String())
	}
	f.Heal()
	if lines := c.ok("SEARCH BODY message"); !has(lines, "* SEARCH 1 2") {
		t.Errorf("after healing: %q", lines)
	}
}

func TestFaultFetch(t *testing.T) {
	t.Parallel()
	e, f, logs := faultEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1))
	c := e.selectBox("alice", "INBOX")
	f.Fail(nil, "OpenItem", "OpenItems", "MessageMetas", "GetItem")
	lines, got := c.cmd("FETCH 1 BODY.PEEK[]")
	wantTempFailure(t, got)
	if has(lines, "FETCH") {
		t.Errorf("a message was sent although its content could not be read: %q", lines)
	}
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the failure is not in the log:\n%s", logs.String())
	}
}

func TestFaultLogin(t *testing.T) {
	t.Parallel()
	e, f, logs := faultEnv(t)
	c := e.dial()
	f.Fail(nil, "GetUser")
	_, got := c.cmd("LOGIN alice %s", password("alice"))
	if !strings.HasPrefix(got, "NO [UNAVAILABLE]") {
		t.Errorf("LOGIN with a failing directory: %q, want NO [UNAVAILABLE]", got)
	}
	if !strings.Contains(logs.String(), storefault.ErrInjected.Error()) {
		t.Errorf("the failure is not in the log:\n%s", logs.String())
	}
	f.Heal()
	c.ok("LOGIN alice %s", password("alice"))
	_, got = e.dial().cmd("LOGIN alice wrong")
	if !strings.HasPrefix(got, "NO [AUTHENTICATIONFAILED]") {
		t.Errorf("wrong password: %q", got)
	}
}

// SORT reads the sort keys of the matches: a failure there is not an
// empty key.
func TestFaultSort(t *testing.T) {
	t.Parallel()
	e, f, _ := faultEnv(t)
	inbox := e.folder("alice", store.SpecialInbox)
	e.deliver(inbox.ID, testMsg(1)) // one: its key is read after the match
	c := e.selectBox("alice", "INBOX")
	f.Fail(nil, "OpenItem", "OpenItems", "MessageMetas", "GetItem")
	_, got := c.cmd("SORT (SUBJECT) UTF-8 ALL")
	wantTempFailure(t, got)
}

// A tenant administrator's LIST reads the ACLs of shared folders: a
// failure there is not "not shared".
func TestFaultListShared(t *testing.T) {
	t.Parallel()
	e, f, _ := faultEnv(t)
	admin := store.AdminTenant
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{Admin: &admin}); err != nil {
		t.Fatal(err)
	}
	bobInbox := e.folder("bob", store.SpecialInbox)
	if err := e.db.SetACL(sys, bobInbox.ID, "user:alice", "lr"); err != nil {
		t.Fatal(err)
	}
	c := e.login("alice")
	if lines := c.ok(`LIST "" "*"`); !has(lines, "bob") {
		t.Fatalf("the shared folder is not listed: %q", lines)
	}
	f.Fail(nil, "GetACL")
	_, got := c.cmd(`LIST "" "*"`)
	wantTempFailure(t, got)
}
