package pop3server_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestProxyClientCertificate: with ProxyClientCAs the POP3 backend
// accepts the proxy login only from a frontend presenting a client
// certificate of that CA after STLS; one of another CA, a server-only
// certificate, none, or the bare secret is refused and the client gets
// a temporary failure from its frontend.
func TestProxyClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "Roost cluster CA")
	other := testenv.NewCA(t, "Another CA")
	var logins atomic.Int32
	var db interface {
		Principal(context.Context, string) (*store.Principal, error)
	}
	be := start(t, true, func(o *pop3server.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue("node-a").TLS}, ClientAuth: tls.RequestClientCert}
		o.ProxySecret = shardSecret
		o.ProxyClientCAs = ca.Pool
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			logins.Add(1)
			return db.Principal(store.SystemContext(ctx), login)
		}
	})
	db = be.db
	be.add(t, "Subject: one\r\n\r\nbody\r\n")
	a := &directory.Authenticator{Store: be.db, Throttle: &auth.Throttle{}}
	frontend := func(conf *tls.Config) string {
		fe := pop3server.New(pop3server.Options{Store: be.db, Hostname: "front.test", AllowPlaintextAuth: true, Logger: testenv.Logger(t),
			Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
				return a.Authenticate(ctx, login, pw, remote, "pop3")
			},
			ProxySecret: shardSecret, ProxyTLS: conf,
			Route: func(ctx context.Context, p *store.Principal) (string, error) { return be.addr, nil }})
		ln := testenv.Listen(t)
		go fe.Serve(ln, false)
		t.Cleanup(func() { fe.Close() })
		return ln.Addr().String()
	}

	c := dial(t, frontend(&tls.Config{Certificates: []tls.Certificate{ca.Issue("node-c").TLS}, RootCAs: ca.Pool}))
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK maildrop has 1 messages") {
		t.Fatalf("PASS through a frontend with a good certificate: %q", l)
	}
	c.cmd("QUIT")

	for _, bad := range []struct {
		name string
		conf *tls.Config
	}{
		{"a certificate of another CA", &tls.Config{Certificates: []tls.Certificate{other.Issue("node-x").TLS}, RootCAs: ca.Pool}},
		{"a server-only certificate", &tls.Config{Certificates: []tls.Certificate{ca.IssueServerOnly("node-y").TLS}, RootCAs: ca.Pool}},
		{"no certificate", &tls.Config{RootCAs: ca.Pool}},
		{"no TLS, the shared secret only", nil},
	} {
		c := dial(t, frontend(bad.conf))
		c.cmd("USER alice")
		if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "-ERR [SYS/TEMP]") {
			t.Errorf("%s: %q, want -ERR [SYS/TEMP]", bad.name, l)
		}
	}
	if n := logins.Load(); n != 1 {
		t.Fatalf("backend admitted %d proxied logins, want 1", n)
	}
	d := dial(t, be.addr)
	if l := d.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("alice\x00"+pop3server.ProxyIdentity+"\x00"+string(shardSecret)))); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("proxy identity with the secret but no certificate: %q", l)
	}
}
