package app

import (
	"context"
	"encoding/json"
	"io"
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
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// discoveryServer runs the composed HTTP handler (httpHandler, as on
// http_listen) over a fresh SQLite store with user alice.
func discoveryServer(t *testing.T) (base, login, pw string) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	login, pw = "alice", "correct-horse-battery"
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(sys, "acme", store.User{Login: login, Email: "alice@acme.test", Active: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := &server{o: Options{Stdout: io.Discard, Version: "test"}, log: log, started: time.Now(), events: events.NewHub(), db: db}
	cfg := config.Default()
	s.cfg.Store(cfg)
	authn := &directory.Authenticator{Store: db, Throttle: &auth.Throttle{}, Log: log}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.serve(ln, nil, s.httpHandler(cfg, authn, imipSender{}), "http", ln.Addr().String())
	t.Cleanup(s.shutdown)
	return "http://" + ln.Addr().String(), login, pw
}

// TestDiscoveryPythonCaldav: issue 9.1. python3-caldav (python-requests
// drops the body when it follows a 301) pointed at the well-known URL or
// the bare host finds alice's principal and calendars.
func TestDiscoveryPythonCaldav(t *testing.T) {
	t.Parallel()
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import caldav").CombinedOutput(); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("python3-caldav: %v\n%s", err, out)
		}
		t.Skip("python3-caldav not installed")
	}
	base, login, pw := discoveryServer(t)
	for _, start := range []string{"/.well-known/caldav", "/.well-known/caldav/", "/"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, py, "testdata/caldav_discover.py", base+start, login, pw).Output()
		cancel()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Errorf("from %s: %v\n%s\n%s", start, err, out, stderr)
			continue
		}
		var got struct {
			Principal string   `json:"principal"`
			Calendars []string `json:"calendars"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("from %s: %v: %s", start, err, out)
		}
		if !strings.HasSuffix(got.Principal, "/dav/principals/alice/") {
			t.Errorf("from %s: principal %q", start, got.Principal)
		}
		if !slices.ContainsFunc(got.Calendars, func(c string) bool { return strings.HasPrefix(c, base+"/dav/calendars/alice/") }) {
			t.Errorf("from %s: calendars %v", start, got.Calendars)
		}
	}
}

// TestDiscoveryCadaver: issue 9.1. cadaver adds a slash to the URL it is
// given; opened at the well-known URLs it reaches the DAV tree.
func TestDiscoveryCadaver(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("cadaver")
	if err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal("cadaver not installed")
		}
		t.Skip("cadaver not installed")
	}
	base, login, pw := discoveryServer(t)
	home := t.TempDir()
	host := strings.TrimPrefix(base, "http://")
	host = host[:strings.LastIndex(host, ":")]
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine "+host+" login "+login+" password "+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{"/.well-known/caldav", "/.well-known/carddav/", "/"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, base+start)
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.Stdin = strings.NewReader("ls\ncd /dav/calendars/alice/\nls\nquit\n")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("from %s: %v\n%s", start, err, out)
			continue
		}
		coll := strings.TrimSuffix(start, "/") + "/"
		for _, want := range []string{"Listing collection `" + coll + "': succeeded.", "Listing collection `/dav/calendars/alice/': succeeded.", "inbox"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("from %s: output lacks %q:\n%s", start, want, out)
			}
		}
	}
}
