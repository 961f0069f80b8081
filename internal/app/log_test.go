package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogLevelsAndReopen: log_levels lets one subsystem log below
// log_level; SIGHUP applies new levels and reopens log_file after
// logrotate moved it.
func TestLogLevelsAndReopen(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "roost.log")
	imapAddr := freePort(t)
	cfgPath := filepath.Join(dir, "roost.toml")
	base := fmt.Sprintf("imap_listen = %q\nallow_plaintext_auth = true\nlog_file = %q\nlog_level = \"warn\"\n", imapAddr, logPath)
	writeConfig(t, cfgPath, dir, base+"log_levels = [\"auth=info\"]\n")
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
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","password":"pw-alice"}`, 201)
	imapLogin(t, imapAddr, "alice", "pw-alice")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	waitFor(t, "auth line", func() bool { return strings.Contains(read(logPath), `msg=login proto=auth user=alice`) })
	if l := read(logPath); strings.Contains(l, "msg=listening") || strings.Contains(l, "roost started") {
		t.Fatalf("info lines of other subsystems logged at log_level warn:\n%s", l)
	}

	// logrotate; the new configuration drops auth back to warn.
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, cfgPath, dir, base+"log_levels = [\"imap=info\"]\n")
	reload <- struct{}{}
	waitFor(t, "reopened log", func() bool { _, err := os.Stat(logPath); return err == nil })
	imapLogin(t, imapAddr, "alice", "pw-alice")
	// A warning of the auth subsystem still gets through; its info no longer does.
	cl, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	r := newLineReader(cl)
	imapLine(t, cl, r, "LOGIN alice wrong")
	waitFor(t, "warning in the new file", func() bool { return strings.Contains(read(logPath), `msg="login failed" proto=auth user=alice`) })
	if l := read(logPath); strings.Contains(l, "msg=login proto=auth") {
		t.Fatalf("auth info logged after log_levels changed:\n%s", l)
	}
	if strings.Contains(read(logPath+".1"), "login failed") {
		t.Fatal("lines went on into the rotated file")
	}
}

func newLineReader(c net.Conn) *bufio.Reader {
	r := bufio.NewReader(c)
	r.ReadString('\n') // the greeting
	return r
}
