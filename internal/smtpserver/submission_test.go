package smtpserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/queue"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// The submission harness: a real store (tenant acme, domain acme.test:
// alice, bob, carol who lets alice send as her, dave over his soft
// quota), the real queue, and the server on 127.0.0.1 with STARTTLS
// (addr) and implicit TLS (tlsAddr).

var subSys = testenv.Sys

type subEnv struct {
	t       *testing.T
	db      *sqlstore.DB
	q       *queue.Queue
	addr    string
	tlsAddr string
	srv     *smtpserver.Submission
}

func subTestCert() tls.Certificate {
	c, _, _ := testenv.Cert()
	return c
}

// subHash is an argon2id hash with tiny parameters so that logins are fast.
func subHash(pw string) string { return testenv.CheapHash(pw) }

func subPassword(login string) string { return "pw-" + login }

func startSubmission(t *testing.T, mod func(*smtpserver.SubmissionOptions, *queue.Options)) *subEnv {
	t.Helper()
	s := testenv.Open(t, testenv.Options{})
	db, dir := s.DB, s.Dir
	s.Tenants(t, "acme")
	if err := db.AddDomain(subSys, "acme", "acme.test"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"alice", "bob", "carol", "dave"} {
		s.User(t, "acme", store.User{Login: l, Active: true}, subPassword(l))
	}
	if _, err := db.UpdateUser(subSys, "carol", store.UserUpdate{SendAsAdd: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	on, soft := true, int64(10)
	if _, err := db.UpdateUser(subSys, "dave", store.UserUpdate{QuotaOverride: &on, QuotaSoft: &soft}); err != nil {
		t.Fatal(err)
	}
	inbox, err := mail.Inbox(subSys, db, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendItem(subSys, inbox, store.NewItem{Content: strings.NewReader("Subject: big\r\n\r\n" + strings.Repeat("x", 100) + "\r\n")}); err != nil {
		t.Fatal(err)
	}
	del := &mail.Deliverer{Store: db}
	qo := queue.Options{Store: db, Hostname: "submit.test",
		Local: func(ctx context.Context, from string, rcpts []string, open func() (io.ReadCloser, error)) []error {
			errs := make([]error, len(rcpts))
			for i, r := range rcpts {
				users, err := db.Recipients(store.SystemContext(ctx), r)
				if err != nil {
					errs[i] = err
					continue
				}
				for _, res := range del.DeliverMessage(ctx, from, []mail.Recipient{{Addr: r, Users: users}}, open) {
					if res.Err != nil {
						errs[i] = res.Err
					}
				}
			}
			return errs
		}}
	so := smtpserver.SubmissionOptions{Hostname: "submit.test", SpoolDir: dir, SentCopy: true,
		TLS:          &tls.Config{Certificates: []tls.Certificate{subTestCert()}},
		Authenticate: subAuthenticator(db), MaxMessageBytes: 1 << 20, MaxRecipients: 5, MaxHeaderBytes: 64 << 10,
		URLs: &urlauth.Resolver{Store: db}, Logger: testenv.Logger(t)}
	if mod != nil {
		mod(&so, &qo)
	}
	q := queue.New(qo)
	so.Queue = q
	srv := smtpserver.NewSubmission(so)
	ln, tln := testenv.Listen(t), testenv.Listen(t)
	go srv.Serve(ln, false)
	go srv.Serve(tln, true)
	t.Cleanup(func() { srv.Close() })
	return &subEnv{t: t, db: db, q: q, addr: ln.Addr().String(), tlsAddr: tln.Addr().String(), srv: srv}
}

// subAuthenticator checks the password (inactive users too) and returns
// the principal from the store.
func subAuthenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return testenv.Authenticator(b, true)
}

// messages returns the messages in a user's special folder.
func (e *subEnv) messages(login, special string) []string {
	e.t.Helper()
	st, err := e.db.UserStore(subSys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	fs, err := e.db.ListFolders(subSys, st.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special != special {
			continue
		}
		items, err := e.db.ListItems(subSys, f.ID, 1, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			rc, err := e.db.OpenItem(subSys, it.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			out = append(out, string(b))
		}
		return out
	}
	e.t.Fatalf("no %s folder", special)
	return nil
}

// sc is a raw SMTP client.
type sc struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func subDial(t *testing.T, addr string, implicitTLS bool) *sc {
	t.Helper()
	var c net.Conn
	var err error
	if implicitTLS {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &sc{t: t, c: c, r: bufio.NewReader(c)}
	s.expect("220 ")
	return s
}

// reply reads a whole reply and returns its lines.
func (s *sc) reply() []string {
	s.t.Helper()
	var out []string
	for {
		s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read: %v (so far %q)", err, out)
		}
		l = strings.TrimRight(l, "\r\n")
		out = append(out, l)
		if len(l) < 4 || l[3] != '-' {
			return out
		}
	}
}

func (s *sc) send(line string) { fmt.Fprintf(s.c, "%s\r\n", line) }

func (s *sc) expect(prefix string) string {
	s.t.Helper()
	r := s.reply()
	last := r[len(r)-1]
	if !strings.HasPrefix(last, prefix) {
		s.t.Fatalf("got %q, want %s…", r, prefix)
	}
	return strings.Join(r, "\n")
}

func (s *sc) cmd(line, prefix string) string {
	s.t.Helper()
	s.send(line)
	return s.expect(prefix)
}

// closed reports whether the server closed the connection.
func (s *sc) closed() bool {
	s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := s.r.ReadString('\n')
	return err != nil
}

// startTLS upgrades the connection.
func (s *sc) startTLS() {
	s.t.Helper()
	s.cmd("STARTTLS", "220 ")
	tc := tls.Client(s.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		s.t.Fatal(err)
	}
	s.c, s.r = tc, bufio.NewReader(tc)
}

// login returns a client that is in TLS, greeted and authenticated.
func (e *subEnv) login(user string) *sc {
	s := subDial(e.t, e.addr, false)
	s.cmd("EHLO client.test", "250 ")
	s.startTLS()
	s.cmd("EHLO client.test", "250 ")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + subPassword(user)))
	s.cmd("AUTH PLAIN "+plain, "235 2.7.0")
	return s
}

func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s is required (ROOST_REQUIRE_CLIENTS is set): %v", path, err)
		}
		t.Skipf("%s not installed", path)
	}
}

