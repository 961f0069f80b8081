package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

type env struct {
	srv   *testenv.Slapd
	db    *testenv.Store
	dir   *ldap.Directory
	authn *directory.Authenticator
	logs  *strings.Builder
}

var from = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}

func baseConfig(uri string) ldap.Config {
	return ldap.Config{
		URIs: []string{uri}, BindDN: testenv.SlapdSvcDN, BindPass: testenv.SlapdSvcPW, Base: testenv.SlapdSuffix,
		Filter: "(objectClass=inetOrgPerson)", UniqueAttr: "entryUUID", LoginAttr: "uid",
		MailAttr: "mail", AliasesAttr: "mailLocalAddress", FullNameAttr: "cn",
		NonactiveAttr: "employeeType", NonactiveValue: "disabled", AdminAttr: "departmentNumber",
		Timeout: 2 * time.Second, Tenant: "example",
	}
}

func newEnv(t testing.TB, mod func(*ldap.Config)) *env {
	t.Helper()
	return newEnvOn(t, testenv.StartSlapd(t), mod)
}

func newEnvOn(t testing.TB, srv *testenv.Slapd, mod func(*ldap.Config)) *env {
	t.Helper()
	db := testenv.Open(t, testenv.Options{})
	cfg := baseConfig(srv.URI)
	if mod != nil {
		mod(&cfg)
	}
	logs := &strings.Builder{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	d, err := ldap.New(cfg, db.DB, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	a := &directory.Authenticator{Store: db.DB, External: d, Log: log,
		Throttle: &auth.Throttle{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond},
		Cache:    auth.NewCredCache(100, time.Hour)}
	return &env{srv: srv, db: db, dir: d, authn: a, logs: logs}
}

func (e *env) login(login, pw string) (*store.Principal, error) {
	return e.authn.Authenticate(context.Background(), login, pw, from, "imap")
}

func (e *env) user(t *testing.T, login string) *store.User {
	t.Helper()
	u, err := e.db.GetUser(store.SystemContext(context.Background()), login)
	if err != nil {
		t.Fatalf("user %q: %v", login, err)
	}
	return u
}

// TestLogin: a directory user logs in by uid (or mail address) with the
// right password and is created in Roost just in time; a wrong, empty or
// unknown password is "bad credentials".
func TestLogin(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("alice", "alice-pw", "alice@example.org", "mailLocalAddress: a.smith@example.org", "departmentNumber: 1")
	p, err := e.login("alice", "alice-pw")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, e.logs)
	}
	if p.Login != "alice" || p.Tenant != "example" {
		t.Fatalf("principal %+v", p)
	}
	u := e.user(t, "alice")
	if u.Email != "alice@example.org" || u.FullName != "Alice Example" || !u.Active || u.Admin != store.AdminTenant ||
		len(u.Aliases) != 1 || u.Aliases[0] != "a.smith@example.org" || u.StoreID == 0 || !strings.HasPrefix(u.ExternalID, "entryUUID:") {
		t.Fatalf("provisioned user %+v", u)
	}
	if u.PasswordHash != "" {
		t.Fatalf("a password hash was stored: %q", u.PasswordHash)
	}
	if p, err := e.login("alice@example.org", "alice-pw"); err != nil || p.Login != "alice" {
		t.Fatalf("login by address: %+v %v", p, err)
	}
	for _, c := range []struct{ login, pw string }{
		{"alice", "wrong"}, {"alice", ""}, {"alice", "ALICE-PW"}, {"ghost", "alice-pw"}, {"", "alice-pw"},
	} {
		if _, err := e.login(c.login, c.pw); !errors.Is(err, directory.ErrBadCredentials) {
			t.Errorf("%q/%q: %v, want bad credentials", c.login, c.pw, err)
		}
	}
}

// TestNonactive: a user the directory marks non-active is refused after
// the right password, and its Roost user is marked non-active too.
func TestNonactive(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("carol", "carol-pw", "carol@example.org", "employeeType: disabled")
	if _, err := e.login("carol", "carol-pw"); !errors.Is(err, directory.ErrInactive) {
		t.Fatalf("non-active user: %v", err)
	}
	if u := e.user(t, "carol"); u.Active {
		t.Fatalf("carol is active in Roost")
	}
	// Enabled again in the directory: the next login brings it back.
	e.srv.Modify("dn: uid=carol," + testenv.SlapdPeople + "\nchangetype: modify\ndelete: employeeType\n")
	if _, err := e.login("carol", "carol-pw"); err != nil {
		t.Fatalf("re-enabled: %v", err)
	}
	// Disabled while a login is cached: the cache holds only until its
	// TTL (the documented trade-off); an uncached login sees it at once.
	e.srv.Modify("dn: uid=carol," + testenv.SlapdPeople + "\nchangetype: modify\nadd: employeeType\nemployeeType: disabled\n")
	e.authn.Cache = nil
	if _, err := e.login("carol", "carol-pw"); !errors.Is(err, directory.ErrInactive) {
		t.Fatalf("disabled again: %v", err)
	}
}

