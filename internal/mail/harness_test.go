package mail_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

// sent is one message handed to the outbound interface.
type sent struct {
	from string
	to   []string
	msg  string
}

type outbox struct {
	mu   sync.Mutex
	msgs []sent
}

func (o *outbox) Send(_ context.Context, from string, to []string, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, sent{from, slices.Clone(to), string(msg)})
	return nil
}

func (o *outbox) all() []sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.msgs)
}

type env struct {
	t   testing.TB
	db  *sqlstore.DB
	out *outbox
	d   *mail.Deliverer
}

// testLog is a logger for code under test that has no test at hand:
// silent, or standard error with ROOST_TEST_LOG=debug.
func testLog() *slog.Logger {
	if os.Getenv("ROOST_TEST_LOG") == "debug" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newEnv opens a fresh store (testenv.Backend()) with tenant acme (alice,
// bob) and a Deliverer that sends into an outbox.
func newEnv(t testing.TB) *env {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	s.Tenants(t, "acme")
	for _, l := range []string{"alice", "bob"} {
		s.User(t, "acme", store.User{Login: l, FullName: strings.ToUpper(l[:1]) + l[1:] + " Example", Active: true}, "")
	}
	out := &outbox{}
	return &env{t: t, db: s.DB, out: out, d: &mail.Deliverer{Store: s.DB, Log: testenv.Logger(t), Outbound: out, Hostname: "mx.acme.test"}}
}

func (e *env) user(login string) *store.User {
	e.t.Helper()
	u, err := e.db.GetUser(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// as returns a context acting as login.
func (e *env) as(login string) context.Context {
	e.t.Helper()
	p, err := e.db.Principal(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return store.WithPrincipal(context.Background(), p)
}

// deliver runs the pipeline for one recipient address.
func (e *env) deliver(from, rcpt, msg string) mail.Result {
	e.t.Helper()
	users, err := e.db.Recipients(sys, rcpt)
	if err != nil {
		e.t.Fatal(err)
	}
	b := []byte(strings.ReplaceAll(msg, "\n", "\r\n"))
	res := e.d.DeliverMessage(context.Background(), from, []mail.Recipient{{Addr: rcpt, Users: users}},
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if len(res) != 1 {
		e.t.Fatalf("got %d results, want 1", len(res))
	}
	return res[0]
}

// sieve installs and activates a script for login.
func (e *env) sieve(login, script string) {
	e.t.Helper()
	s := &mail.Scripts{Store: e.db}
	ctx := e.as(login)
	if err := s.Put(ctx, login, "main", []byte(script)); err != nil {
		e.t.Fatalf("put script: %v", err)
	}
	if err := s.SetActive(ctx, login, "main"); err != nil {
		e.t.Fatal(err)
	}
}

// folder returns (creating it when create is set) the id of a top-level
// mail folder of login's store, or of a path "a/b".
func (e *env) folder(login, path string, create bool) int64 {
	e.t.Helper()
	st, err := e.db.UserStore(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	var parent int64
	for _, name := range strings.Split(path, "/") {
		fs, err := e.db.ListFolders(sys, st.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		var id int64
		for _, f := range fs {
			if !f.Deleted && f.ParentID == parent && f.Name == name {
				id = f.ID
			}
		}
		if id == 0 {
			if !create {
				return 0
			}
			f, err := e.db.CreateFolder(sys, st.ID, parent, name, store.FolderMail)
			if err != nil {
				e.t.Fatal(err)
			}
			id = f.ID
		}
		parent = id
	}
	return parent
}

func (e *env) special(login, role string) int64 {
	e.t.Helper()
	st, err := e.db.UserStore(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := e.db.ListFolders(sys, st.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special == role {
			return f.ID
		}
	}
	e.t.Fatalf("no %s folder", role)
	return 0
}

// items returns the messages of a folder.
func (e *env) items(folder int64) []store.ItemSummary {
	e.t.Helper()
	l, err := e.db.ListItems(sys, folder, 1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) content(folder int64, uid uint32) string {
	e.t.Helper()
	it, err := e.db.ItemByUID(sys, folder, uid)
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.db.OpenItem(sys, it.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func (e *env) inboxCount(login string) int {
	return len(e.items(e.special(login, store.SpecialInbox)))
}
