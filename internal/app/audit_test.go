package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// hasEvent reports whether an event has every given field.
func hasEvent(evs []map[string]any, fields map[string]any) bool {
next:
	for _, e := range evs {
		for k, v := range fields {
			if fmt.Sprint(e[k]) != fmt.Sprint(v) {
				continue next
			}
		}
		return true
	}
	return false
}

func imapLogin(t *testing.T, addr, login, pw string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	r.ReadString('\n')
	if l := imapLine(t, c, r, "LOGIN "+login+" "+pw); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("login %s: %s", login, l)
	}
	return c, r
}

// TestAuditLog: authentications, admin changes and the opening of
// another user's folder land in audit_log_file as JSON lines, and
// SIGHUP (reload) reopens the file after logrotate moved it.
func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.log")
	imapAddr := freePort(t)
	cfgPath := filepath.Join(dir, "roost.toml")
	extra := fmt.Sprintf("imap_listen = %q\nallow_plaintext_auth = true\naudit_log_file = %q\n", imapAddr, auditPath)
	writeConfig(t, cfgPath, dir, extra)
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: cfgPath, Stdout: io.Discard, Stderr: io.Discard, Version: "test", Reload: reload})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	sock := filepath.Join(dir, "admin.sock")
	waitFor(t, "admin socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	c := unixClient(sock)
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw-alice"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"bob","email":"bob@example.org","password":"pw-bob"}`, 201)
	adminCall(t, c, "GET", "/v1/users", "", 200) // reads are not audited

	ac, ar := imapLogin(t, imapAddr, "alice", "pw-alice")
	imapLine(t, ac, ar, "CREATE Projects")
	imapLine(t, ac, ar, "SETACL Projects bob lr")
	imapLine(t, ac, ar, "SELECT INBOX") // her own: not audited

	// A failed login, then bob opens alice's folder.
	bc, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bc)
	br.ReadString('\n')
	imapLine(t, bc, br, "LOGIN bob wrong")
	bc.Close()
	bc2, br2 := imapLogin(t, imapAddr, "bob", "pw-bob")
	if l := imapLine(t, bc2, br2, `EXAMINE "Other Users/alice/Projects"`); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("EXAMINE shared: %s", l)
	}

	// logrotate moves the file; SIGHUP reopens it.
	if err := os.Rename(auditPath, auditPath+".1"); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	waitFor(t, "new audit file", func() bool { _, err := os.Stat(auditPath); return err == nil })
	adminCall(t, c, "DELETE", "/v1/users/bob", "", 204)

	old := auditLines(t, auditPath+".1")
	for _, want := range []map[string]any{
		{"event": "admin", "user": "SYSTEM", "action": "POST /v1/users", "status": 201, "via": "admin socket"},
		{"event": "auth", "user": "alice", "login": "alice", "proto": "imap", "mechanism": "password", "result": "ok", "ip": "127.0.0.1"},
		{"event": "auth", "user": "bob", "login": "bob", "proto": "imap", "result": "fail", "reason": "wrong password"},
		{"event": "access", "user": "bob", "owner": "alice", "folder": "Projects", "rights": "lr", "how": "EXAMINE", "proto": "imap", "tenant": "default"},
	} {
		if !hasEvent(old, want) {
			t.Errorf("audit log lacks %v", want)
		}
	}
	if hasEvent(old, map[string]any{"event": "access", "user": "alice"}) {
		t.Error("opening one's own folder was audited")
	}
	if hasEvent(old, map[string]any{"action": "GET /v1/users"}) {
		t.Error("a read was audited")
	}
	if b, _ := os.ReadFile(auditPath + ".1"); strings.Contains(string(b), "pw-") {
		t.Error("a password reached the audit log")
	}
	cur := auditLines(t, auditPath)
	if !hasEvent(cur, map[string]any{"event": "admin", "action": "DELETE /v1/users/bob", "status": 204}) {
		t.Errorf("after reopen: %v", cur)
	}
	if t.Failed() {
		b, _ := os.ReadFile(auditPath + ".1")
		t.Logf("audit log:\n%s", b)
	}
}