func TestSubmissionSwaks(t *testing.T) {
	t.Parallel()
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		swaks = "/usr/bin/swaks"
	}
	needTool(t, swaks)
	e := startSubmission(t, nil)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"starttls-plain", []string{"--server", e.addr, "--tls", "--auth", "PLAIN"}},
		{"implicit-login", []string{"--server", e.tlsAddr, "--tlsc", "--auth", "LOGIN"}},
		{"starttls-pipelining", []string{"--server", e.addr, "--tls", "--auth", "PLAIN", "--pipeline"}},
	} {
		args := append(c.args, "--auth-user", "alice", "--auth-password", subPassword("alice"),
			"--from", "alice@acme.test", "--to", "bob@acme.test", "--h-From", "<alice@acme.test>",
			"--header", "Subject: swaks "+c.name, "--body", "hello from swaks", "--ehlo", "client.test", "--timeout", "30")
		out, err := exec.Command(swaks, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: swaks: %v\n%s", c.name, err, out)
		}
		if !strings.Contains(string(out), "250 2.0.0 message delivered") {
			t.Fatalf("%s: no 250 for the data:\n%s", c.name, out)
		}
	}
	inbox := e.messages("bob", store.SpecialInbox)
	if len(inbox) != 3 {
		t.Fatalf("bob has %d messages", len(inbox))
	}
	if sent := e.messages("alice", store.SpecialSent); len(sent) != 3 || !strings.Contains(sent[0], "Subject: swaks") {
		t.Fatalf("alice's Sent: %d", len(sent))
	}
	// AUTH before TLS: swaks reports the server's refusal.
	out, err := exec.Command(swaks, "--server", e.addr, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", subPassword("alice"),
		"--from", "alice@acme.test", "--to", "bob@acme.test", "--timeout", "30").CombinedOutput()
	if err == nil || strings.Contains(string(out), "250 2.0.0") {
		t.Fatalf("AUTH without TLS went through:\n%s", out)
	}
}

