package pop3server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

var shardSecret = []byte("a-shard-secret-of-at-least-32-characters")

// TestProxyFrontend: a POP3 frontend authenticates alice, logs in to her
// backend with the shard secret naming her address in XCLIENT, and
// passes the session through; the proxy identity without the secret is
// refused on the backend.
func TestProxyFrontend(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	var db interface {
		Principal(context.Context, string) (*store.Principal, error)
	}
	be := start(t, true, func(o *pop3server.Options) {
		o.ProxySecret = shardSecret
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			mu.Lock()
			seen = append(seen, remote.String())
			mu.Unlock()
			return db.Principal(store.SystemContext(ctx), login)
		}
	})
	db = be.db
	be.add(t, "Subject: one\r\n\r\nbody\r\n")
	a := &directory.Authenticator{Store: be.db, Throttle: &auth.Throttle{}}
	fe := pop3server.New(pop3server.Options{Store: be.db, Hostname: "front.test", AllowPlaintextAuth: true, Logger: testenv.Logger(t),
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return a.Authenticate(ctx, login, pw, remote, "pop3")
		},
		ProxySecret: shardSecret,
		Route:       func(ctx context.Context, p *store.Principal) (string, error) { return be.addr, nil }})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })

	c := dial(t, ln.Addr().String())
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK maildrop has 1 messages") {
		t.Fatalf("PASS through the frontend: %q", l)
	}
	if l := c.cmd("RETR 1"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("RETR: %q", l)
	}
	if body := strings.Join(c.multi(), "\n"); !strings.Contains(body, "Subject: one") {
		t.Errorf("RETR through the frontend: %q", body)
	}
	c.cmd("QUIT")
	mu.Lock()
	if len(seen) != 1 || seen[0] != c.c.LocalAddr().String() {
		t.Errorf("backend saw %q, the client is %s", seen, c.c.LocalAddr())
	}
	mu.Unlock()
	if l := dial(t, ln.Addr().String()).cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong"))); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("wrong password at the frontend: %q", l)
	}
	d := dial(t, be.addr)
	if l := d.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("alice\x00"+pop3server.ProxyIdentity+"\x00guess"))); !strings.HasPrefix(l, "-ERR [AUTH]") {
		t.Errorf("proxy identity without the secret: %q", l)
	}
}

// TestProxyRouteAgain: a backend that refuses the proxied login (the
// user's home node moved meanwhile) makes the frontend route once more,
// to the new home.
func TestProxyRouteAgain(t *testing.T) {
	var db interface {
		Principal(context.Context, string) (*store.Principal, error)
	}
	backend := func(accept bool) *env {
		return start(t, true, func(o *pop3server.Options) {
			o.ProxySecret = shardSecret
			o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
				if !accept {
					return nil, errors.New("its home node is another one now")
				}
				return db.Principal(store.SystemContext(ctx), login)
			}
		})
	}
	old, moved := backend(false), backend(true)
	db = moved.db
	moved.add(t, "Subject: one\r\n\r\nbody\r\n")
	a := &directory.Authenticator{Store: moved.db, Throttle: &auth.Throttle{}}
	var routes atomic.Int64
	fe := pop3server.New(pop3server.Options{Store: moved.db, Hostname: "front.test", AllowPlaintextAuth: true, Logger: testenv.Logger(t),
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return a.Authenticate(ctx, login, pw, remote, "pop3")
		},
		ProxySecret: shardSecret,
		Route: func(ctx context.Context, p *store.Principal) (string, error) {
			if routes.Add(1) == 1 {
				return old.addr, nil
			}
			return moved.addr, nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })
	c := dial(t, ln.Addr().String())
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK maildrop has 1 messages") {
		t.Fatalf("PASS routed again: %q", l)
	}
	if n := routes.Load(); n != 2 {
		t.Errorf("Route called %d times, want 2", n)
	}
}
