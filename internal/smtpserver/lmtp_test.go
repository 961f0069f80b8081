package smtpserver_test

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

var sys = testenv.Sys

type env struct {
	srv  *smtpserver.LMTP
	db   *sqlstore.DB
	dir  string
	addr string
	sock string
}

// start runs LMTP over a fresh store (testenv.Backend()) with tenant acme
// and users alice, bob, u2, u3, … (users in all).
func start(t *testing.T, users int, mods ...func(*smtpserver.Options)) *env {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	db, dir := s.DB, s.Dir
	s.Tenants(t, "acme")
	for i := 0; i < users; i++ {
		login := fmt.Sprintf("u%d", i)
		if i == 0 {
			login = "alice"
		} else if i == 1 {
			login = "bob"
		}
		s.User(t, "acme", store.User{Login: login, Active: true}, "")
	}
	o := smtpserver.Options{Store: db, Hostname: "lmtp.test", MaxMessageBytes: 20 << 20, SpoolDir: dir, Logger: testenv.Logger(t)}
	for _, m := range mods {
		m(&o)
	}
	l := smtpserver.NewLMTP(o)
	ln := testenv.Listen(t)
	sock := filepath.Join(dir, "lmtp.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go l.Serve(ln, false)
	go l.Serve(uln, false)
	t.Cleanup(func() { l.Close() })
	return &env{srv: l, db: db, dir: dir, addr: ln.Addr().String(), sock: sock}
}

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, network, addr string) *client {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	cl.expect("220")
	cl.send("LHLO test")
	for {
		l := cl.line()
		if strings.HasPrefix(l, "250 ") {
			break
		}
	}
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *client) send(s string) { fmt.Fprintf(c.c, "%s\r\n", s) }

func (c *client) expect(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want %s…", l, prefix)
	}
	return l
}

func (c *client) cmd(s, prefix string) string {
	c.t.Helper()
	c.send(s)
	return c.expect(prefix)
}

