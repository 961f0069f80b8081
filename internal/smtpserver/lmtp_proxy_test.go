package smtpserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/smtpserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestLMTPFrontendSplit: a frontend splits one transaction: alice is
// delivered on the frontend, bob and u2 are relayed to their backend in
// one transaction there, u3's backend is down. Each recipient gets its
// own reply, in RCPT order: the backend's 552 for bob (over quota)
// passes through as it was given, u3 gets a temporary failure, and the
// relayed message arrives dot-unstuffed, once.
func TestLMTPFrontendSplit(t *testing.T) {
	var mu sync.Mutex
	verbs := map[string]int{}
	be := start(t, 4, func(o *smtpserver.Options) {
		o.OnCommand = func(v string, _ time.Duration) {
			mu.Lock()
			verbs[v]++
			mu.Unlock()
		}
	})
	db := be.db
	hard := int64(10)
	yes := true
	db.UpdateUser(sys, "bob", store.UserUpdate{QuotaOverride: &yes, QuotaHard: &hard})
	dead := testenv.Listen(t)
	deadAddr := dead.Addr().String()
	dead.Close()

	fe := smtpserver.NewLMTP(smtpserver.Options{Store: db, Hostname: "front.test", SpoolDir: t.TempDir(), Logger: testenv.Logger(t),
		Route: func(ctx context.Context, users []*store.User) (string, error) {
			switch users[0].Login {
			case "bob", "u2":
				return be.addr, nil
			case "u3":
				return deadAddr, nil
			}
			return "", nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })

	c := dial(t, "tcp", ln.Addr().String())
	c.cmd("MAIL FROM:<sender@example.test> SIZE=100", "250 2.1.0")
	c.cmd("RCPT TO:<bob@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<alice@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<u3@acme.test>", "250 2.1.5")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: split\r\n\r\nbody that is longer than ten bytes\r\n..dot line\r\n.")
	c.expect("552 5.2.2 <bob@acme.test> mailbox full")
	c.expect("250 2.0.0 <alice@acme.test> delivered")
	c.expect("451 4.3.0 <u3@acme.test>")
	c.expect("250 2.0.0 <u2@acme.test> delivered")
	// A second transaction reuses the connection to the backend.
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: again\r\n\r\nhi\r\n.")
	c.expect("250 2.0.0 <u2@acme.test> delivered")
	c.cmd("QUIT", "221")

	for login, want := range map[string]int{"alice": 1, "bob": 0, "u2": 2, "u3": 0} {
		if n := inboxCount(t, db, login); n != want {
			t.Errorf("%s has %d messages, want %d", login, n, want)
		}
	}
	inbox, _ := mail.Inbox(sys, db, "u2")
	l, _ := db.ListItems(sys, inbox, 1, 0)
	r, err := db.OpenItem(sys, l[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if got := string(b); got != "Subject: split\r\n\r\nbody that is longer than ten bytes\r\n.dot line\r\n" {
		t.Errorf("relayed message stored as %q", got)
	}
	// The backend counts a DATA once it has answered it: wait for it.
	for i := 0; i < 100; i++ {
		mu.Lock()
		n := verbs["DATA"]
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// One transaction on the backend for bob and u2, then one for u2, on
	// one connection.
	if verbs["LHLO"] != 1 || verbs["MAIL"] != 2 || verbs["RCPT"] != 3 || verbs["DATA"] != 2 {
		t.Errorf("backend saw %v, want one LHLO, two MAIL, three RCPT, two DATA", verbs)
	}
}

// TestLMTPFrontendRedialFails: a pooled relay connection the backend
// has closed is dialled again; when that dial fails too the recipient
// gets a temporary failure (it used to crash the server: the deferred
// close ran on the failed dial's nil connection).
func TestLMTPFrontendRedialFails(t *testing.T) {
	be := start(t, 3)
	var mu sync.Mutex
	dials := 0
	fe := smtpserver.NewLMTP(smtpserver.Options{Store: be.db, Hostname: "front.test", SpoolDir: t.TempDir(), Logger: testenv.Logger(t),
		Route: func(ctx context.Context, users []*store.User) (string, error) {
			if users[0].Login == "u2" {
				return "backend.test:24", nil
			}
			return "", nil
		},
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			mu.Lock()
			defer mu.Unlock()
			dials++
			if dials > 1 {
				return nil, errors.New("backend down")
			}
			fc, bc := net.Pipe()
			go fakeBackend(bc) // one transaction, then it hangs up
			return fc, nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })

	c := dial(t, "tcp", ln.Addr().String())
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: one\r\n\r\nhi\r\n.")
	c.expect("250 2.0.0 relayed")
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: two\r\n\r\nhi\r\n.")
	c.expect("451 4.3.0 <u2@acme.test>")
	c.cmd("QUIT", "221")
	mu.Lock()
	defer mu.Unlock()
	if dials != 2 {
		t.Errorf("%d dials, want 2", dials)
	}
}

// fakeBackend answers one LMTP transaction of one recipient on c, then
// closes it.
func fakeBackend(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	io.WriteString(c, "220 backend.test LMTP\r\n")
	for _, reply := range []string{"250 backend.test\r\n", "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go ahead\r\n"} {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(c, reply)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if l == ".\r\n" {
			break
		}
	}
	io.WriteString(c, "250 2.0.0 relayed\r\n")
}

// TestLMTPFrontendPipelines: the frontend sends MAIL, the RCPTs and DATA
// to the backend in one write (PIPELINING, RFC 2920; RFC 2033 §5), one
// round trip instead of one per command. The fake backend answers MAIL
// only when the rest of the group came with it. When the backend refuses
// every recipient, no message is sent, the transaction is reset and the
// connection is used again.
func TestLMTPFrontendPipelines(t *testing.T) {
	be := start(t, 4)
	var mu sync.Mutex
	dials := 0
	var seen []string
	fe := smtpserver.NewLMTP(smtpserver.Options{Store: be.db, Hostname: "front.test", SpoolDir: t.TempDir(), Logger: testenv.Logger(t),
		Route: func(ctx context.Context, users []*store.User) (string, error) {
			if users[0].Login != "alice" {
				return "backend.test:24", nil
			}
			return "", nil
		},
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			mu.Lock()
			dials++
			mu.Unlock()
			fc, bc := net.Pipe()
			go func() {
				defer bc.Close()
				r := bufio.NewReader(bc)
				say := func(s string) { io.WriteString(bc, s+"\r\n") }
				say("220 backend.test LMTP")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					mu.Lock()
					seen = append(seen, l)
					mu.Unlock()
					switch {
					case l == "LHLO front.test\r\n":
						say("250-backend.test\r\n250 PIPELINING")
					case strings.HasPrefix(l, "MAIL "):
						if r.Buffered() == 0 {
							say("503 5.5.1 MAIL alone: not pipelined")
							continue
						}
						say("250 2.1.0 ok")
					case l == "RCPT TO:<u2@acme.test>\r\n":
						say("550 5.1.1 <u2@acme.test> no such user here")
					case strings.HasPrefix(l, "RCPT "):
						say("250 2.1.5 ok")
					case l == "DATA\r\n":
						if strings.Contains(strings.Join(seen, ""), "<u3@") {
							say("354 go ahead")
							for l, err := r.ReadString('\n'); err == nil && l != ".\r\n"; l, err = r.ReadString('\n') {
							}
							say("250 2.0.0 <u3@acme.test> relayed")
						} else {
							say("554 5.5.1 no valid recipients")
						}
						seen = nil
					case l == "RSET\r\n":
						say("250 2.0.0 ok")
					default:
						say("500 what")
					}
				}
			}()
			return fc, nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })

	c := dial(t, "tcp", ln.Addr().String())
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: one\r\n\r\nhi\r\n.")
	c.expect("550 5.1.1 <u2@acme.test> no such user here")
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u3@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: two\r\n\r\nhi\r\n.")
	c.expect("250 2.0.0 <u3@acme.test> relayed")
	c.cmd("QUIT", "221")
	mu.Lock()
	defer mu.Unlock()
	if dials != 1 {
		t.Errorf("%d dials, want 1 (the connection is reused after a transaction without recipients)", dials)
	}
}

// TestLMTPFrontendRouteCache: a frontend routes a relayed address once
// for a stream of mail (whatever its case), a recipient it delivers
// itself is looked up every time, and a stale route is answered by the
// backend: an address removed meanwhile gets the backend's 550 after
// DATA, as LMTP gives every recipient its own reply.
func TestLMTPFrontendRouteCache(t *testing.T) {
	be := start(t, 4, func(*smtpserver.Options) {})
	db := be.db
	var mu sync.Mutex
	routed := map[string]int{}
	fe := smtpserver.NewLMTP(smtpserver.Options{Store: db, Hostname: "front.test", SpoolDir: t.TempDir(), Logger: testenv.Logger(t),
		Route: func(ctx context.Context, users []*store.User) (string, error) {
			mu.Lock()
			routed[users[0].Login]++
			mu.Unlock()
			if users[0].Login == "bob" || users[0].Login == "u2" {
				return be.addr, nil
			}
			return "", nil
		}})
	ln := testenv.Listen(t)
	go fe.Serve(ln, false)
	t.Cleanup(func() { fe.Close() })
	c := dial(t, "tcp", ln.Addr().String())
	for i, bob := range []string{"bob@acme.test", "BOB@acme.test", "bob@ACME.test"} {
		c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
		c.cmd("RCPT TO:<"+bob+">", "250 2.1.5")
		c.cmd("RCPT TO:<alice@acme.test>", "250 2.1.5")
		c.cmd("DATA", "354")
		c.send(fmt.Sprintf("Subject: %d\r\n\r\nhi\r\n.", i))
		c.expect("250 2.0.0 <" + bob + "> delivered")
		c.expect("250 2.0.0 <alice@acme.test> delivered")
	}
	mu.Lock()
	if routed["bob"] != 1 || routed["alice"] != 3 {
		t.Errorf("routes looked up %v, want bob once and alice (delivered here) each time", routed)
	}
	mu.Unlock()
	for login, want := range map[string]int{"alice": 3, "bob": 3} {
		if n := inboxCount(t, db, login); n != want {
			t.Errorf("%s has %d messages, want %d", login, n, want)
		}
	}
	// u2 routed, then removed: the cached route still relays, and the
	// backend refuses the recipient.
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: first\r\n\r\nhi\r\n.")
	c.expect("250 2.0.0 <u2@acme.test> delivered")
	if err := db.DeleteUser(sys, "u2"); err != nil {
		t.Fatal(err)
	}
	c.cmd("MAIL FROM:<sender@example.test>", "250 2.1.0")
	c.cmd("RCPT TO:<u2@acme.test>", "250 2.1.5")
	c.cmd("DATA", "354")
	c.send("Subject: second\r\n\r\nhi\r\n.")
	c.expect("550 5.1.1 <u2@acme.test>")
	c.cmd("QUIT", "221")
}
