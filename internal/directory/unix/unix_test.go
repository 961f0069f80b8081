package unix_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/unix"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// hash makes a crypt(3) hash with Debian's mkpasswd (package whois), or
// openssl passwd for SHA-crypt when mkpasswd is missing.
func hash(t *testing.T, method, pw string) string {
	t.Helper()
	var cmd *exec.Cmd
	if _, err := exec.LookPath("mkpasswd"); err == nil {
		cmd = exec.Command("mkpasswd", "-m", method, pw)
	} else if method != "yescrypt" {
		cmd = exec.Command("openssl", "passwd", map[string]string{"sha-512": "-6", "sha-256": "-5"}[method], pw)
	} else {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("mkpasswd not installed (Debian: apt-get install whois)")
		}
		t.Skip("mkpasswd not installed (Debian: apt-get install whois)")
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return strings.TrimSpace(string(out))
}

type env struct {
	dir   string
	db    *testenv.Store
	d     *unix.Directory
	authn *directory.Authenticator
	logs  *strings.Builder
}

func (e *env) write(t *testing.T) func(passwd, shadow, group string) {
	return func(passwd, shadow, group string) { e.writeFiles(t, passwd, shadow, group) }
}

func (e *env) writeFiles(t *testing.T, passwd, shadow, group string) {
	t.Helper()
	for name, text := range map[string]string{"passwd": passwd, "shadow": shadow, "group": group} {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), db: testenv.Open(t, testenv.Options{}), logs: &strings.Builder{}}
	e.configure(t, nil)
	return e
}

// configure (re)makes the backend over the env's files and store, with
// change applied to the test configuration.
func (e *env) configure(t *testing.T, change func(*unix.Config)) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(e.logs, nil))
	cfg := unix.Config{Passwd: filepath.Join(e.dir, "passwd"), Shadow: filepath.Join(e.dir, "shadow"),
		Group: filepath.Join(e.dir, "group"), MinUID: 1000, MaxUID: 59999, MinGID: 1000, MaxGID: 59999,
		NonLoginShells: []string{"/usr/sbin/nologin", "/bin/false"}, Domain: "example.org", Tenant: "example"}
	if change != nil {
		change(&cfg)
	}
	d, err := unix.New(cfg, e.db.DB, log)
	if err != nil {
		t.Fatal(err)
	}
	e.d = d
	e.authn = &directory.Authenticator{Store: e.db.DB, External: d, Log: log,
		Throttle: &auth.Throttle{BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond}}
}

var from = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}

func (e *env) login(login, pw string) (*store.Principal, error) {
	return e.authn.Authenticate(context.Background(), login, pw, from, "imap")
}

// files: ann (SHA-512), ben (SHA-256), cal (yescrypt), fay (bcrypt,
// refused), room
// (nologin: non-active), root and nobody (outside the uid range), dee
// (expired account), eve (locked).
func files(t *testing.T, annLogin string) (string, string, string) {
	passwd := fmt.Sprintf(`root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
%s:x:1000:1000:Ann Example,Room 1,,:/home/ann:/bin/bash
ben:x:1001:1001:Ben Example:/home/ben:/bin/zsh
cal:x:1002:1002::/home/cal:/bin/bash
room:x:1003:1003:Meeting Room:/nonexistent:/usr/sbin/nologin
dee:x:1004:1004:Dee:/home/dee:/bin/bash
eve:x:1005:1005:Eve:/home/eve:/bin/bash
fay:x:1006:1006:Fay:/home/fay:/bin/bash
# a comment
broken line
`, annLogin)
	shadow := fmt.Sprintf("root:%s:19000:0:99999:7:::\n%s:%s:19000:0:99999:7:::\nben:%s:19000:0:99999:7:::\ncal:%s:19000:0:99999:7:::\nroom:*:19000:0:99999:7:::\ndee:%s:19000:0:99999:7::1:\neve:!%s:19000:0:99999:7:::\nfay:$2b$05$abcdefghijklmnopqrstuu5Ch2fIGUHtyyUDMc0dR1XdSRsh8WCgu:19000::::::\n",
		hash(t, "sha-512", "root-pw"), annLogin, hash(t, "sha-512", "ann-pw"), hash(t, "sha-256", "ben-pw"),
		hash(t, "yescrypt", "cal-pw"), hash(t, "sha-512", "dee-pw"), hash(t, "sha-512", "eve-pw"))
	group := "root:x:0:\nusers:x:100:ann,ben\nstaff:x:2000:" + annLogin + ",ben,ghost\nann:x:1000:\nben:x:1001:\nrooms:x:3000:room\n"
	return passwd, shadow, group
}

