package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestJMAPMounted: the HTTP listener serves JMAP's well-known URL and the
// session resource to a user with the web feature.
func TestJMAPMounted(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "roost.toml")
	writeConfig(t, cfg, dir, "http_listen = \""+addr+"\"\n")
	var stdout, stderr syncBuf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test"}) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "start", func() bool { return strings.Contains(stdout.String(), "is running") })
	// The first-start admin password: printed, or (newer bootstraps)
	// written to a file in the data directory.
	var pw string
	if b, err := os.ReadFile(filepath.Join(dir, "initial-admin-password")); err == nil {
		pw = strings.TrimSpace(string(b))
	} else if m := regexp.MustCompile(`administrator "admin" with password (\S+)`).FindStringSubmatch(stdout.String()); m != nil {
		pw = strings.Trim(m[1], `".,`)
	} else {
		t.Fatalf("no admin password in:\n%s", stdout.String())
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get("http://" + addr + "/.well-known/jmap")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasSuffix(res.Header.Get("Location"), "/jmap/session") {
		t.Fatalf("well-known: %d %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/jmap/session", nil)
	req.SetBasicAuth("admin", pw)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"apiUrl":"http://`+addr+`/jmap/api/"`) ||
		!strings.Contains(string(b), `"urn:ietf:params:jmap:submission"`) {
		t.Fatalf("session: %d %s", res.StatusCode, b)
	}
}
