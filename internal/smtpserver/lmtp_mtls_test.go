package smtpserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// starttls upgrades c with conf and greets again.
func (c *client) starttls(conf *tls.Config) {
	c.t.Helper()
	c.cmd("STARTTLS", "220 2.0.0")
	tc := tls.Client(c.c, conf)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.send("LHLO test")
	for l := c.line(); !strings.HasPrefix(l, "250 "); l = c.line() {
		if strings.Contains(l, "STARTTLS") {
			c.t.Errorf("STARTTLS offered again after TLS: %q", l)
		}
	}
}

// TestLMTPClientCertificate: with ClientCAs (ssl_ca_file and
// lmtp_require_client_certificate) LMTP on TCP takes MAIL only from a
// client that STARTTLSed with a certificate of that CA: without TLS, or
// with a certificate of another CA, MAIL gets 530 5.7.0. The unix socket
// is not held to it. A frontend relaying with RelayTLS and a good
// certificate delivers to the backend; one whose certificate is of
// another CA gets a temporary failure for the recipient, nothing is
// delivered.
func TestLMTPClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "Roost cluster CA")
	other := testenv.NewCA(t, "Another CA")
	be := start(t, 2, func(o *smtpserver.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue("node-a").TLS}, ClientAuth: tls.RequestClientCert}
		o.ClientCAs = ca.Pool
	})
	msg := func(c *client, rcpt string, want string) {
		t.Helper()
		c.cmd("MAIL FROM:<sender@example.test>", "250")
		c.cmd("RCPT TO:<"+rcpt+">", "250")
		c.cmd("DATA", "354")
		c.send("Subject: mtls\r\n\r\nhello\r\n.")
		c.expect(want)
	}

	plain := dial(t, "tcp", be.addr)
	plain.cmd("MAIL FROM:<sender@example.test>", "530 5.7.0")
	sock := dial(t, "unix", be.sock)
	msg(sock, "alice@acme.test", "250 2.0.0")

	bad := dial(t, "tcp", be.addr)
	bad.starttls(&tls.Config{Certificates: []tls.Certificate{other.Issue("mta-x").TLS}, RootCAs: ca.Pool, ServerName: "localhost"})
	bad.cmd("MAIL FROM:<sender@example.test>", "530 5.7.0")
	none := dial(t, "tcp", be.addr)
	none.starttls(&tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	none.cmd("MAIL FROM:<sender@example.test>", "530 5.7.0")

	good := dial(t, "tcp", be.addr)
	good.starttls(&tls.Config{Certificates: []tls.Certificate{ca.Issue("mta").TLS}, RootCAs: ca.Pool, ServerName: "localhost"})
	msg(good, "alice@acme.test", "250 2.0.0")
	if n := inboxCount(t, be.db, "alice"); n != 2 {
		t.Fatalf("alice has %d messages, want 2", n)
	}

	frontend := func(conf *tls.Config) string {
		fe := smtpserver.NewLMTP(smtpserver.Options{Store: be.db, Hostname: "front.test", SpoolDir: t.TempDir(), Logger: testenv.Logger(t),
			RelayTLS: conf,
			Route: func(ctx context.Context, users []*store.User) (string, error) {
				if users[0].Login == "bob" {
					return be.addr, nil
				}
				return "", nil
			}})
		ln := testenv.Listen(t)
		go fe.Serve(ln, false)
		t.Cleanup(func() { fe.Close() })
		return ln.Addr().String()
	}
	msg(dial(t, "tcp", frontend(&tls.Config{Certificates: []tls.Certificate{ca.Issue("node-c").TLS}, RootCAs: ca.Pool})),
		"bob@acme.test", "250 2.0.0")
	msg(dial(t, "tcp", frontend(&tls.Config{Certificates: []tls.Certificate{other.Issue("node-x").TLS}, RootCAs: ca.Pool})),
		"bob@acme.test", "451 4.3.0")
	msg(dial(t, "tcp", frontend(nil)), "bob@acme.test", "451 4.3.0")
	if n := inboxCount(t, be.db, "bob"); n != 1 {
		t.Fatalf("bob has %d messages, want 1 (the relay with the good certificate)", n)
	}
}
