package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeConfig(t *testing.T, path, dir, extra string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\n", dir)
	for _, k := range []string{"imap", "imaps", "pop3", "pop3s", "submission", "submissions", "lmtp", "http", "https", "managesieve"} {
		if !strings.Contains(extra, k+"_listen") {
			fmt.Fprintf(&b, "%s_listen = \"off\"\n", k)
		}
	}
	b.WriteString(extra)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunReloadShutdown starts Roost in-process, reloads its configuration
// three ways (good, needing a restart, broken) and stops it.
func TestRunReloadShutdown(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "roost.toml")
	writeConfig(t, cfg, dir, "log_level = \"info\"\n")
	var stdout, stderr syncBuf
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test", Reload: reload})
	}()
	waitFor(t, "admin socket", func() bool {
		c, err := net.Dial("unix", filepath.Join(dir, "admin.sock"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	// The admin socket opens before the other listeners; the start is
	// complete once "is running" is printed.
	waitFor(t, "the start to complete", func() bool { return strings.Contains(stdout.String(), "is running") })
	out := stdout.String()
	for _, want := range []string{"First start: created the system administrator \"admin\"; its password is in " + filepath.Join(dir, "initial-admin-password"), "listening: admin api", "Roost test is running"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "listening: http ") {
		t.Fatalf("a listener that is off was opened:\n%s", out)
	}

	// A reloadable change.
	writeConfig(t, cfg, dir, "log_level = \"debug\"\nsoftdelete_lifetime = 7\n")
	reload <- struct{}{}
	waitFor(t, "reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	// A change that needs a restart is named.
	writeConfig(t, cfg, dir, "log_level = \"debug\"\nhttp_listen = \"127.0.0.1:1\"\n")
	reload <- struct{}{}
	waitFor(t, "restart warning", func() bool { return strings.Contains(stderr.String(), "http_listen") })
	// A broken file is refused, naming every bad key, and Roost keeps running.
	writeConfig(t, cfg, dir, "log_level = \"loud\"\nquota_hard = -1\n")
	reload <- struct{}{}
	waitFor(t, "refused reload", func() bool { return strings.Contains(stderr.String(), "configuration not reloaded") })
	for _, key := range []string{"log_level", "quota_hard"} {
		if !strings.Contains(stderr.String(), key) {
			t.Fatalf("reload error does not name %s:\n%s", key, stderr.String())
		}
	}

	// A second server on the same data directory is refused.
	writeConfig(t, cfg, dir, "")
	err := Run(context.Background(), Options{ConfigPath: cfg, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no shutdown")
	}
	// The first-start banner appears only once.
	stdout = syncBuf{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	writeConfig(t, cfg, dir, "")
	go func() { done <- Run(ctx2, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr}) }()
	waitFor(t, "restart", func() bool { return strings.Contains(stdout.String(), "is running") })
	if strings.Contains(stdout.String(), "First start") {
		t.Fatal("bootstrap ran twice")
	}
	cancel2()
	<-done
}

func TestInvalidConfigRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "roost.toml")
	os.WriteFile(cfg, []byte("imap_listen = \"nowhere\"\nbogus_key = 1\nquota_soft = 10\nquota_hard = 5\n"), 0o600)
	err := Run(context.Background(), Options{ConfigPath: cfg})
	if err == nil {
		t.Fatal("started with a broken configuration")
	}
	for _, key := range []string{"imap_listen", "bogus_key", "quota_hard"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
}
