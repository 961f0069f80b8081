package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestShardedMutualTLS: the sharded mode with mutual TLS instead of the
// shard secret (no shard_secret_file on any node). Mail to the frontend's
// LMTP is relayed to each user's backend over STARTTLS with the
// frontend's client certificate (the backends require one on LMTP);
// Python's imaplib and poplib read it through the frontend, which logs
// in to the backends by its certificate. On a backend directly: LMTP
// without a certificate gets 530, and the proxy identity is refused
// without TLS and with a certificate of another CA, and accepted with
// a certificate of the cluster's CA (the service identity).
func TestShardedMutualTLS(t *testing.T) {
	testenv.PostgresDSN(t)
	bin := roostBinary(t)
	ca := testenv.NewCA(t, "Roost cluster CA")
	other := testenv.NewCA(t, "Another CA")
	nodes := startShard(t, bin, ca)
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "alice@example.test", "Subject: for alice\r\n\r\nhello alice\r\n")
	lmtpDeliver(t, front.lmtp, "dave@remote.test", "bob@example.test", "Subject: for bob\r\n\r\nhello bob\r\n")
	for _, c := range []struct {
		n    *clusterNode
		user string
	}{{a, "alice"}, {b, "bob"}} {
		if !logHasSoon(c.n.proc.out, "msg=delivered proto=delivery user="+c.user+" ") {
			t.Errorf("%s logged no delivery to %s", c.n.name, c.user)
		}
	}

	script := `
import imaplib, sys
host, port = sys.argv[1].rsplit(":", 1)
for user in sys.argv[2:]:
    m = imaplib.IMAP4(host, int(port))
    m.login(user, "secret-pw")
    typ, data = m.select("INBOX")
    typ, body = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    print(user, int(data[0]), body[0][1].decode().strip())
    m.logout()
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, front.imap, "alice", "bob").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib through the frontend: %v\n%s", err, out)
	}
	if want := "alice 1 Subject: for alice\nbob 1 Subject: for bob\n"; string(out) != want {
		t.Errorf("imaplib through the frontend:\n%s\nwant\n%s", out, want)
	}
	pop := `
import poplib, sys
host, port = sys.argv[1].rsplit(":", 1)
p = poplib.POP3(host, int(port))
p.user("bob")
p.pass_("secret-pw")
print(p.stat()[0])
p.quit()
`
	if out, err := exec.Command("/usr/bin/python3", "-c", pop, front.pop3).CombinedOutput(); err != nil || string(out) != "1\n" {
		t.Errorf("poplib through the frontend: %q, %v", out, err)
	}
	if !logHasSoon(a.proc.out, "proto=imap", "remote=127.0.0.1", "via=127.0.0.4", "user=alice") {
		t.Errorf("node-a has no IMAP session of alice from the client via the frontend")
	}
	// ManageSieve: the frontend STARTTLSes with its certificate.
	sieveThroughFrontend(t, front.sieve, "alice")
	if !logHasSoon(a.proc.out, "proto=managesieve", "script stored", "remote=127.0.0.1", "via=127.0.0.4", "user=alice") {
		t.Errorf("node-a stored no script of alice from the client via the frontend")
	}

	// CalDAV, JMAP and EventSource through the frontend, which sends
	// them to the backends' HTTPS endpoints with its certificate.
	shardHTTPThroughFrontend(t, a, b, front, "")

	// LMTP straight to a backend without a certificate.
	lc, err := net.DialTimeout("tcp", a.lmtp, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	lc.SetDeadline(time.Now().Add(30 * time.Second))
	lr := bufio.NewReader(lc)
	lr.ReadString('\n')
	fmt.Fprintf(lc, "LHLO test\r\n")
	for l, _ := lr.ReadString('\n'); len(l) > 3 && l[3] == '-'; l, _ = lr.ReadString('\n') {
	}
	fmt.Fprintf(lc, "MAIL FROM:<x@remote.test>\r\n")
	if l, _ := lr.ReadString('\n'); !strings.HasPrefix(l, "530 5.7.0") {
		t.Errorf("LMTP MAIL on a backend without a certificate: %q", l)
	}

	// The proxy identity straight to a backend.
	plain := base64.StdEncoding.EncodeToString([]byte("alice\x00@roost-proxy\x00"))
	c := imapDial(t, a.imap)
	c.send("x1 AUTHENTICATE PLAIN " + plain)
	if l := c.expect("x1 "); !strings.HasPrefix(l, "x1 NO") {
		t.Errorf("proxy login without TLS: %q", l)
	}
	withCert := func(leaf *testenv.Leaf) string {
		c := imapDial(t, a.imap)
		c.send("x0 STARTTLS")
		c.expect("x0 OK")
		tc := tls.Client(c.conn, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, RootCAs: ca.Pool, ServerName: a.ip})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("STARTTLS with node-a: %v", err)
		}
		c.conn, c.r = tc, bufio.NewReader(tc)
		c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		c.send("x1 AUTHENTICATE PLAIN " + plain)
		return c.expect("x1 ")
	}
	if l := withCert(other.Issue("intruder", "127.0.0.1")); !strings.HasPrefix(l, "x1 NO") {
		t.Errorf("proxy login with a certificate of another CA: %q", l)
	}
	if l := withCert(ca.Issue("admin-tool", "127.0.0.1")); !strings.HasPrefix(l, "x1 OK") {
		t.Errorf("proxy login with a certificate of the cluster's CA: %q", l)
	}
}
