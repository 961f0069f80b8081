package imapserver_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestProxyClientCertificate: with ProxyClientCAs (ssl_ca_file) a
// backend accepts the proxy login only from a frontend whose client
// certificate chains to that CA (mutual TLS, the service identity); the
// shared secret no longer suffices. A frontend presenting a certificate
// of another CA, one without client authentication, or none at all is
// refused (the client gets NO [UNAVAILABLE] from its frontend), and so
// is a stranger with the secret.
func TestProxyClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "Roost cluster CA")
	other := testenv.NewCA(t, "Another CA")
	var logins atomic.Int32
	be := newEnv(t, func(o *imapserver.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue("node-a").TLS}, ClientAuth: tls.RequestClientCert,
			MinVersion: tls.VersionTLS12}
		o.ProxySecret = shardSecret
		o.ProxyClientCAs = ca.Pool
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			logins.Add(1)
			return be0(o).Principal(store.SystemContext(ctx), login)
		}
	})
	be.deliver(be.folder("alice", "inbox").ID, testMsg(1))
	frontend := func(conf *tls.Config) *env {
		fe := imapserver.New(imapserver.Options{Store: be.db, Logger: testLogger(t), Hostname: "front.test",
			AllowPlaintextAuth: true, Authenticate: authenticator(be.db), ProxySecret: shardSecret, ProxyTLS: conf,
			Route: func(ctx context.Context, p *store.Principal) (string, error) { return be.addr, nil }})
		ln := testenv.Listen(t)
		go fe.Serve(ln, false)
		t.Cleanup(func() { fe.Close() })
		front := *be
		front.addr = ln.Addr().String()
		return &front
	}

	good := frontend(&tls.Config{Certificates: []tls.Certificate{ca.Issue("node-c").TLS}, RootCAs: ca.Pool})
	c := good.dial()
	if _, st := c.cmd("LOGIN alice %s", password("alice")); !strings.HasPrefix(st, "OK [CAPABILITY ") {
		t.Fatalf("LOGIN through a frontend with a good certificate: %q", st)
	}
	if lines := c.ok("SELECT INBOX"); !strings.Contains(strings.Join(lines, "\n"), "* 1 EXISTS") {
		t.Errorf("SELECT through the frontend: %q", lines)
	}
	c.ok("LOGOUT")
	if logins.Load() != 1 {
		t.Fatalf("backend admitted %d proxied logins, want 1", logins.Load())
	}

	for _, bad := range []struct {
		name string
		conf *tls.Config
	}{
		{"a certificate of another CA", &tls.Config{Certificates: []tls.Certificate{other.Issue("node-x").TLS}, RootCAs: ca.Pool}},
		{"a server-only certificate", &tls.Config{Certificates: []tls.Certificate{ca.IssueServerOnly("node-y").TLS}, RootCAs: ca.Pool}},
		{"no certificate", &tls.Config{RootCAs: ca.Pool}},
		{"no TLS, the shared secret only", nil},
	} {
		f := frontend(bad.conf)
		c := f.dial()
		if st := c.fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "UNAVAILABLE") {
			t.Errorf("%s: %q, want NO [UNAVAILABLE]", bad.name, st)
		}
	}
	// A frontend that does not trust the backend's certificate stops
	// before sending anything.
	f := frontend(&tls.Config{Certificates: []tls.Certificate{ca.Issue("node-d").TLS}, RootCAs: other.Pool})
	if st := f.dial().fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "UNAVAILABLE") {
		t.Errorf("backend certificate not trusted: %q", st)
	}
	if logins.Load() != 1 {
		t.Fatalf("backend admitted %d proxied logins, want 1", logins.Load())
	}

	// A client straight to the backend with the secret: refused with
	// the protocol's error.
	d := be.dial()
	d.fail("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("alice\x00"+imapserver.ProxyIdentity+"\x00"+string(shardSecret))))
}
