package davserver_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// The black-box harness: the real handler on an httptest server bound to
// 127.0.0.1, over a real store (internal/testenv: SQLite, or PostgreSQL with
// ROOST_TEST_BACKEND=postgres).

var sys = testenv.Sys

func cheapHash(pw string) string { return testenv.CheapHash(pw) }

func password(login string) string { return "secret-" + login }

type env struct {
	t    testing.TB
	db   *sqlstore.DB
	srv  *httptest.Server
	url  string // base URL, no trailing slash
	out  *recorder
	opts davserver.Options
}

// recorder is an Outbound that keeps what it was asked to send.
type recorder struct {
	mu   sync.Mutex
	sent []sentITIP
}

type sentITIP struct {
	from, method string
	to           []string
	ics          string
}

func (r *recorder) SendITIP(ctx context.Context, from string, to []string, method string, ics []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, sentITIP{from: from, to: to, method: method, ics: string(ics)})
	return nil
}

func (r *recorder) all() []sentITIP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentITIP(nil), r.sent...)
}

// testLogger is a logger for code under test that has no test at hand:
// silent, or standard error with ROOST_TEST_LOG=debug. newEnv logs to the
// test's log (testenv.Logger).
func testLogger() *slog.Logger {
	if os.Getenv("ROOST_TEST_LOG") == "debug" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// openStore opens a fresh store (testenv.Backend()) with tenant acme
// (alice, bob, carol; room1 a room; beamer equipment of capacity 2) and
// globex (eve).
func openStore(t testing.TB) *sqlstore.DB {
	t.Helper()
	s := testenv.Open(t, testenv.Options{BlobGrace: -1})
	s.Tenants(t, "acme", "globex")
	for _, u := range []store.User{
		{Tenant: "acme", Login: "alice", Active: true},
		{Tenant: "acme", Login: "bob", Active: true},
		{Tenant: "acme", Login: "carol", Active: true},
		{Tenant: "acme", Login: "room1", Resource: store.ResourceSettings{AutoAccept: true, DeclineConflict: true, DeclineRecurring: true}},
		{Tenant: "acme", Login: "beamer", Resource: store.ResourceSettings{AutoAccept: true, DeclineConflict: true, Capacity: 2}},
		{Tenant: "globex", Login: "eve", Active: true},
	} {
		s.User(t, u.Tenant, u, password(u.Login))
	}
	return s.DB
}

func authenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return testenv.Authenticator(b, false)
}

func newEnv(t testing.TB, opts ...func(*davserver.Options)) *env {
	t.Helper()
	db := openStore(t)
	rec := &recorder{}
	o := davserver.Options{Store: db, Logger: testenv.Logger(t), Authenticate: authenticator(db), Outbound: rec}
	for _, f := range opts {
		f(&o)
	}
	h := davserver.New(o)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, url: srv.URL, out: rec, opts: o}
}

// as returns a store context acting as login.
func (e *env) as(login string) context.Context {
	p, err := e.db.Principal(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	return store.WithPrincipal(context.Background(), p)
}

// folder returns a folder of login's store by special role or name.
func (e *env) folder(login, nameOrRole string) *store.Folder {
	e.t.Helper()
	ctx := e.as(login)
	st, err := e.db.UserStore(ctx, login)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := e.db.ListFolders(ctx, st.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special == nameOrRole || f.Name == nameOrRole {
			return f
		}
	}
	e.t.Fatalf("%s has no folder %q", login, nameOrRole)
	return nil
}

// calURL is the URL of login's default calendar.
func (e *env) calURL(login string) string {
	return "/dav/calendars/" + login + "/" + e.folder(login, store.SpecialCalendar).Name + "/"
}

func (e *env) tasksURL(login string) string {
	return "/dav/calendars/" + login + "/" + e.folder(login, store.SpecialTasks).Name + "/"
}

func (e *env) cardURL(login string) string {
	return "/dav/addressbooks/" + login + "/" + e.folder(login, store.SpecialContacts).Name + "/"
}

type resp struct {
	code int
	hdr  http.Header
	body string
}

// do sends a request as login ("" = no credentials); hdr alternates
// names and values.
func (e *env) do(login, method, path, body string, hdr ...string) resp {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.url + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if login != "" {
		req.SetBasicAuth(login, password(login))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		if strings.HasPrefix(strings.TrimSpace(body), "<") {
			req.Header.Set("Content-Type", "application/xml; charset=utf-8")
		} else {
			req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
		}
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{code: res.StatusCode, hdr: res.Header, body: string(b)}
}

// must checks a status.
func (r resp) must(t testing.TB, code int) resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body:\n%s", r.code, code, r.body)
	}
	return r
}

// hrefs returns the hrefs of the responses with a 200 propstat or status.
func hrefs(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<D:response><D:href>([^<]*)</D:href>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimLeft(s, "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// event builds a one-event calendar.
func event(uid, start, end, extra string) string {
	return crlf(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:%s
DTSTAMP:20240101T000000Z
DTSTART:%s
DTEND:%s
SUMMARY:Event %s
%sEND:VEVENT
END:VCALENDAR
`, uid, start, end, uid, extra))
}

func card(uid, fn, email string) string {
	return crlf(fmt.Sprintf(`BEGIN:VCARD
VERSION:3.0
UID:%s
FN:%s
N:%s;;;;
EMAIL;TYPE=INTERNET:%s
END:VCARD
`, uid, fn, fn, email))
}