// TestFilterInjection: logins carrying filter syntax are escaped
// (RFC 4515): with bob's password they never reach bob's entry.
func TestFilterInjection(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("bob", "bob-pw", "bob@example.org")
	for _, login := range []string{"*", "b*", "bo?", "*)(uid=*", "bob)(|(uid=*", "*)(|(objectClass=*", "bob\x00", "bob\xff", `bob\2a`, "(uid=bob)"} {
		if p, err := e.login(login, "bob-pw"); !errors.Is(err, directory.ErrBadCredentials) {
			t.Errorf("login %q: %+v %v, want bad credentials", login, p, err)
		}
	}
	if _, err := e.login("bob", "bob-pw"); err != nil {
		t.Fatalf("bob: %v", err)
	}
}

// TestRename: a uid changed in the directory keeps the same Roost user
// and store (linked by entryUUID); the old login is gone.
func TestRename(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("dave", "dave-pw", "dave@example.org")
	if _, err := e.login("dave", "dave-pw"); err != nil {
		t.Fatal(err)
	}
	before := e.user(t, "dave")
	e.srv.Modify("dn: uid=dave," + testenv.SlapdPeople + "\nchangetype: modrdn\nnewrdn: uid=david\ndeleteoldrdn: 1\n\n" +
		"dn: uid=david," + testenv.SlapdPeople + "\nchangetype: modify\nreplace: mail\nmail: david@example.org\n")
	if p, err := e.login("david", "dave-pw"); err != nil || p.Login != "david" {
		t.Fatalf("renamed login: %+v %v\n%s", p, err, e.logs)
	}
	after := e.user(t, "david")
	if after.ID != before.ID || after.StoreID != before.StoreID || after.Email != "david@example.org" {
		t.Fatalf("rename made another user: before %+v, after %+v", before, after)
	}
	if _, err := e.db.GetUser(store.SystemContext(context.Background()), "dave"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old login still there: %v", err)
	}
	if _, err := e.login("dave", "dave-pw"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old login: %v", err)
	}
}

// TestDeliveryProvisions: mail to a directory user who never logged in
// creates the Roost user and store, and is delivered into its inbox.
func TestDeliveryProvisions(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("erin", "erin-pw", "erin@example.org", "mailLocalAddress: sales@example.org")
	ctx := context.Background()
	if _, err := e.dir.UserByAddress(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown address: %v", err)
	}
	if _, err := e.dir.UserByAddress(ctx, "*@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wildcard address: %v", err)
	}
	u, err := e.dir.UserByAddress(ctx, "Sales@example.org")
	if err != nil || u.Login != "erin" || u.StoreID == 0 {
		t.Fatalf("by alias: %+v %v", u, err)
	}
	users, err := e.db.Recipients(store.SystemContext(ctx), "sales@example.org")
	if err != nil || len(users) != 1 || users[0].ID != u.ID {
		t.Fatalf("recipients: %v %v", users, err)
	}
	d := &mail.Deliverer{Store: e.db.DB}
	msg := "From: x@example.net\r\nTo: sales@example.org\r\nSubject: hi\r\nMessage-ID: <1@example.net>\r\n\r\nhello\r\n"
	res := d.Deliver(ctx, users, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil })
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("deliver: %+v", res)
	}
	inbox := testenv.Folder(t, testenv.As(t, e.db.DB, "erin"), e.db.DB, "erin", "inbox")
	if inbox.Messages != 1 {
		t.Fatalf("inbox has %d messages", inbox.Messages)
	}
	// The first login later finds the same user.
	if p, err := e.login("erin", "erin-pw"); err != nil || p.UserID != u.ID {
		t.Fatalf("login after delivery: %+v %v", p, err)
	}
}

