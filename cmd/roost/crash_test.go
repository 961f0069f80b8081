package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// buildRoost compiles the binary once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "roost-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "roost")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func roostBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// quietConfig writes a configuration with every TCP listener off, so tests
// that run real servers in parallel do not fight over ports.
func quietConfig(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\n", dir)
	for _, k := range []string{"imap", "imaps", "pop3", "pop3s", "submission", "submissions", "lmtp", "http", "https", "managesieve"} {
		fmt.Fprintf(&b, "%s_listen = \"off\"\n", k)
	}
	fmt.Fprintf(&b, "admin_listen = %q\n", freeAddr(t))
	path := filepath.Join(dir, "roost.toml")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type serverProc struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServer(t *testing.T, bin, cfg, dir string) *serverProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sock := filepath.Join(dir, "admin.sock")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not come up:\n%s", out)
	return nil
}

func adminCLI(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"admin", "--data", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("roost admin %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func unixClient(sock string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

type delivered struct {
	UID    uint32 `json:"uid"`
	ItemID int64  `json:"item_id"`
}

func deliver(c *http.Client, rcpt string, body []byte) (delivered, error) {
	var d delivered
	resp, err := c.Post("http://roost/v1/deliver?rcpt="+rcpt, "message/rfc822", bytes.NewReader(body))
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return d, fmt.Errorf("deliver: %s: %s", resp.Status, raw)
	}
	return d, json.Unmarshal(raw, &d)
}

func crashMessage(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: sender@example.test\r\nMessage-ID: <%d@crash.test>\r\nSubject: burst %d\r\n\r\n", n, n)
	size := 2000
	if n%10 == 0 {
		size = 100 << 10 // above the inline limit: goes to the blob files
	}
	for b.Len() < size {
		fmt.Fprintf(&b, "line of message %d\r\n", n)
	}
	return b.Bytes()
}

// TestKillDuringWrites kills `roost serve` with SIGKILL in the middle of a
// burst of deliveries and checks that every acknowledged message survived
// intact and that no UID is handed out twice after the restart.
func TestKillDuringWrites(t *testing.T) { killDuringWrites(t, "") }

// killDuringWrites is TestKillDuringWrites on the given database key of the
// configuration ("" for SQLite in the data directory).
func killDuringWrites(t *testing.T, database string) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	if database != "" {
		appendConfig(t, cfg, fmt.Sprintf("database = %q\n", database))
	}
	srv := startServer(t, bin, cfg, dir)
	adminCLI(t, bin, dir, "user", "create", "alice", "--email", "alice@example.test", "--name", "Alice")

	client := unixClient(filepath.Join(dir, "admin.sock"))
	var (
		mu    sync.Mutex
		acked = map[uint32]int{} // UID → message number
		next  int
		wg    sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				n := next
				mu.Unlock()
				d, err := deliver(client, "alice@example.test", crashMessage(n))
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				if prev, dup := acked[d.UID]; dup {
					mu.Unlock()
					t.Errorf("UID %d acknowledged for messages %d and %d", d.UID, prev, n)
					return
				}
				acked[d.UID] = n
				mu.Unlock()
			}
		}()
	}
	// Let the burst run, then kill without warning.
	for {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 300 {
			break
		}
		if srv.cmd.ProcessState != nil {
			t.Fatalf("server exited:\n%s", srv.out)
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d deliveries acknowledged before SIGKILL", len(acked))

	// Every acknowledged message is there, byte for byte.
	var maxUID uint32
	func() {
		blobs, err := fs.New(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		driver, dsn := "sqlite", filepath.Join(dir, "roost.db")
		if database != "" {
			driver, dsn = "postgres", database
		}
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: driver, DSN: dsn, Blobs: blobs})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		sys := store.SystemContext(context.Background())
		st, err := db.UserStore(sys, "alice")
		if err != nil {
			t.Fatal(err)
		}
		fs, err := db.ListFolders(sys, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		var inbox int64
		for _, f := range fs {
			if f.Special == store.SpecialInbox {
				inbox = f.ID
			}
		}
		items, err := db.ListItems(sys, inbox, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		byUID := map[uint32]int64{}
		for _, it := range items {
			byUID[it.UID] = it.ID
			maxUID = max(maxUID, it.UID)
		}
		for uid, n := range acked {
			id, ok := byUID[uid]
			if !ok {
				t.Errorf("acknowledged message %d (UID %d) lost", n, uid)
				continue
			}
			r, err := db.OpenItem(sys, id)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, crashMessage(n)) {
				t.Errorf("UID %d: content differs from message %d", uid, n)
			}
		}
		f, err := db.GetFolder(sys, inbox)
		if err != nil {
			t.Fatal(err)
		}
		if f.UIDNext <= maxUID {
			t.Fatalf("UIDNEXT %d not above the highest UID %d", f.UIDNext, maxUID)
		}
	}()

	// The server restarts on the same directory (stale socket and lock)
	// and hands out only new UIDs.
	srv = startServer(t, bin, cfg, dir)
	d, err := deliver(client, "alice@example.test", crashMessage(1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	if d.UID <= maxUID {
		t.Fatalf("UID %d after restart, but UID %d was already used", d.UID, maxUID)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("graceful shutdown: %v\n%s", err, srv.out)
	}
}

// TestAdminAgainstServe drives the admin grammar with the real binary
// against a real `roost serve`, the way an administrator would.
func TestAdminAgainstServe(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	srv := startServer(t, bin, cfg, dir)
	run := func(stdin string, args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"admin", "--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	ok := func(args ...string) string {
		t.Helper()
		out, code := run("", args...)
		if code != 0 {
			t.Fatalf("roost admin %v: exit %d\n%s", args, code, out)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, code := run("", args...)
		if code == 0 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Fatalf("roost admin %v: exit %d, want a one-line error containing %q, got:\n%s", args, code, want, out)
		}
	}
	ok("tenant", "create", "acme")
	ok("tenant", "create", "globex")
	ok("domain", "add", "acme.test", "--tenant", "acme")
	ok("domain", "add", "globex.test", "--tenant", "globex")
	if out, code := run("s3cret\n", "user", "create", "alice", "--email", "alice@acme.test", "--name", "Alice Liddell", "--password-stdin", "--tenant", "acme"); code != 0 {
		t.Fatalf("user create: %s", out)
	}
	ok("user", "create", "tim", "--email", "tim@acme.test", "--name", "Tim Admin", "--admin", "1", "--tenant", "acme")
	ok("user", "create", "gus", "--email", "gus@globex.test", "--name", "Gus", "--tenant", "globex")
	ok("user", "update", "alice", "--alias-add", "al@acme.test", "--quota-override", "yes", "--quota-warn", "80", "--quota-soft", "90", "--quota-hard", "100",
		"--enable-feature", "imap", "--disable-feature", "pop3", "--add-sendas", "tim", "--mr-accept", "yes", "--capacity", "2")
	show := ok("user", "show", "alice")
	for _, want := range []string{"alice", "Alice Liddell", "alice@acme.test", "al@acme.test", "80", "100", "tim", "Everyone"} {
		if !strings.Contains(show, want) {
			t.Errorf("user show lacks %q:\n%s", want, show)
		}
	}
	var u struct {
		Login string `json:"login"`
		Quota struct {
			Override bool  `json:"override"`
			Hard     int64 `json:"hard"`
		} `json:"quota"`
	}
	if err := json.Unmarshal([]byte(ok("user", "show", "alice", "--json")), &u); err != nil || u.Login != "alice" || !u.Quota.Override {
		t.Fatalf("user show --json: %v %+v", err, u)
	}
	ok("group", "create", "sales", "--tenant", "acme")
	ok("group", "add-member", "sales", "alice", "--tenant", "acme")
	if out := ok("group", "show", "sales", "--tenant", "acme"); !strings.Contains(out, "alice") {
		t.Fatalf("group show:\n%s", out)
	}
	ok("tenant", "update", "acme", "--quota-warn", "1000", "--user-quota-hard", "500")
	ok("tenant", "view", "add", "globex", "acme")
	ok("store", "create-public", "--tenant", "acme")
	ok("user", "delete", "gus")
	if out := ok("store", "list-orphans", "--json"); !strings.Contains(out, "globex") {
		t.Fatalf("orphans:\n%s", out)
	}
	ok("softdelete", "purge", "--days", "30")
	var list []map[string]any
	if err := json.Unmarshal([]byte(ok("user", "list", "--json")), &list); err != nil || len(list) < 3 {
		t.Fatalf("user list --json: %v, %d users", err, len(list))
	}

	// Pipe delivery speaks sysexits(3) to the MTA.
	deliverCmd := func(rcpt string) int {
		cmd := exec.Command(bin, "deliver", "--config", cfg, rcpt)
		cmd.Stdin = strings.NewReader("Subject: hi\r\n\r\nhello\r\n")
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 0
	}
	if c := deliverCmd("al@acme.test"); c != 0 {
		t.Fatalf("deliver to an alias: exit %d", c)
	}
	if c := deliverCmd("nobody@acme.test"); c != 67 {
		t.Fatalf("deliver to an unknown address: exit %d, want 67 (EX_NOUSER)", c)
	}

	// Clear, one-line errors with a non-zero exit.
	fails("nobody", "user", "show", "nobody")
	fails("already exists", "user", "create", "alice", "--email", "x@acme.test", "--name", "X", "--tenant", "acme")
	fails("abc", "user", "update", "alice", "--quota-hard", "abc")
	fails("already exists", "tenant", "create", "acme")

	// A tenant admin, over the TLS admin API with its own credentials,
	// manages its tenant and cannot touch another one.
	remote := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"admin", "--url", "https://" + srv.adminAddr(t), "--login", "tim",
			"--ca", filepath.Join(dir, "tls", "cert.pem")}, args...)...)
		cmd.Env = append(os.Environ(), "ROOST_ADMIN_PASSWORD=tim-pass")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out), code
	}
	if out, code := run("tim-pass\n", "user", "update", "tim", "--password-stdin"); code != 0 {
		t.Fatalf("set tim's password: %s", out)
	}
	ok("user", "create", "gert", "--email", "gert@globex.test", "--name", "Gert", "--tenant", "globex")
	if out, code := remote("user", "create", "carol", "--email", "carol@acme.test", "--name", "Carol", "--tenant", "acme"); code != 0 {
		t.Fatalf("tenant admin in its tenant: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"user", "create", "mallory", "--email", "m@globex.test", "--name", "M", "--tenant", "globex"},
		{"user", "delete", "gert"},
		{"user", "update", "gert", "--quota-hard", "1"},
		{"tenant", "update", "globex", "--quota-warn", "1"},
		{"tenant", "create", "mine"},
	} {
		out, code := remote(args...)
		if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.HasPrefix(out, "roost admin: ") {
			t.Fatalf("tenant admin %v: exit %d, want a one-line error:\n%s", args, code, out)
		}
	}
	if out, _ := remote("user", "list"); strings.Contains(out, "globex") {
		t.Fatalf("tenant admin lists another tenant's users:\n%s", out)
	}
	if out := ok("user", "show", "gert"); !strings.Contains(out, "unlimited") {
		t.Fatalf("gert was changed by another tenant's admin:\n%s", out)
	}
	// A user without admin level cannot use the admin API at all.
	if out, code := run("alice-pass\n", "user", "update", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("set alice's password: %s", out)
	}
	cmd := exec.Command(bin, "admin", "--url", "https://"+srv.adminAddr(t), "--login", "alice", "--ca", filepath.Join(dir, "tls", "cert.pem"), "user", "list")
	cmd.Env = append(os.Environ(), "ROOST_ADMIN_PASSWORD=alice-pass")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "authentication required") {
		t.Fatalf("ordinary user on the admin API: %v\n%s", err, out)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("shutdown: %v\n%s", err, srv.out)
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago and that no other call handed out (freeAddrOn).
func freeAddr(t *testing.T) string {
	t.Helper()
	return freeAddrOn(t, "127.0.0.1")
}

// adminAddr reads the TLS admin listener's address from the server output.
func (p *serverProc) adminAddr(t *testing.T) string {
	t.Helper()
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.HasPrefix(l, "listening: admin api (TLS)") {
			f := strings.Fields(l)
			return f[len(f)-1]
		}
	}
	t.Fatalf("no TLS admin listener in:\n%s", p.out)
	return ""
}