func inboxCount(t *testing.T, db *sqlstore.DB, login string) int {
	t.Helper()
	inbox, err := mail.Inbox(sys, db, login)
	if err != nil {
		t.Fatal(err)
	}
	l, err := db.ListItems(sys, inbox, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func TestPerRecipientReplies(t *testing.T) {
	e := start(t, 2)
	db := e.db
	db.CreateGroup(sys, "acme", store.Group{Name: "team", Email: "team@acme.test", Kind: store.GroupDistribution})
	db.AddGroupMember(sys, "acme", "team", "alice")
	db.AddGroupMember(sys, "acme", "team", "bob")
	hard := int64(10)
	yes := true
	db.UpdateUser(sys, "bob", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard})

	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<sender@example.test> SIZE=100", "250 2.1.0")
	c.cmd("RCPT TO:<alice@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<nobody@acme.test>", "550 5.1.1")
	c.cmd("RCPT TO:<bob@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<alice+news@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: hello\r\n\r\nbody that is longer than ten bytes\r\n..dot line\r\n.")
	c.expect("250 2.0.0 <alice@acme.test>")
	c.expect("552 5.2.2 <bob@acme.test>")
	c.expect("250 2.0.0 <alice+news@acme.test>")
	if n := inboxCount(t, db, "alice"); n != 1 {
		t.Fatalf("alice has %d messages (one copy per user)", n)
	}
	// The stored message is the one sent, dot-unstuffed.
	inbox, _ := mail.Inbox(sys, db, "alice")
	l, _ := db.ListItems(sys, inbox, 1, 0)
	r, _ := db.OpenItem(sys, l[0].ID)
	b := make([]byte, 200)
	n, _ := r.Read(b)
	r.Close()
	if got := string(b[:n]); got != "Subject: hello\r\n\r\nbody that is longer than ten bytes\r\n.dot line\r\n" {
		t.Fatalf("stored %q", got)
	}
	// A group expands to its members, over the unix socket too.
	u := dial(t, "unix", e.sock)
	u.cmd("MAIL FROM:<>", "250")
	u.cmd("RCPT TO:<team@acme.test>", "250")
	u.cmd("DATA", "354")
	u.send("Subject: all\r\n\r\nhi\r\n.")
	u.expect("250 2.0.0 <team@acme.test> delivered to 1 of 2")
	if n := inboxCount(t, db, "alice"); n != 2 {
		t.Fatalf("alice has %d messages", n)
	}
	u.cmd("QUIT", "221")
}

func TestBadInput(t *testing.T) {
	e := start(t, 1)
	c := dial(t, "tcp", e.addr)
	c.cmd("RCPT TO:<alice@acme.test>", "503")
	c.cmd("EHLO x", "500")
	c.cmd("MAIL FROM:alice@acme.test", "501")
	c.cmd("MAIL FROM:<a@b.test> SIZE=999999999999", "552")
	c = dial(t, "tcp", e.addr)
	c.cmd(strings.Repeat("A", 5000), "500 5.5.2")
	c.cmd("MAIL FROM:<a@b.test>", "250")
	c.cmd("RCPT TO:<alice@acme.test>", "250")
	c.cmd("DATA", "354")
	// SMTP smuggling: <LF>.<LF> must not end the message, and the message
	// with bare line endings is refused as a whole.
	c.send("Subject: one\r\n\r\nx\n.\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<alice@acme.test>\r\n.")
	c.expect("550 5.6.0")
	if n := inboxCount(t, e.db, "alice"); n != 0 {
		t.Fatalf("smuggled message stored (%d)", n)
	}
	// The session goes on.
	c.cmd("NOOP", "250")
	c.cmd("MAIL FROM:<a@b.test>", "250")
	c.cmd("RCPT TO:<alice@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 21<<10) + ".")
	c.expect("552 5.3.4")
	c.cmd("NOOP", "250")
	// Far beyond the limit the server stops reading and hangs up rather
	// than drain without end.
	c.cmd("MAIL FROM:<a@b.test>", "250")
	c.cmd("RCPT TO:<alice@acme.test>", "250")
	c.cmd("DATA", "354")
	go func() {
		chunk := []byte(strings.Repeat(strings.Repeat("y", 998)+"\r\n", 1024))
		for i := 0; i < 60; i++ { // 60 MB, three times the 20 MB limit
			if _, err := c.c.Write(chunk); err != nil {
				return
			}
		}
	}()
	if l := c.line(); !strings.HasPrefix(l, "552 5.3.4") || !strings.Contains(l, "closing") {
		t.Fatalf("endless data: %q", l)
	}
	// Ten bad commands end a session.
	c = dial(t, "tcp", e.addr)
	for i := 0; i < 9; i++ {
		c.cmd("BOGUS", "500")
	}
	c.cmd("BOGUS", "421")
}

// TestSingleInstance delivers a 10 MB message to 30 users in one
// transaction: the blob store grows by about 10 MB, not 300 MB.
func TestSingleInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MB × 30 recipients")
	}
	e := start(t, 30)
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<a@b.test>", "250")
	for i := 0; i < 30; i++ {
		login := fmt.Sprintf("u%d", i)
		if i == 0 {
			login = "alice"
		} else if i == 1 {
			login = "bob"
		}
		c.cmd("RCPT TO:<"+login+"@acme.test>", "250")
	}
	c.cmd("DATA", "354")
	w := bufio.NewWriter(c.c)
	w.WriteString("Subject: big attachment\r\nContent-Type: application/octet-stream\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 2) + "\r\n"
	for n := 0; n < 10<<20; n += len(line) {
		w.WriteString(line)
	}
	w.WriteString(".\r\n")
	w.Flush()
	for i := 0; i < 30; i++ {
		c.expect("250 2.0.0")
	}
	var total int64
	filepath.WalkDir(filepath.Join(e.dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	t.Logf("blob store holds %d bytes after 30 deliveries of a 10 MB message", total)
	if total < 10<<20 || total > 11<<20 {
		t.Fatalf("blob store holds %d bytes, want about 10 MB", total)
	}
}

// TestPythonLMTP delivers with Python's smtplib.LMTP, a real LMTP client.
func TestPythonLMTP(t *testing.T) {
	e := start(t, 2)
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		var lerr error
		if py, lerr = exec.LookPath("python3"); lerr != nil {
			if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
				t.Fatal("python3 not installed")
			}
			t.Skip("python3 not installed")
		}
	}
	// smtplib reads one reply after DATA, so each transaction has one
	// recipient (LMTP answers DATA once per recipient).
	script := fmt.Sprintf(`
import smtplib
for rcpt in ["alice@acme.test", "bob@acme.test"]:
    l = smtplib.LMTP(%[1]q)
    refused = l.sendmail("sender@example.test", [rcpt], "Subject: py\r\n\r\nfrom python\r\n")
    assert refused == {}, refused
    l.quit()
l = smtplib.LMTP(%[1]q)
try:
    l.sendmail("sender@example.test", ["ghost@acme.test"], "Subject: x\r\n\r\nx\r\n")
    raise SystemExit("unknown recipient accepted")
except smtplib.SMTPRecipientsRefused as e:
    assert e.recipients["ghost@acme.test"][0] == 550, e.recipients
l.quit()
print("lmtp ok")
`, e.sock)
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "lmtp ok") {
		t.Fatalf("python LMTP: %v\n%s", err, out)
	}
	if inboxCount(t, e.db, "alice") != 1 || inboxCount(t, e.db, "bob") != 1 {
		t.Fatal("python delivery not stored")
	}
}