const smtplibScript = `
import smtplib, ssl, sys
from email.message import EmailMessage
host, port, tlsport, user, pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def msg(frm, subj):
    m = EmailMessage()
    m["From"] = frm
    m["To"] = "bob@acme.test"
    m["Subject"] = subj
    m.set_content("hello from smtplib\n")
    return m
with smtplib.SMTP(host, port) as s:
    s.starttls(context=ctx)
    s.login(user, pw)
    s.send_message(msg("alice@acme.test", "smtplib starttls"))
    s.send_message(msg("Carol <carol@acme.test>", "smtplib send-as"), from_addr="carol@acme.test")
    try:
        s.send_message(msg("bob@acme.test", "forged"), from_addr="bob@acme.test")
        print("FORGED-ACCEPTED")
    except smtplib.SMTPSenderRefused as e:
        print("REFUSED", e.smtp_code, e.smtp_error.decode())
with smtplib.SMTP_SSL(host, tlsport, context=ctx) as s:
    s.login(user, pw)
    s.send_message(msg("alice@acme.test", "smtplib implicit"))
print("OK")
`

func TestSubmissionSmtplib(t *testing.T) {
	t.Parallel()
	needTool(t, "/usr/bin/python3")
	e := startSubmission(t, nil)
	host, port, _ := net.SplitHostPort(e.addr)
	_, tport, _ := net.SplitHostPort(e.tlsAddr)
	out, err := exec.Command("/usr/bin/python3", "-c", smtplibScript, host, port, tport, "alice", subPassword("alice")).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "REFUSED 553 5.7.1") || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("output:\n%s", out)
	}
	inbox := e.messages("bob", store.SpecialInbox)
	var subjects []string
	for _, m := range inbox {
		for _, l := range strings.Split(m, "\r\n") {
			if strings.HasPrefix(l, "Subject: ") {
				subjects = append(subjects, strings.TrimPrefix(l, "Subject: "))
			}
		}
	}
	if strings.Join(subjects, ",") != "smtplib starttls,smtplib send-as,smtplib implicit" {
		t.Fatalf("bob got %q", subjects)
	}
}

func TestSubmissionAuthRules(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	s := subDial(t, e.addr, false)
	ehlo := s.cmd("EHLO client.test", "250 ")
	for _, ext := range []string{"PIPELINING", "SIZE 1048576", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "CHUNKING", "STARTTLS"} {
		if !strings.Contains(ehlo, ext) {
			t.Errorf("EHLO lacks %s:\n%s", ext, ehlo)
		}
	}
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH advertised without TLS:\n%s", ehlo)
	}
	s.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00"+subPassword("alice"))), "530 5.7.0")
	s.cmd("MAIL FROM:<alice@acme.test>", "530 5.7.0")
	s.startTLS()
	ehlo = s.cmd("EHLO client.test", "250 ")
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO after TLS:\n%s", ehlo)
	}
	s.cmd("MAIL FROM:<alice@acme.test>", "530 5.7.0")
	s.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong")), "535 5.7.8")
	// AUTH LOGIN with challenges, and cancel.
	s.cmd("AUTH LOGIN", "334 ")
	s.cmd("*", "501 ")
	s.cmd("AUTH LOGIN "+base64.StdEncoding.EncodeToString([]byte("alice")), "334 ")
	s.cmd(base64.StdEncoding.EncodeToString([]byte(subPassword("alice"))), "235 2.7.0")
	s.cmd("AUTH PLAIN x", "503 ")
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("QUIT", "221 ")

	// Three failed logins end the session.
	s = subDial(t, e.tlsAddr, true)
	s.cmd("EHLO c", "250 ")
	s.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00a")), "535 ")
	s.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00b")), "535 ")
	s.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00c")))
	if r := s.reply(); !strings.HasPrefix(r[0], "535 ") {
		t.Fatalf("got %q", r)
	}
	s.expect("421 ")
	if !s.closed() {
		t.Fatal("session not closed")
	}
}

