package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuthCacheWiring runs the composed server: one credential cache for
// IMAP and DAV, a password changed through the admin API refused at once
// on both (the DAV server's own cache is off by default), passwords hashed
// with the configured argon2id parameters and rehashed at login after a
// reload changes them.
func TestAuthCacheWiring(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "roost.toml")
	imapAddr, httpAddr := freePort(t), freePort(t)
	conf := func(argonTime int) string {
		return fmt.Sprintf("imap_listen = %q\nhttp_listen = %q\nallow_plaintext_auth = true\nlog_level = \"info\"\n"+
			"password_argon2_memory = 8\npassword_argon2_time = %d\n", imapAddr, httpAddr, argonTime)
	}
	writeConfig(t, cfg, dir, conf(1))
	var stdout, stderr syncBuf
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test", Reload: reload})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("no shutdown")
		}
	})
	sock := filepath.Join(dir, "admin.sock")
	waitFor(t, "admin socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	admin := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	api := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://roost"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := admin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s", method, path, res.Status)
		}
	}
	imapLogin := func(user, pw string) bool {
		t.Helper()
		c, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		fmt.Fprintf(c, "a LOGIN %s %q\r\n", user, pw)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("IMAP: %v", err)
			}
			if strings.HasPrefix(l, "a ") {
				return strings.HasPrefix(l, "a OK")
			}
		}
	}
	davLogin := func(user, pw string) bool {
		t.Helper()
		req, _ := http.NewRequest("PROPFIND", "http://"+httpAddr+"/dav/", nil)
		req.Header.Set("Depth", "0")
		req.SetBasicAuth(user, pw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode == http.StatusMultiStatus
	}
	api("POST", "/v1/users", `{"login": "alice", "password": "first pw"}`)
	// One cache for both: DAV's first login is answered from what IMAP's
	// verified.
	if !imapLogin("alice", "first pw") {
		t.Fatal("IMAP login refused")
	}
	if n := strings.Count(stderr.String(), "cached=true"); n != 0 {
		t.Fatalf("%d cached logins before any was verified:\n%s", n, stderr.String())
	}
	if !davLogin("alice", "first pw") {
		t.Fatal("DAV login refused")
	}
	if n := strings.Count(stderr.String(), "cached=true"); n != 1 {
		t.Fatalf("DAV's first login after IMAP's: %d cached logins, want 1 (one cache for every protocol):\n%s", n, stderr.String())
	}

	api("PATCH", "/v1/users/alice", `{"password": "second pw"}`)
	if imapLogin("alice", "first pw") {
		t.Fatal("IMAP accepted the old password after a change")
	}
	if davLogin("alice", "first pw") {
		t.Fatal("DAV accepted the old password after a change")
	}
	if !imapLogin("alice", "second pw") || !davLogin("alice", "second pw") {
		t.Fatal("new password refused")
	}
	if strings.Contains(stderr.String(), "rehashed") {
		t.Fatalf("rehashed although the parameters did not change:\n%s", stderr.String())
	}

	// Disabling through the admin API refuses the cached credentials.
	api("PATCH", "/v1/users/alice", `{"active": false}`)
	if imapLogin("alice", "second pw") || davLogin("alice", "second pw") {
		t.Fatal("a disabled account logged in")
	}

	// New parameters apply on reload: bob's hash (t=1) is replaced at his
	// next login, and passwords set afterwards use t=2 at once.
	api("POST", "/v1/users", `{"login": "bob", "password": "bob pw"}`)
	writeConfig(t, cfg, dir, conf(2))
	reload <- struct{}{}
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	if !imapLogin("bob", "bob pw") {
		t.Fatal("bob refused")
	}
	waitFor(t, "rehash", func() bool {
		return strings.Contains(stderr.String(), "password rehashed") && strings.Contains(stderr.String(), "memory_kib=8 time=2 threads=1")
	})
	api("PATCH", "/v1/users/alice", `{"active": true, "password": "third pw"}`)
	if !imapLogin("alice", "third pw") {
		t.Fatal("third password refused")
	}
	if n := strings.Count(stderr.String(), "password rehashed"); n != 1 {
		t.Fatalf("%d rehashes, want bob's only:\n%s", n, stderr.String())
	}
}