// TestBenchIMAP runs the load tool briefly against a real server: every
// operation of the mix succeeds.
func TestBenchIMAP(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
	addr := freeAddr(t)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "imaps_listen = %q\n", addr)
	f.Close()
	// quietConfig turned imaps off; the line above must win, so rewrite.
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "imaps_listen = \"off\"\n", "", 1)), 0o600)
	srv := startServer(t, bin, cfg, dir)
	// One user per client: sessions of one user racing EXPUNGE against
	// STORE may legitimately get NO, which would count as an error here.
	for i := 0; i < 4; i++ {
		cmd := exec.Command(bin, "admin", "--config", cfg, "user", "create", fmt.Sprintf("bench%d", i), "--email",
			fmt.Sprintf("bench%d@example.test", i), "--name", "Bench", "--password-stdin")
		cmd.Stdin = strings.NewReader("bench\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	out, err := exec.Command(bin, "bench", "imap", "--addr", addr, "--tls", "--users", "4", "--clients", "4",
		"--duration", "3s", "--messages", "10").CombinedOutput()
	if err != nil {
		t.Fatalf("roost bench imap: %v\n%s", err, out)
	}
	for _, op := range []string{"select", "fetch", "store", "append", "search", "expunge", "idle"} {
		re := regexp.MustCompile(`(?m)^` + op + `\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)$`)
		m := re.FindStringSubmatch(string(out))
		if m == nil || m[1] == "0" || m[2] != "0" {
			t.Errorf("operation %s did not run cleanly:\n%s", op, out)
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()
}