func TestSubmissionPipelinedAfterSTARTTLS(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	s := subDial(t, e.addr, false)
	s.cmd("EHLO client.test", "250 ")
	s.send("STARTTLS\r\nMAIL FROM:<alice@acme.test>")
	s.expect("554 5.5.1")
	if !s.closed() {
		t.Fatal("session continued after injected commands")
	}
	// The server still serves others.
	s = e.login("alice")
	s.cmd("NOOP", "250 ")
}

func TestSubmissionEndToEnd(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	s := e.login("alice")
	// Pipelined envelope (RFC 2920), DSN parameters, a remote recipient
	// (queued) and a local one (delivered at once).
	s.send("MAIL FROM:<alice@acme.test> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2Bd\r\nRCPT TO:<bob@acme.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@acme.test\r\nRCPT TO:<x@remote.test>\r\nDATA")
	s.expect("250 2.1.0")
	s.expect("250 2.1.5")
	s.expect("250 2.1.5")
	s.expect("354 ")
	s.send("From: <alice@acme.test>\r\nTo: <bob@acme.test>\r\nSubject: e2e\r\n\r\n..dot\r\n.")
	r := s.expect("250 2.0.0 message accepted (queue id ")
	ms, err := e.db.ListQueue(subSys)
	if err != nil || len(ms) != 2 {
		t.Fatalf("queue: %v %v", ms, err)
	}
	// One is the message for the remote recipient, the other the success
	// DSN for bob (NOTIFY=SUCCESS) to alice, from the null sender.
	m, dsn := ms[0], ms[1]
	if m.From == "" {
		m, dsn = dsn, m
	}
	if dsn.From != "" || len(dsn.Recipients) != 1 || dsn.Recipients[0].Addr != "alice@acme.test" {
		t.Fatalf("dsn %+v", dsn)
	}
	if m.From != "alice@acme.test" || m.EnvID != "abc+d" || m.Ret != "HDRS" || len(m.Recipients) != 1 || m.Recipients[0].Addr != "x@remote.test" || !strings.Contains(r, fmt.Sprint(m.ID)) {
		t.Fatalf("queued %+v", m)
	}
	in := e.messages("bob", store.SpecialInbox)
	if len(in) != 1 || !strings.Contains(in[0], "\r\n\r\n.dot\r\n") {
		t.Fatalf("bob: %q", in)
	}
	// BDAT (RFC 3030).
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("RCPT TO:<bob@acme.test>", "250 ")
	chunk1 := "From: <alice@acme.test>\r\nSubject: chunked\r\n"
	chunk2 := "\r\nin chunks\r\n"
	fmt.Fprintf(s.c, "BDAT %d\r\n%s", len(chunk1), chunk1)
	s.expect("250 ")
	fmt.Fprintf(s.c, "BDAT %d LAST\r\n%s", len(chunk2), chunk2)
	s.expect("250 2.0.0")
	in = e.messages("bob", store.SpecialInbox)
	if len(in) != 2 || !strings.Contains(in[1], "Subject: chunked\r\n") || !strings.HasSuffix(in[1], "\r\n\r\nin chunks\r\n") {
		t.Fatalf("bob: %q", in)
	}
	// Policy refusals through the protocol.
	s.cmd("MAIL FROM:<bob@acme.test>", "553 5.7.1")
	s.cmd("MAIL FROM:<carol@acme.test>", "250 ")
	s.cmd("RCPT TO:<nobody@acme.test>", "550 5.1.1")
	s.cmd("RSET", "250 ")
	d := e.login("dave")
	d.cmd("MAIL FROM:<dave@acme.test>", "250 ")
	d.cmd("RCPT TO:<bob@acme.test>", "250 ")
	d.cmd("DATA", "354 ")
	r = d.cmd("From: <dave@acme.test>\r\n\r\nhi\r\n.", "552 5.2.2")
	if !strings.Contains(r, "over its limit") {
		t.Fatalf("soft quota reply %q", r)
	}
}