// TestSieveReject: a Sieve reject answers 550 5.7.1 with the reason for
// that recipient only; the others in the same transaction get 250.
func TestSieveReject(t *testing.T) {
	e := start(t, 2)
	s := &mail.Scripts{Store: e.db}
	if err := s.Put(sys, "alice", "r", []byte("require \"reject\";\nif header :contains \"subject\" \"offer\" { reject \"No offers,\nplease.\"; }")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(sys, "alice", "r"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<sender@example.test>", "250")
	c.cmd("RCPT TO:<alice@acme.test>", "250")
	c.cmd("RCPT TO:<bob@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: special offer\r\n\r\nbuy\r\n.")
	if l := c.expect("550 5.7.1 <alice@acme.test>"); !strings.Contains(l, "No offers, please.") {
		t.Fatalf("reject reason missing or not on one line: %q", l)
	}
	c.expect("250 2.0.0 <bob@acme.test>")
	if inboxCount(t, e.db, "alice") != 0 || inboxCount(t, e.db, "bob") != 1 {
		t.Fatal("reject stored the message, or bob lost it")
	}
	// Another message passes the script.
	c.cmd("MAIL FROM:<sender@example.test>", "250")
	c.cmd("RCPT TO:<alice@acme.test>", "250")
	c.cmd("DATA", "354")
	c.send("Subject: hello\r\n\r\nhi\r\n.")
	c.expect("250 2.0.0 <alice@acme.test>")
}

// With QuotaTempFail (quota_hard_tempfail) a full mailbox is a temporary
// failure for that recipient only.
func TestQuotaTempFail(t *testing.T) {
	e := start(t, 2, func(o *smtpserver.Options) { o.QuotaTempFail = true })
	hard, yes := int64(10), true
	e.db.UpdateUser(sys, "bob", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard})
	c := dial(t, "tcp", e.addr)
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<alice@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<bob@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: hello\r\n\r\nbody that is longer than ten bytes\r\n.")
	c.expect("250 2.0.0 <alice@acme.test>")
	c.expect("452 4.2.2 <bob@acme.test>")
}

// TestLMTPSpool: a message up to 128 KiB is kept in memory, a larger one
// in a spool file; both are stored as sent. When the spool directory
// cannot be written, a small message is still delivered and a large one
// gets a temporary failure for each recipient, the session going on.
func TestLMTPSpool(t *testing.T) {
	e := start(t, 2, func(o *smtpserver.Options) { o.SpoolDir = filepath.Join(t.TempDir(), "missing") })
	line := strings.Repeat("x", 76) + "\r\n"
	small := "Subject: small\r\n\r\n" + strings.Repeat(line, 100)
	large := "Subject: large\r\n\r\n" + strings.Repeat(line, 4000) // 312 KiB
	c := dial(t, "tcp", e.addr)
	send := func(msg string, want ...string) {
		t.Helper()
		c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
		c.cmd("RCPT TO:<alice@acme.test>", "250 2.1.5")
		c.cmd("RCPT TO:<bob@acme.test>", "250 2.1.5")
		c.cmd("DATA", "354")
		c.send(msg + ".")
		for _, w := range want {
			c.expect(w)
		}
	}
	send(small, "250 2.0.0 <alice@acme.test>", "250 2.0.0 <bob@acme.test>")
	send(large, "451 4.3.0", "451 4.3.0")
	if n := inboxCount(t, e.db, "alice"); n != 1 {
		t.Fatalf("alice has %d messages, want the small one", n)
	}
	// With a spool directory, the large one is delivered too.
	e2 := start(t, 2)
	c = dial(t, "tcp", e2.addr)
	send(large, "250 2.0.0 <alice@acme.test>", "250 2.0.0 <bob@acme.test>")
	inbox, _ := mail.Inbox(sys, e2.db, "bob")
	l, _ := e2.db.ListItems(sys, inbox, 1, 0)
	if len(l) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(l))
	}
	r, err := e2.db.OpenItem(sys, l[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != large {
		t.Errorf("the large message was stored with %d bytes, want %d", len(b), len(large))
	}
	if ents, _ := os.ReadDir(e2.dir); slices.ContainsFunc(ents, func(d os.DirEntry) bool { return strings.HasPrefix(d.Name(), "lmtp-") }) {
		t.Errorf("a spool file was left behind")
	}
}
