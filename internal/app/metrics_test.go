package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/metrics"
)

// freePort returns a loopback address whose port was free a moment ago
// and that no other call in this test binary returned: the kernel hands
// a released port out again, and two listeners of one configuration
// given the same port make it invalid ("already used by").
func freePort(t *testing.T) string {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().(*net.TCPAddr)
		ln.Close()
		handedOut.Lock()
		taken := handedOut.ports[addr.Port]
		handedOut.ports[addr.Port] = true
		handedOut.Unlock()
		if !taken {
			return addr.String()
		}
	}
	t.Fatal("no fresh free port in 100 tries")
	return ""
}

// handedOut remembers the ports freePort returned.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// startServer runs Roost in-process with extra configuration and returns
// an HTTP client over its admin socket.
func startServer(t *testing.T, dir, extra string) *http.Client {
	t.Helper()
	cfg := filepath.Join(dir, "roost.toml")
	writeConfig(t, cfg, dir, extra)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: cfg, Stdout: io.Discard, Stderr: io.Discard, Version: "test"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
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
	return unixClient(sock)
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

func adminCall(t *testing.T, c *http.Client, method, path, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, "http://roost"+path, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return string(b)
}

// imapLine sends a command and reads to its tagged response.
func imapLine(t *testing.T, c net.Conn, r *bufio.Reader, cmd string) string {
	t.Helper()
	fmt.Fprintf(c, "t %s\r\n", cmd)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "t ") {
			return l
		}
	}
}

// TestMetrics drives IMAP logins and commands, a delivery and an HTTP
// request, then reads /metrics from the admin socket and from
// metrics_listen and finds them counted.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	imapAddr, httpAddr, metricsAddr, pop3Addr := freePort(t), freePort(t), freePort(t), freePort(t)
	c := startServer(t, dir, fmt.Sprintf("imap_listen = %q\nhttp_listen = %q\nmetrics_listen = %q\npop3_listen = %q\nallow_plaintext_auth = true\n",
		imapAddr, httpAddr, metricsAddr, pop3Addr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"alice","email":"alice@example.org","password":"pw-alice"}`, 201)
	adminCall(t, c, "POST", "/v1/deliver?rcpt=alice@example.org", "Subject: hi\r\n\r\nhello\r\n", 201)
	adminCall(t, c, "POST", "/v1/deliver?rcpt=nobody@example.org", "Subject: hi\r\n\r\nhello\r\n", 404)

	conn, err := net.Dial("tcp", imapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	if l := imapLine(t, conn, r, "LOGIN alice wrong"); !strings.HasPrefix(l, "t NO") {
		t.Fatalf("bad login: %s", l)
	}
	if l := imapLine(t, conn, r, "LOGIN alice pw-alice"); !strings.HasPrefix(l, "t OK") {
		t.Fatalf("login: %s", l)
	}
	imapLine(t, conn, r, "SELECT INBOX")
	imapLine(t, conn, r, "NOOP")
	if resp, err := http.Get("http://" + httpAddr + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	// A made-up method does not make a series of its own.
	if req, err := http.NewRequest("XYZZY123", "http://"+httpAddr+"/healthz", nil); err != nil {
		t.Fatal(err)
	} else if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}

	// POP3: two known commands and a made-up one.
	pc, err := net.Dial("tcp", pop3Addr)
	if err != nil {
		t.Fatal(err)
	}
	pr := bufio.NewReader(pc)
	pr.ReadString('\n')
	for _, cmd := range []string{"NOOP", "XFOO9", "QUIT"} {
		fmt.Fprintf(pc, "%s\r\n", cmd)
		pr.ReadString('\n')
	}
	pc.Close()
	waitFor(t, "pop3 QUIT counted", func() bool {
		return strings.Contains(adminCall(t, c, "GET", "/metrics", "", 200), `command="QUIT"`)
	})

	text := adminCall(t, c, "GET", "/metrics", "", 200)
	for _, want := range []string{
		`roost_sessions{listener="imap"} 1`,
		`roost_auth_total{proto="imap",mechanism="password",result="ok"} 1`,
		`roost_auth_total{proto="imap",mechanism="password",result="wrong password"} 1`,
		`roost_deliveries_total{result="accepted"} 1`,
		`roost_command_duration_seconds_count{proto="imap",command="SELECT",result="ok"} 1`,
		`roost_command_duration_seconds_count{proto="imap",command="LOGIN",result="no"} 1`,
		`roost_command_duration_seconds_count{proto="http",command="GET",result="2xx"} 1`,
		`roost_tenant_store_bytes{tenant="default"} `,
		"roost_queue_messages 0",
		"roost_queue_oldest_age_seconds 0",
		"go_goroutines ",
		"# TYPE roost_command_duration_seconds histogram",
		`roost_command_duration_seconds_count{proto="http",command="other",`,
		`roost_command_duration_seconds_count{proto="pop3",command="NOOP",result="done"} 1`,
		`roost_command_duration_seconds_count{proto="pop3",command="other",result="done"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, "XYZZY123") || strings.Contains(text, "XFOO9") {
		t.Error("a client's made-up method became a label value")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
	// metrics_listen serves the same, and nothing else.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `roost_sessions{listener="imap"} 1`) {
		t.Fatalf("metrics_listen: %d\n%s", resp.StatusCode, b)
	}
	if resp, err := http.Get("http://" + metricsAddr + "/v1/status"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("metrics_listen serves more than /metrics: %v %v", resp, err)
	}
	// The whole exposition passes Prometheus' own parser when it is here.
	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
		t.Error("promtool is not installed (Debian package prometheus) and ROOST_REQUIRE_CLIENTS is set")
	}
}

// Every verb the submission server implements has its own series; only a
// verb Roost does not know is "other".
func TestSubmissionVerbsCounted(t *testing.T) {
	m := &opsMetrics{reg: metrics.New()}
	m.commands = m.reg.Histogram("roost_command_duration_seconds", "", nil, "proto", "command", "result")
	observe := m.verbCommand("submission", smtpVerbs)
	for _, v := range []string{"EHLO", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "BURL", "RSET", "NOOP", "QUIT", "XFOO"} {
		observe(v, time.Millisecond)
	}
	var b strings.Builder
	m.reg.WriteText(&b)
	for _, v := range []string{"EHLO", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "BURL", "RSET", "NOOP", "QUIT", "other"} {
		if want := `roost_command_duration_seconds_count{proto="submission",command="` + v + `",result="done"} 1`; !strings.Contains(b.String(), want) {
			t.Errorf("lacks %s", want)
		}
	}
}