// TestDirectoryDown: with slapd stopped, a login is a temporary failure
// (ldap.ErrUnavailable), never "bad credentials", logged once; a cached
// login still works; after a restart logins work again.
func TestDirectoryDown(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("frank", "frank-pw", "frank@example.org")
	if _, err := e.login("frank", "frank-pw"); err != nil {
		t.Fatal(err)
	}
	e.srv.Stop()
	for range 3 {
		_, err := e.login("frank", "wrong")
		if err == nil || errors.Is(err, directory.ErrBadCredentials) || !errors.Is(err, ldap.ErrUnavailable) {
			t.Fatalf("directory down: %v, want a temporary failure", err)
		}
	}
	if n := strings.Count(e.logs.String(), "LDAP directory unreachable"); n != 1 {
		t.Fatalf("logged %d times that the directory is unreachable:\n%s", n, e.logs)
	}
	if _, err := e.login("frank", "frank-pw"); err != nil {
		t.Fatalf("cached login while down: %v", err)
	}
	e.authn.Cache = nil
	if _, err := e.login("frank", "frank-pw"); !errors.Is(err, ldap.ErrUnavailable) {
		t.Fatalf("uncached login while down: %v", err)
	}
	e.srv.Start()
	if _, err := e.login("frank", "frank-pw"); err != nil {
		t.Fatalf("after restart: %v\n%s", err, e.logs)
	}
	if !strings.Contains(e.logs.String(), "LDAP directory reachable again") {
		t.Fatalf("no recovery logged:\n%s", e.logs)
	}
}

// TestFailover: a first ldap_uri that does not answer is skipped.
func TestFailover(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "ldap://" + l.Addr().String()
	l.Close()
	e := newEnv(t, func(c *ldap.Config) { c.URIs = append([]string{dead}, c.URIs...) })
	e.srv.AddUser("gina", "gina-pw", "gina@example.org")
	if _, err := e.login("gina", "gina-pw"); err != nil {
		t.Fatalf("failover: %v\n%s", err, e.logs)
	}
	if _, err := e.login("gina", "nope"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("wrong password via the second server: %v", err)
	}
}

// TestServiceBindRefused: a wrong service password is a directory
// failure, not a user's wrong password.
func TestServiceBindRefused(t *testing.T) {
	e := newEnv(t, func(c *ldap.Config) { c.BindPass = "not-it" })
	e.srv.AddUser("hal", "hal-pw", "hal@example.org")
	if _, err := e.login("hal", "hal-pw"); err == nil || errors.Is(err, directory.ErrBadCredentials) || !errors.Is(err, ldap.ErrUnavailable) {
		t.Fatalf("bad service bind: %v", err)
	}
}

// TestTLS: LDAPS and StartTLS check the server certificate: trusted
// through RootCAs (ldap_tls_cacert) the login works; with the system's
// authorities, which do not know the test certificate, it is a directory
// failure, never a wrong password, and the password is not sent.
func TestTLS(t *testing.T) {
	srv := testenv.StartSlapdTLS(t)
	srv.AddUser("ivy", "ivy-pw", "ivy@example.org")
	_, pool, _ := testenv.Cert()
	for _, tc := range []struct {
		name     string
		uri      string
		startTLS bool
	}{{"ldaps", srv.LDAPSURI, false}, {"starttls", srv.URI, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvOn(t, srv, func(c *ldap.Config) { c.URIs, c.StartTLS, c.RootCAs = []string{tc.uri}, tc.startTLS, pool })
			if _, err := e.login("ivy", "ivy-pw"); err != nil {
				t.Fatalf("trusted certificate: %v\n%s", err, e.logs)
			}
			if _, err := e.login("ivy", "bad"); !errors.Is(err, directory.ErrBadCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
			u := newEnvOn(t, srv, func(c *ldap.Config) { c.URIs, c.StartTLS, c.RootCAs = []string{tc.uri}, tc.startTLS, nil })
			_, err := u.login("ivy", "ivy-pw")
			if !errors.Is(err, ldap.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("untrusted certificate: %v", err)
			}
		})
	}
}

// TestConnectionsBounded: many logins at once open at most PoolSize
// connections to the directory; the rest wait for one (here the server
// accepts and never answers).
func TestConnectionsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			c.Close()
		}
	}()
	cfg := baseConfig("ldap://" + ln.Addr().String())
	cfg.PoolSize, cfg.Timeout = 2, time.Second
	d, err := ldap.New(cfg, testenv.Open(t, testenv.Options{}).DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { d.Authenticate(ctx, fmt.Sprint("user", i), "pw") })
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	n := len(accepted)
	mu.Unlock()
	cancel()
	wg.Wait()
	if n != cfg.PoolSize {
		t.Fatalf("%d connections for 10 logins at once, want %d (PoolSize)", n, cfg.PoolSize)
	}
}
