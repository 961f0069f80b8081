package imapserver_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

var shardSecret = []byte("a-shard-secret-of-at-least-32-characters")

// TestProxyFrontend: a frontend authenticates alice and passes her session
// to her backend, which sees the client's address (ID
// x-originating-ip); bob, whose home is the frontend, is served there; a
// client that knows no secret cannot use the proxy identity; the backend
// refuses a proxied login that ProxyLogin refuses.
func TestProxyFrontend(t *testing.T) {
	var mu sync.Mutex
	var seen []string // frontend → remote, as ProxyLogin saw them
	refuse := ""
	be := newEnv(t, func(o *imapserver.Options) {
		o.ProxySecret = shardSecret
		o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			mu.Lock()
			seen = append(seen, frontend.String()+" "+remote.String())
			r := refuse
			mu.Unlock()
			if login == r {
				return nil, errors.New("refused by the test")
			}
			return be0(o).Principal(store.SystemContext(ctx), login)
		}
	})
	be.deliver(be.folder("alice", "inbox").ID, testMsg(1))

	fe := imapserver.New(imapserver.Options{Store: be.db, Logger: testLogger(t), Hostname: "front.test",
		AllowPlaintextAuth: true, Authenticate: authenticator(be.db), ProxySecret: shardSecret,
		Route: func(ctx context.Context, p *store.Principal) (string, error) {
			if p.Login == "alice" {
				return be.addr, nil
			}
			return "", nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })
	front := *be
	front.addr = ln.Addr().String()

	// alice through the frontend: the backend's capabilities in the
	// login's OK, then commands answered by the backend.
	c := front.dial()
	_, st := c.cmd("LOGIN alice %s", password("alice"))
	if !strings.HasPrefix(st, "OK [CAPABILITY ") || !strings.Contains(st, "QRESYNC") {
		t.Fatalf("LOGIN through the frontend: %q", st)
	}
	lines := c.ok("SELECT INBOX")
	if !strings.Contains(strings.Join(lines, "\n"), "* 1 EXISTS") {
		t.Errorf("SELECT through the frontend: %q", lines)
	}
	lines = c.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
	if !strings.Contains(strings.Join(lines, "\n"), "Subject:") {
		t.Errorf("FETCH through the frontend: %q", lines)
	}
	mu.Lock()
	if len(seen) != 1 {
		t.Fatalf("ProxyLogin calls: %q", seen)
	}
	fr, remote, _ := strings.Cut(seen[0], " ")
	mu.Unlock()
	// The frontend dialled from 127.0.0.1 too: compare ports. The
	// backend was given the client's own address, not the frontend's.
	if remote != c.conn.LocalAddr().String() || fr == remote {
		t.Errorf("backend saw remote %s via %s; the client is %s", remote, fr, c.conn.LocalAddr())
	}
	c.ok("LOGOUT")

	// bob's home is the frontend itself: served there, no backend login.
	b := front.dial()
	b.ok("LOGIN bob %s", password("bob"))
	b.ok("SELECT INBOX")
	mu.Lock()
	if len(seen) != 1 {
		t.Errorf("bob was proxied: %q", seen)
	}
	mu.Unlock()

	// A wrong password is refused by the frontend; nothing reaches the
	// backend.
	w := front.dial()
	w.fail("NO", "LOGIN alice wrong")

	// A client talking to the backend directly: the proxy identity
	// without the secret is refused, with it (a frontend) accepted.
	d := be.dial()
	d.fail("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("alice\x00"+imapserver.ProxyIdentity+"\x00guess")))
	d.fail("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("alice\x00bob\x00"+password("bob"))))

	// The backend refuses the proxied login: the client gets a
	// temporary failure from the frontend.
	mu.Lock()
	refuse = "alice"
	mu.Unlock()
	r := front.dial()
	if st := r.fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "UNAVAILABLE") {
		t.Errorf("refused by the backend: %q, want NO [UNAVAILABLE]", st)
	}
}

// be0 returns the store of the options (the env is built around them).
func be0(o *imapserver.Options) store.Backend { return o.Store }

// TestProxyPeerConnectionLimit: a backend does not hold a frontend's
// connections (ProxyPeer) to MaxConnectionsPerIP; other addresses are.
func TestProxyPeerConnectionLimit(t *testing.T) {
	for _, frontend := range []bool{true, false} {
		e := newEnv(t, func(o *imapserver.Options) {
			o.MaxConnectionsPerIP = 1
			o.ProxyPeer = func(ip string) bool { return frontend && ip == "127.0.0.1" }
		})
		e.dial()
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		if got := strings.HasPrefix(l, "* OK "); got != frontend {
			t.Errorf("frontend %v: second connection greeted %q", frontend, l)
		}
	}
}

// TestProxyRouteAgain: when the backend a frontend routed a login to
// refuses it (a store move switched the user's home node between the
// route and the backend's check), the frontend asks Route once more and
// passes the session to the new home; a second refusal is the client's
// NO [UNAVAILABLE].
func TestProxyRouteAgain(t *testing.T) {
	backend := func(accept bool) *env {
		return newEnv(t, func(o *imapserver.Options) {
			o.ProxySecret = shardSecret
			o.ProxyLogin = func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
				if !accept {
					return nil, errors.New("its home node is another one now")
				}
				return be0(o).Principal(store.SystemContext(ctx), login)
			}
		})
	}
	old, moved := backend(false), backend(true)
	var mu sync.Mutex
	routes := 0
	home := moved.addr
	fe := imapserver.New(imapserver.Options{Store: moved.db, Logger: testLogger(t), Hostname: "front.test",
		AllowPlaintextAuth: true, Authenticate: authenticator(moved.db), ProxySecret: shardSecret,
		Route: func(ctx context.Context, p *store.Principal) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			routes++
			if routes == 1 {
				return old.addr, nil // read just before the move
			}
			return home, nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })
	front := *moved
	front.addr = ln.Addr().String()

	c := front.dial()
	if _, st := c.cmd("LOGIN alice %s", password("alice")); !strings.HasPrefix(st, "OK [CAPABILITY ") {
		t.Fatalf("LOGIN routed again: %q", st)
	}
	c.ok("SELECT INBOX")
	mu.Lock()
	if routes != 2 {
		t.Errorf("Route called %d times, want 2", routes)
	}
	routes, home = 0, old.addr // the new route is refused too
	mu.Unlock()
	r := front.dial()
	if st := r.fail("NO", "LOGIN alice %s", password("alice")); !strings.Contains(st, "UNAVAILABLE") {
		t.Errorf("refused twice: %q, want NO [UNAVAILABLE]", st)
	}
}