func TestSubmissionBadInput(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	s := e.login("alice")
	tx := func() {
		s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
		s.cmd("RCPT TO:<bob@acme.test>", "250 ")
	}
	// SMTP smuggling forms: refused, and the session stays in sync (the
	// "smuggled" MAIL after the bare-LF dot is data, not a command).
	for _, body := range []string{
		"Subject: a\r\n\r\nx\n.\nMAIL FROM:<alice@acme.test>\r\n.\r\n",
		"Subject: a\r\n\r\nx\r\n.\nRCPT TO:<bob@acme.test>\r\n.\r\n",
		"Subject: a\r\n\r\nx\n.\r\nQUIT\r\n.\r\n",
		"Subject: a\r\n\r\nx\r.\r\n\r\n.\r\n",
		"Subject: a\r\n\r\nbare\rCR\r\n.\r\n",
	} {
		tx()
		s.cmd("DATA", "354 ")
		fmt.Fprint(s.c, body)
		s.expect("550 5.6.0")
		s.cmd("NOOP", "250 ")
	}
	// BDAT with a bare LF.
	tx()
	bare := "a\nb\r\n\r\nc"
	fmt.Fprintf(s.c, "BDAT %d LAST\r\n%s", len(bare), bare)
	s.expect("550 5.6.0")
	s.cmd("NOOP", "250 ")
	// A command line over 1000 octets.
	s.cmd("NOOP "+strings.Repeat("x", 1100), "500 5.5.2")
	s.cmd("NOOP", "250 ")
	// Malformed addresses.
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	for _, a := range []string{"RCPT TO:<bob>", "RCPT TO:bob@acme.test", "RCPT TO:<b ob@acme.test>", "RCPT TO:<bob@acme..test>", "RCPT TO:<>"} {
		s.cmd(a, "501 5.1.3")
	}
	s.cmd("RCPT TO:<bob@acme.test> NOTIFY=SOMETIMES", "501 ")
	s.cmd("RCPT TO:<bob@acme.test> FOO=1", "555 ")
	// Too many recipients (the limit is 5).
	for i := 0; i < 5; i++ {
		s.cmd(fmt.Sprintf("RCPT TO:<r%d@remote.test>", i), "250 ")
	}
	s.cmd("RCPT TO:<r9@remote.test>", "452 4.5.3")
	s.cmd("RSET", "250 ")
	// SIZE in MAIL, and a message over SIZE.
	s.cmd("MAIL FROM:<alice@acme.test> SIZE=2000000", "552 5.3.4")
	tx()
	s.cmd("DATA", "354 ")
	big := strings.Repeat(strings.Repeat("y", 100)+"\r\n", 11000)
	fmt.Fprintf(s.c, "Subject: big\r\n\r\n%s.\r\n", big)
	s.expect("552 5.3.4")
	s.cmd("NOOP", "250 ")
	// A header section over the bound (64 KiB here).
	tx()
	s.cmd("DATA", "354 ")
	fmt.Fprintf(s.c, "%s\r\nbody\r\n.\r\n", strings.Repeat("X-Junk: "+strings.Repeat("j", 90)+"\r\n", 1000))
	s.expect("552 5.3.4")
	// 10,000-deep MIME nesting is accepted and stored without harm.
	tx()
	s.cmd("DATA", "354 ")
	var nest strings.Builder
	nest.WriteString("From: <alice@acme.test>\r\nSubject: deep\r\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&nest, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	nest.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n.\r\n")
	fmt.Fprint(s.c, nest.String())
	s.expect("250 2.0.0")
	if in := e.messages("bob", store.SpecialInbox); len(in) != 1 || !strings.Contains(in[0], "Subject: deep") {
		t.Fatalf("deep message not delivered: %d", len(in))
	}
	// BDAT that is not followed by BDAT aborts the transaction.
	tx()
	fmt.Fprint(s.c, "BDAT 3\r\nabc")
	s.expect("250 ")
	s.cmd("MAIL FROM:<alice@acme.test>", "503 ")
	s.cmd("NOOP", "250 ")
	// Too many bad commands end the session.
	for i := 0; ; i++ {
		s.send("BOGUS")
		r := s.reply()
		if strings.HasPrefix(r[0], "421 ") {
			break
		}
		if i > 20 {
			t.Fatal("no 421 after many bad commands")
		}
	}
	if !s.closed() {
		t.Fatal("session not closed after 421")
	}
	// The server keeps serving.
	s = e.login("alice")
	s.cmd("NOOP", "250 ")
}