// TestUnixLogin: passwords are checked against the shadow hashes in Go;
// wrong passwords, unknown, system, locked, expired and yescrypt
// accounts are refused; a non-login shell is a non-active user.
func TestUnixLogin(t *testing.T) {
	e := newEnv(t)
	e.write(t)(files(t, "ann"))
	p, err := e.login("ann", "ann-pw")
	if err != nil || p.Login != "ann" || p.Tenant != "example" {
		t.Fatalf("ann: %+v %v\n%s", p, err, e.logs)
	}
	u, _ := e.db.GetUser(store.SystemContext(context.Background()), "ann")
	if u.FullName != "Ann Example" || u.Email != "ann@example.org" || u.ExternalID != "unix-uid:1000" || !u.Active || u.PasswordHash != "" {
		t.Fatalf("ann %+v", u)
	}
	if p, err := e.login("ben@example.org", "ben-pw"); err != nil || p.Login != "ben" {
		t.Fatalf("ben by address: %+v %v", p, err)
	}
	for _, c := range []struct{ login, pw string }{
		{"ann", "wrong"}, {"ann", ""}, {"ben", "ann-pw"}, {"root", "root-pw"}, {"nobody", "x"}, {"ghost", "x"},
		{"cal", "wrong"}, {"fay", "fay-pw"}, {"eve", "eve-pw"}, {"ann@other.org", "ann-pw"}, {"../ann", "ann-pw"},
	} {
		if _, err := e.login(c.login, c.pw); !errors.Is(err, directory.ErrBadCredentials) {
			t.Errorf("%s/%s: %v, want bad credentials", c.login, c.pw, err)
		}
	}
	// An expired account (shadow field 8) is a non-active user.
	if _, err := e.login("dee", "dee-pw"); !errors.Is(err, directory.ErrInactive) {
		t.Errorf("expired account: %v", err)
	}
	if p, err := e.login("cal", "cal-pw"); err != nil || p.Login != "cal" {
		t.Errorf("cal (yescrypt): %+v %v", p, err)
	}
	if !strings.Contains(e.logs.String(), "$2b$") {
		t.Errorf("the bcrypt refusal is not logged:\n%s", e.logs)
	}
	// A non-login shell: a shared mailbox that receives mail.
	u, err = e.d.UserByAddress(context.Background(), "room@example.org")
	if err != nil || u.Active || u.Login != "room" {
		t.Fatalf("room: %+v %v", u, err)
	}
	if _, err := e.d.UserByAddress(context.Background(), "root@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("root as a recipient: %v", err)
	}
	// By login, without a password (a Kerberos sign-in): provisioned;
	// an account outside the uid range or unknown is not found.
	if u, err := e.d.UserByLogin(context.Background(), "fay"); err != nil || u.Login != "fay" || u.StoreID == 0 {
		t.Fatalf("fay by login: %+v %v", u, err)
	}
	for _, l := range []string{"root", "ghost", "fay@other.org"} {
		if _, err := e.d.UserByLogin(context.Background(), l); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s by login: %v, want not found", l, err)
		}
	}
	// Unreadable files: a temporary failure, not "wrong password".
	os.Remove(filepath.Join(e.dir, "shadow"))
	e.authn.Cache = nil
	if _, err := e.login("ben", "ben-pw"); err == nil || errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("missing shadow: %v", err)
	}
}

