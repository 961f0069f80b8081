package audit

import (
	"bufio"
	"encoding/json"
	"log/syslog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestRecordAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.now = func() time.Time { return time.Date(2026, 12, 6, 5, 0, 0, 0, time.FixedZone("x", 3600)) }
	l.Record(Event{Kind: KindAuth, Login: "alice", IP: "192.0.2.1", Proto: "imap", Mechanism: "PLAIN", Result: "fail", Reason: "wrong password"})
	// logrotate: rename, then SIGHUP → Reopen.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Record(Event{Kind: KindAdmin, Actor: "SYSTEM", Action: "DELETE /v1/users/bob", Target: "/v1/users/bob", Status: 204})
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Record(Event{Kind: KindAccess, Actor: "bob", Owner: "alice", Folder: "Projects", Rights: "lr", How: "SELECT"})

	old := readLines(t, path+".1")
	if len(old) != 2 || old[0]["event"] != "auth" || old[1]["event"] != "admin" {
		t.Fatalf("rotated file: %v", old)
	}
	if old[0]["time"] != "2026-12-06T04:00:00Z" || old[0]["reason"] != "wrong password" || old[0]["mechanism"] != "PLAIN" {
		t.Errorf("auth line: %v", old[0])
	}
	if _, ok := old[0]["owner"]; ok {
		t.Errorf("empty fields written: %v", old[0])
	}
	cur := readLines(t, path)
	if len(cur) != 1 || cur[0]["owner"] != "alice" || cur[0]["rights"] != "lr" {
		t.Fatalf("new file: %v", cur)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestConcurrentLinesIntact: lines written at once never interleave.
func TestConcurrentLinesIntact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				l.Record(Event{Kind: KindAuth, Login: strings.Repeat(string(rune('a'+i)), 500)})
				if i == 0 {
					l.Reopen()
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	if n := len(readLines(t, path)); n != 1600 {
		t.Fatalf("%d lines, want 1600", n)
	}
}

func TestNilLog(t *testing.T) {
	l, err := Open("", nil)
	if err != nil || l != nil {
		t.Fatal(l, err)
	}
	l.Record(Event{Kind: KindAuth})
	l.Reopen()
	l.Close()
}

// TestSyslog: with path "syslog" each event is one datagram to the
// syslog daemon, facility authpriv, the JSON object as the message.
func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	l, err := openWith(Syslog, nil, func() (*syslog.Writer, error) {
		return syslog.Dial("unixgram", sock, syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "roost-audit")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Record(Event{Kind: KindAuth, Login: "alice", Result: "ok"})
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	// <86>: authpriv (10) * 8 + info (6).
	if !strings.HasPrefix(msg, "<86>") || !strings.Contains(msg, `roost-audit[`) || !strings.Contains(msg, `{"time":"`) || !strings.Contains(msg, `"event":"auth","login":"alice","result":"ok"}`) {
		t.Fatalf("syslog datagram %q", msg)
	}
}

// A client chooses the login it gives and an admin request's path: each
// field is cut, so that one line stays small.
func TestRecordClipsLongFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	long := strings.Repeat("é", 1<<20) // two bytes each: the cut must not split one
	l.Record(Event{Kind: KindAuth, Login: long, Result: "fail", Reason: "unknown user"})
	l.Record(Event{Kind: KindAdmin, Action: "DELETE " + long, Target: long + "?x=" + long})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 8*MaxField {
		t.Fatalf("two lines take %d bytes", st.Size())
	}
	lines := readLines(t, path)
	if len(lines) != 2 {
		t.Fatalf("lines: %d", len(lines))
	}
	login := lines[0]["login"].(string)
	if len(login) > MaxField || !strings.HasSuffix(login, "é…") || !utf8.ValidString(login) {
		t.Errorf("login clipped to %d bytes: ...%q", len(login), login[max(0, len(login)-8):])
	}
	if lines[0]["reason"] != "unknown user" {
		t.Errorf("short field changed: %v", lines[0]["reason"])
	}
}
