package sieveserver_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

var shardSecret = []byte("a-shard-secret-of-at-least-32-characters")

// TestProxyFrontend: a ManageSieve frontend authenticates alice, logs in
// to her backend with the shard secret after naming her address in
// XCLIENT, and passes the session through: the script she stores through
// the frontend is on the backend, which saw her address. A wrong password
// never reaches the backend; the proxy identity without the secret, or
// XCLIENT on a server that is no backend, is refused.
func TestProxyFrontend(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var be *env
	be = newEnv(t, func(o *sieveserver.Options) {
		o.AllowPlaintextAuth = true
		o.ProxySecret = shardSecret
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			mu.Lock()
			seen = append(seen, remote.String())
			mu.Unlock()
			return be.db.Principal(store.SystemContext(ctx), login)
		}
	})
	var routed []string
	fe := newEnv(t, func(o *sieveserver.Options) {
		o.Store, o.Scripts = be.db, nil
		o.Authenticate = authenticator(be.db)
		o.AllowPlaintextAuth = true
		o.ProxySecret = shardSecret
		o.Route = func(ctx context.Context, p *store.Principal) (string, error) {
			mu.Lock()
			routed = append(routed, p.Login)
			mu.Unlock()
			if p.Login == "bob" {
				return "", nil // served here
			}
			return be.addr, nil
		}
	})

	c := fe.dial()
	c.login("alice")
	c.cmd(`PUTSCRIPT "vacation" `+literal(`keep;`), "OK")
	c.cmd(`SETACTIVE "vacation"`, "OK")
	caps := strings.Join(c.cmd("CAPABILITY", "OK"), "\n")
	if !strings.Contains(caps, `"OWNER" "alice"`) {
		t.Errorf("capabilities through the frontend (the backend's, after login): %s", caps)
	}
	c.cmd("LOGOUT", "OK")
	mu.Lock()
	if len(seen) != 1 || seen[0] != c.c.LocalAddr().String() {
		t.Errorf("backend saw %q, the client is %s", seen, c.c.LocalAddr())
	}
	mu.Unlock()
	// The script is alice's, and listed on the backend.
	d := be.dial()
	d.login("alice")
	if l := d.cmd("LISTSCRIPTS", "OK"); len(l) != 1 || l[0] != `"vacation" ACTIVE` {
		t.Errorf("alice's scripts on the backend: %q", l)
	}

	// bob is served by the frontend itself.
	b := fe.dial()
	b.login("bob")
	b.cmd("LISTSCRIPTS", "OK")
	mu.Lock()
	if len(seen) != 1 || strings.Join(routed, ",") != "alice,bob" {
		t.Errorf("bob was proxied (backend logins %q, routed %q)", seen, routed)
	}
	mu.Unlock()

	// A wrong password is refused by the frontend.
	w := fe.dial()
	w.cmd(`AUTHENTICATE "PLAIN" "`+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong"))+`"`, "NO")
	mu.Lock()
	if len(seen) != 1 {
		t.Errorf("a wrong password reached the backend: %q", seen)
	}
	mu.Unlock()

	// The proxy identity with a wrong secret, straight to the backend.
	x := be.dial()
	x.cmd("XCLIENT ADDR=198.51.100.7 PORT=1234", "OK")
	x.cmd(`AUTHENTICATE "PLAIN" "`+base64.StdEncoding.EncodeToString([]byte("alice\x00"+sieveserver.ProxyIdentity+"\x00guess"))+`"`, "NO")
	// XCLIENT is no command of a server that is not a backend.
	fe.dial().cmd("XCLIENT ADDR=198.51.100.7", "NO")
}

// TestProxyBackendDown: a backend that cannot be reached, or that refuses
// the proxy login, is a temporary failure for the client.
func TestProxyBackendDown(t *testing.T) {
	be := newEnv(t, func(o *sieveserver.Options) {
		o.AllowPlaintextAuth = true
		o.ProxySecret = []byte("another-secret-of-at-least-32-characters")
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			t.Error("the backend admitted a proxy login with a wrong secret")
			return nil, nil
		}
	})
	ln := testenv.Listen(t)
	down := ln.Addr().String()
	ln.Close()
	for _, addr := range []string{down, be.addr} {
		fe := newEnv(t, func(o *sieveserver.Options) {
			o.AllowPlaintextAuth = true
			o.ProxySecret = shardSecret
			o.Route = func(ctx context.Context, p *store.Principal) (string, error) { return addr, nil }
		})
		c := fe.dial()
		resp := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + password("alice")))
		c.cmd(`AUTHENTICATE "PLAIN" "`+resp+`"`, "NO (TRYLATER)")
	}
}

// TestProxyMutualTLS: with ProxyTLS the frontend STARTTLSes with its
// client certificate; a backend with ProxyClientCAs admits the proxy
// login by that certificate (no secret), and refuses it over plain TCP.
func TestProxyMutualTLS(t *testing.T) {
	ca := testenv.NewCA(t, "cluster")
	srvCert := ca.Issue("backend", "127.0.0.1").TLS
	cliCert := ca.Issue("frontend", "127.0.0.1").TLS
	var be *env
	be = newEnv(t, func(o *sieveserver.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
		o.ProxyClientCAs = ca.Pool
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			return be.db.Principal(store.SystemContext(ctx), login)
		}
	})
	fe := newEnv(t, func(o *sieveserver.Options) {
		o.Store, o.Scripts, o.Authenticate = be.db, nil, authenticator(be.db)
		o.AllowPlaintextAuth = true
		o.ProxyTLS = &tls.Config{Certificates: []tls.Certificate{cliCert}, RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}
		o.Route = func(ctx context.Context, p *store.Principal) (string, error) { return be.addr, nil }
	})
	c := fe.dial()
	c.login("alice")
	c.cmd(`PUTSCRIPT "s" `+literal(`keep;`), "OK")

	// Without TLS (no certificate) the backend refuses the identity.
	d := be.dial()
	d.cmd(`AUTHENTICATE "PLAIN" "`+base64.StdEncoding.EncodeToString([]byte("alice\x00"+sieveserver.ProxyIdentity+"\x00"))+`"`, "NO")
}