// TestUnixSync: the sync creates the users and groups of the uid and gid
// ranges; a login renamed in passwd keeps its uid, user and store; an
// account removed from passwd is deleted, its store an orphan.
func TestUnixSync(t *testing.T) {
	e := newEnv(t)
	e.write(t)(files(t, "ann"))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	sum, err := e.d.Sync(ctx, nil)
	if err != nil || sum.Users != 7 || sum.Created != 7 || sum.Groups != 4 || sum.GroupsCreated != 4 || sum.Failed != 0 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	g, err := e.db.GetGroup(sys, "example", "staff")
	if err != nil || !slices.Equal(sorted(g.Members), []string{"ann", "ben"}) {
		t.Fatalf("staff %+v %v", g, err)
	}
	if g, _ := e.db.GetGroup(sys, "example", "ann"); !slices.Equal(g.Members, []string{"ann"}) { // primary group
		t.Fatalf("ann's group %+v", g)
	}
	before, _ := e.db.GetUser(sys, "ann")
	passwd, shadow, group := files(t, "anna")
	passwd = strings.Replace(passwd, "ben:x:1001", "#ben:x:1001", 1)
	e.write(t)(passwd, shadow, group)
	sum, err = e.d.Sync(ctx, nil)
	if err != nil || sum.Renamed != 1 || sum.Orphaned != 1 || sum.Users != 6 {
		t.Fatalf("second sync %+v %v\n%s", sum, err, e.logs)
	}
	after, err := e.db.GetUser(sys, "anna")
	if err != nil || after.ID != before.ID || after.StoreID != before.StoreID || after.Email != "anna@example.org" {
		t.Fatalf("renamed %+v %v", after, err)
	}
	orphans, _ := e.db.ListOrphans(sys)
	if len(orphans) != 1 || orphans[0].FormerOwner != "ben" {
		t.Fatalf("orphans %+v", orphans)
	}
	if g, _ := e.db.GetGroup(sys, "example", "staff"); !slices.Equal(g.Members, []string{"anna"}) {
		t.Fatalf("staff after %+v", g)
	}
	// Groups are linked by gid: staff renamed (groupmod -n) is the same
	// Roost group, renamed; a group removed from the file is deleted; a
	// Roost group made by hand under a group line's name is linked to it.
	if _, err := e.db.CreateGroup(sys, "example", store.Group{Name: "ops", Kind: store.GroupSecurity}); err != nil {
		t.Fatal(err)
	}
	staff, _ := e.db.GetGroup(sys, "example", "staff")
	group = strings.Replace(group, "staff:x:2000:", "team:x:2000:", 1)
	group = strings.Replace(group, "rooms:x:3000:room\n", "ops:x:3100:anna\n", 1)
	e.write(t)(passwd, shadow, group)
	sum, err = e.d.Sync(ctx, nil)
	if err != nil || sum.GroupsRenamed != 1 || sum.GroupsDeleted != 1 || sum.GroupsCreated != 0 || sum.Failed != 0 {
		t.Fatalf("group sync %+v %v\n%s", sum, err, e.logs)
	}
	if g, err := e.db.GetGroup(sys, "example", "team"); err != nil || g.ID != staff.ID || !slices.Equal(g.Members, []string{"anna"}) {
		t.Fatalf("team (was staff) %+v %v", g, err)
	}
	if _, err := e.db.GetGroup(sys, "example", "rooms"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rooms after it left the file: %v", err)
	}
	if g, err := e.db.GetGroup(sys, "example", "ops"); err != nil || g.ExternalID != "unix-gid:3100" || !slices.Equal(g.Members, []string{"anna"}) {
		t.Fatalf("ops linked %+v %v", g, err)
	}
	// A group file with no group in the range deletes nothing.
	e.write(t)(passwd, shadow, "root:x:0:\n")
	if _, err := e.d.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("empty group file: %v", err)
	}
	if _, err := e.db.GetGroup(sys, "example", "team"); err != nil {
		t.Fatalf("team after the refused sync: %v", err)
	}
	// An empty passwd file orphans nobody.
	e.write(t)("root:x:0:0::/root:/bin/sh\n", "", "")
	if _, err := e.d.Sync(ctx, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("empty passwd: %v", err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestUnixExcept: uids and gids in unix_except_user_uids and
// unix_except_group_gids are neither users nor groups, although in the
// range; a user synced before is deleted by the next sync (store kept
// as an orphan), and cannot log in from then on.
func TestUnixExcept(t *testing.T) {
	e := newEnv(t)
	e.write(t)(files(t, "ann"))
	ctx := context.Background()
	sys := store.SystemContext(ctx)
	if sum, err := e.d.Sync(ctx, nil); err != nil || sum.Users != 7 || sum.Groups != 4 {
		t.Fatalf("sync %+v %v\n%s", sum, err, e.logs)
	}
	if _, err := e.login("ben", "ben-pw"); err != nil {
		t.Fatalf("ben before: %v", err)
	}
	e.configure(t, func(c *unix.Config) { c.ExceptUIDs, c.ExceptGIDs = []int{1001, 4242}, []int{3000} })
	sum, err := e.d.Sync(ctx, nil)
	if err != nil || sum.Users != 6 || sum.Orphaned != 1 || sum.Groups != 3 || sum.GroupsDeleted != 1 {
		t.Fatalf("sync with exceptions %+v %v\n%s", sum, err, e.logs)
	}
	if _, err := e.db.GetUser(sys, "ben"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ben after the sync: %v, want not found", err)
	}
	if orphans, _ := e.db.ListOrphans(sys); len(orphans) != 1 || orphans[0].FormerOwner != "ben" {
		t.Fatalf("orphans %+v", orphans)
	}
	if _, err := e.login("ben", "ben-pw"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("ben excepted: %v, want bad credentials", err)
	}
	if _, err := e.d.UserByAddress(ctx, "ben@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ben as a recipient: %v, want not found", err)
	}
	if _, err := e.login("ann", "ann-pw"); err != nil {
		t.Fatalf("ann: %v", err)
	}
	// The rooms group (gid 3000) is left out, deleted; staff keeps its
	// members but ben.
	if _, err := e.db.GetGroup(sys, "example", "rooms"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rooms excepted: %v, want not found", err)
	}
	if g, _ := e.db.GetGroup(sys, "example", "staff"); !slices.Equal(g.Members, []string{"ann"}) {
		t.Fatalf("staff %+v", g)
	}
}
