package app

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/imapserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestMoveEndsSessions: a node serving alice's session (her home) hears
// of the move of her store to another backend through the events hub and
// ends the session with BYE [UNAVAILABLE]; bob's session (no home node)
// goes on; a session that logs in after the move is ended at once.
func TestMoveEndsSessions(t *testing.T) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	hub := events.NewHub()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs,
		OnChange: hub.Publish})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sys := store.SystemContext(context.Background())
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{{Login: "alice", HomeNode: "node-a"}, {Login: "bob"}} {
		u.Active, u.Email, u.PasswordHash = true, u.Login+"@acme.test", testenv.CheapHash("pw")
		if _, err := db.CreateUser(sys, "acme", u); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := db.Heartbeat(sys, store.Node{Name: n, Roles: []string{"all", "backend"}, Instance: n}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s := &server{log: slog.New(slog.DiscardHandler), db: db, events: hub}
	s.cfg.Store(config.Default())
	s.node.name = "node-a"
	srv := imapserver.New(imapserver.Options{Store: db, Events: hub, AllowPlaintextAuth: true,
		Authenticate: testenv.Authenticator(db, false), Watch: s.watchHome})
	s.setSessionServers(srv, nil)
	ln := testenv.Listen(t)
	go srv.Serve(ln, false)
	t.Cleanup(func() { srv.Close() })

	login := func(user string, sel bool) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		cmds := []string{"a LOGIN " + user + " pw"}
		if sel {
			cmds = append(cmds, "b SELECT INBOX")
		}
		for _, cmd := range cmds {
			fmt.Fprintf(c, "%s\r\n", cmd)
			tag := cmd[:2]
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				if strings.HasPrefix(l, tag) {
					if !strings.HasPrefix(l, tag+"OK") {
						t.Fatalf("%s: %s", cmd, l)
					}
					break
				}
			}
		}
		return c, r
	}
	expectBye := func(user string, r *bufio.Reader) {
		t.Helper()
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s's session: %v before BYE", user, err)
			}
			if strings.HasPrefix(l, "* BYE") {
				if !strings.HasPrefix(l, "* BYE [UNAVAILABLE] "+movedText) {
					t.Errorf("%s was told %q", user, l)
				}
				return
			}
		}
	}
	_, ar := login("alice", true)
	bc, br := login("bob", true)
	if _, err := db.MoveHome(sys, "alice", "node-b", time.Minute); err != nil {
		t.Fatal(err)
	}
	expectBye("alice", ar)
	fmt.Fprintf(bc, "c NOOP\r\n")
	if l, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(l, "c OK") {
		t.Errorf("bob's session after alice's move: %q, %v", l, err)
	}
	// A session opened here after the move (a client connected
	// directly) is ended at once.
	_, ar2 := login("alice", false)
	expectBye("alice", ar2)
}
