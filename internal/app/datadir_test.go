package app

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	blobfs "github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// A data directory the operator created with mode 0755: after a first
// start and a delivery, every file Roost wrote in it is private to its user
// (hardening 9.13), the start warned about the directory's mode, and the
// administrator's password is in a private file, not on standard output
// (hardening 9.3).
func TestDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "roost.toml")
	writeConfig(t, cfg, dir, "")
	var stdout, stderr syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test"}) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no shutdown")
		}
	}
	defer stop()
	sock := filepath.Join(dir, "admin.sock")
	waitFor(t, "admin socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	call := func(method, path, ctype string, body []byte) {
		t.Helper()
		req, err := http.NewRequest(method, "http://admin"+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
	}
	call("POST", "/v1/domains", "application/json", []byte(`{"name":"example.test"}`))
	call("POST", "/v1/users", "application/json", []byte(`{"login":"alice","email":"alice@example.test"}`))
	// Large enough for a blob file of its own.
	msg := "Subject: private\r\n\r\n" + strings.Repeat("a line of a message kept in the blob store\r\n", 3000)
	call("POST", "/v1/deliver?rcpt=alice@example.test", "message/rfc822", []byte(msg))

	// The warning about the directory's mode.
	if !strings.Contains(stderr.String(), "data directory is accessible to other users") {
		t.Errorf("no warning about a data directory with mode 0755:\n%s", stderr.String())
	}
	// The password: in a file, not on standard output.
	pwFile := filepath.Join(dir, "initial-admin-password")
	pwb, err := os.ReadFile(pwFile)
	if err != nil {
		t.Errorf("the first start left no password file: %v\n%s", err, stdout.String())
	}
	pw := strings.TrimSpace(string(pwb))
	if len(pw) < 16 {
		t.Errorf("password file holds %q", pw)
	} else if strings.Contains(stdout.String(), pw) || strings.Contains(stderr.String(), pw) {
		t.Error("the administrator's password was printed")
	}
	if !strings.Contains(stdout.String(), pwFile) {
		t.Errorf("standard output does not name the password file:\n%s", stdout.String())
	}

	check := func() {
		t.Helper()
		blobs := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			perm := info.Mode().Perm()
			switch {
			case p == dir:
			case d.IsDir():
				if perm != 0o700 {
					t.Errorf("directory %s has mode %04o, want 0700", rel, perm)
				}
			case info.Mode()&fs.ModeSocket != 0:
				// The LMTP socket is for the MTA, another user: open to
				// all by design, reachable only through a directory the
				// operator opens to it.
				if rel != "lmtp.sock" && perm&0o077 != 0 {
					t.Errorf("socket %s has mode %04o", rel, perm)
				}
			default:
				if perm != 0o600 {
					t.Errorf("file %s has mode %04o, want 0600", rel, perm)
				}
				if strings.HasPrefix(rel, "blobs/") && !strings.HasPrefix(rel, "blobs/tmp/") {
					blobs++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if blobs == 0 {
			t.Error("the delivery wrote no blob file: the test checks no blob's mode")
		}
	}
	check()
	for _, f := range []string{"roost.db", "roost.db-wal", "roost.db-shm", "roost.lock", "tls/key.pem", "tls/cert.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("expected %s: %v", f, err)
		}
	}
	stop()
	check()

	// The password in the file is the administrator's.
	b, err := blobfs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: b})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.GetUser(store.SystemContext(context.Background()), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.CheckPassword(u.PasswordHash, pw); err != nil {
		t.Errorf("the password in %s is not the administrator's: %v", pwFile, err)
	}
}