// miniSink is a plain SMTP server that accepts every message (the relay
// in the end-to-end test).
func miniSink(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				say := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
				say("220 sink")
				var env []string
				for {
					c.SetReadDeadline(time.Now().Add(30 * time.Second))
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					l = strings.TrimRight(l, "\r\n")
					switch v := strings.ToUpper(strings.Fields(l + " x")[0]); v {
					case "EHLO":
						say("250-sink\r\n250 PIPELINING")
					case "MAIL", "RCPT":
						env = append(env, l)
						say("250 ok")
					case "DATA":
						say("354 go")
						var b strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
							b.WriteString(l)
						}
						ch <- strings.Join(env, "\n") + "\n\n" + b.String()
						env = nil
						say("250 queued")
					case "QUIT":
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// TestSubmissionThroughSpooler: smtplib submits over implicit TLS, the
// running spooler sends the message on to the relay, DKIM-signed.
func TestSubmissionThroughSpooler(t *testing.T) {
	t.Parallel()
	needTool(t, "/usr/bin/python3")
	relay, got := miniSink(t)
	e := startSubmission(t, func(so *smtpserver.SubmissionOptions, qo *queue.Options) {
		qo.Relay = &queue.Relay{Addr: relay, TLS: "none"}
		qo.Poll = 50 * time.Millisecond
	})
	if _, err := queue.GenerateDKIMKey(subSys, e.db, "acme.test", "s1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	_, tport, _ := net.SplitHostPort(e.tlsAddr)
	script := `
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ctx) as s:
    s.login("alice", sys.argv[2])
    s.sendmail("alice@acme.test", ["friend@remote.test"], "From: alice@acme.test\r\nTo: friend@remote.test\r\nSubject: out\r\n\r\nbye\r\n")
print("OK")
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, tport, subPassword("alice")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("python: %v\n%s", err, out)
	}
	select {
	case m := <-got:
		for _, want := range []string{"MAIL FROM:<alice@acme.test>", "RCPT TO:<friend@remote.test>", "DKIM-Signature: ", "d=acme.test", "s=s1",
			"Received: from ", "by submit.test (Roost) with ESMTPSA", "Subject: out\r\n"} {
			if !strings.Contains(m, want) {
				t.Errorf("relayed message lacks %q:\n%s", want, m)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the spooler did not relay the message")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, _ := e.db.ListQueue(subSys)
		if len(ms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not emptied: %+v", ms[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sent := e.messages("alice", store.SpecialSent); len(sent) != 1 {
		t.Fatalf("sent copies: %d", len(sent))
	}
}

func TestSubmissionSMTPUTF8(t *testing.T) {
	t.Parallel()
	e := startSubmission(t, nil)
	s := e.login("alice")
	s.cmd("MAIL FROM:<alice@acme.test>", "250 ")
	s.cmd("RCPT TO:<jörg@remote.test>", "553 5.6.7")
	s.cmd("RSET", "250 ")
	s.cmd("MAIL FROM:<alice@acme.test> SMTPUTF8", "250 ")
	s.cmd("RCPT TO:<jörg@remote.test>", "250 ")
}

// max_connections_per_ip: the connection over the limit gets 421 before
// anything else; a place freed by a session that ended is given again.
func TestSubmissionConnectionsPerIP(t *testing.T) {
	e := startSubmission(t, func(so *smtpserver.SubmissionOptions, _ *queue.Options) { so.MaxConnectionsPerIP = 2 })
	first := subDial(t, e.addr, false)
	subDial(t, e.addr, false)
	raw, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, _ := bufio.NewReader(raw).ReadString('\n'); !strings.HasPrefix(l, "421 4.7.0") {
		t.Fatalf("third connection: %q", l)
	}
	first.c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed session was not given back")
		}
	}
}
