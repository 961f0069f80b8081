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
	out *bytes.Buffer
}

func startServer(t *testing.T, bin, cfg, dir string) *serverProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	out := &bytes.Buffer{}
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
func TestKillDuringWrites(t *testing.T) {
	bin := roostBinary(t)
	dir := t.TempDir()
	cfg := quietConfig(t, dir)
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
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
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
