package sieveserver_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/sieveserver"
)

const fileinto = `require ["fileinto", "mailbox"];
if header :contains "subject" "report" { fileinto :create "Reports"; }
`

func TestSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.dial()
	caps, _ := c.cmdData("CAPABILITY")
	for _, want := range []string{`"IMPLEMENTATION" "Roost"`, `"SASL" ""`, `"STARTTLS"`, `"VERSION" "1.0"`, `"MAXREDIRECTS" "4"`} {
		if !slices.Contains(caps, want) {
			t.Errorf("capabilities lack %s: %q", want, caps)
		}
	}
	sieveCap := ""
	for _, l := range caps {
		if strings.HasPrefix(l, `"SIEVE" `) {
			sieveCap = l
		}
	}
	for _, ext := range []string{"fileinto", "reject", "vacation", "imap4flags", "body", "variables", "envelope", "relational", "subaddress", "copy"} {
		if !strings.Contains(sieveCap, " "+ext) && !strings.Contains(sieveCap, `"`+ext) {
			t.Errorf("SIEVE capability lacks %s: %s", ext, sieveCap)
		}
	}
	c.cmd("LISTSCRIPTS", "NO")
	c.cmd(`AUTHENTICATE "PLAIN" "`+base64.StdEncoding.EncodeToString([]byte("\x00alice\x00"+password("alice")))+`"`, "NO (ENCRYPT-NEEDED)")
	c.startTLS()
	c.cmd("STARTTLS", "NO")
	c.login("alice")
	if caps, _ := c.cmdData("CAPABILITY"); !slices.Contains(caps, `"OWNER" "alice"`) || slices.Contains(caps, `"STARTTLS"`) {
		t.Errorf("capabilities after login: %q", caps)
	}
	c.cmd(`HAVESPACE "main" 1000`, "OK")
	c.cmd(`HAVESPACE "main" 99999999`, "NO (QUOTA/MAXSIZE)")
	c.cmd(`PUTSCRIPT "main" `+literal(fileinto), "OK")
	c.cmd(`PUTSCRIPT "other" "keep;"`, "OK")
	c.cmd(`PUTSCRIPT "broken" `+literal(`fileinto "x";`), "NO")
	c.cmd(`CHECKSCRIPT `+literal(`require "fileinto"; fileinto "x";`), "OK")
	c.cmd(`CHECKSCRIPT "if true {"`, "NO")
	c.cmd(`SETACTIVE "nope"`, "NO (NONEXISTENT)")
	c.cmd(`SETACTIVE "main"`, "OK")
	if got := c.cmd("LISTSCRIPTS", "OK"); !slices.Equal(got, []string{`"main" ACTIVE`, `"other"`}) {
		t.Fatalf("LISTSCRIPTS = %q", got)
	}
	if got := c.cmd(`GETSCRIPT "main"`, "OK"); len(got) < 1 || got[0] != fileinto {
		t.Fatalf("GETSCRIPT = %q", got)
	}
	c.cmd(`GETSCRIPT "nope"`, "NO (NONEXISTENT)")
	c.cmd(`DELETESCRIPT "main"`, "NO (ACTIVE)")
	c.cmd(`RENAMESCRIPT "main" "other"`, "NO (ALREADYEXISTS)")
	c.cmd(`RENAMESCRIPT "main" "filters"`, "OK")
	c.cmd(`DELETESCRIPT "other"`, "OK")
	if got := c.cmd("LISTSCRIPTS", "OK"); !slices.Equal(got, []string{`"filters" ACTIVE`}) {
		t.Fatalf("LISTSCRIPTS after rename = %q", got)
	}
	c.cmd(`NOOP "tag1"`, `OK (TAG "tag1")`)

	// The active script runs at delivery.
	d := &mail.Deliverer{Store: e.db}
	users, _ := e.db.Recipients(sys, "alice@acme.test")
	res := d.DeliverMessage(context.Background(), "x@example.org", []mail.Recipient{{Addr: "alice@acme.test", Users: users}},
		func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("Subject: weekly report\r\n\r\nnumbers\r\n")), nil
		})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	f, err := e.db.GetFolder(sys, res[0].FolderID)
	if err != nil || f.Name != "Reports" {
		t.Fatalf("delivered into %v (%v), want Reports", f, err)
	}

	c.cmd(`SETACTIVE ""`, "OK")
	c.cmd("UNAUTHENTICATE", "OK")
	c.cmd("LISTSCRIPTS", "NO")
	// bob sees none of alice's scripts.
	c.login("bob")
	if got := c.cmd("LISTSCRIPTS", "OK"); len(got) != 0 {
		t.Fatalf("bob lists %q", got)
	}
	c.cmd("LOGOUT", "OK")
}

// cmdData sends a command that must succeed and returns its data lines.
func (c *client) cmdData(s string) ([]string, string) {
	c.t.Helper()
	c.send(s)
	data, final := c.untilDone()
	if !strings.HasPrefix(final, "OK") {
		c.t.Fatalf("%q: %q", s, final)
	}
	return data, final
}

func TestSASLExchanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sieveserver.Options) { o.AllowPlaintextAuth = true })
	c := e.dial()
	// PLAIN with an empty challenge, answered by a literal.
	c.send(`AUTHENTICATE "PLAIN"`)
	if l := c.line(); l != `""` {
		t.Fatalf("challenge %q", l)
	}
	c.send(literal(base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + password("alice")))))
	if _, final := c.untilDone(); !strings.HasPrefix(final, "OK") {
		t.Fatalf("PLAIN: %q", final)
	}
	c.cmd("UNAUTHENTICATE", "OK")
	// LOGIN with two challenges.
	c.send(`AUTHENTICATE "LOGIN"`)
	c.line()
	c.send(`"` + base64.StdEncoding.EncodeToString([]byte("alice")) + `"`)
	c.line()
	c.send(`"` + base64.StdEncoding.EncodeToString([]byte(password("alice"))) + `"`)
	if _, final := c.untilDone(); !strings.HasPrefix(final, "OK") {
		t.Fatalf("LOGIN: %q", final)
	}
	c.cmd("UNAUTHENTICATE", "OK")
	// Cancelled.
	c.send(`AUTHENTICATE "PLAIN"`)
	c.line()
	c.send(`"*"`)
	if _, final := c.untilDone(); !strings.HasPrefix(final, "NO") {
		t.Fatalf("cancel: %q", final)
	}
	// Three wrong passwords end the session.
	bad := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00wrong"))
	c.cmd(`AUTHENTICATE "PLAIN" "`+bad+`"`, "NO")
	c.cmd(`AUTHENTICATE "PLAIN" "`+bad+`"`, "NO")
	c.cmd(`AUTHENTICATE "PLAIN" "`+bad+`"`, "BYE")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sieveserver.Options) { o.AllowPlaintextAuth = true })
	c := e.dial()
	c.login("alice")
	c.cmd("BOGUS", "NO")
	c.cmd(`PUTSCRIPT "a"`, "NO")
	c.cmd(`PUTSCRIPT a "keep;"`, "NO")
	c.cmd(`HAVESPACE "a" -1`, "NO")
	c.cmd(`PUTSCRIPT "unterminated {8+}`+"\r\n"+`LOGOUT`+"\r\n", "NO") // the literal is skipped, not run
	c.cmd(`PUTSCRIPT "a\b" "keep;"`, "NO")
	c.cmd(`PUTSCRIPT "`+strings.Repeat("n", 200)+`" "keep;"`, "NO")
	c.cmd(`PUTSCRIPT "ctl`+"\x01"+`" "keep;"`, "NO")
	c.cmd(strings.Repeat("A", 10000), "NO")
	// A non-synchronizing literal a little over the limit is skipped.
	c.send(`PUTSCRIPT "big" {70000+}`)
	io.WriteString(c.c, strings.Repeat("#", 70000)+"\r\n")
	if _, final := c.untilDone(); !strings.HasPrefix(final, "NO (QUOTA/MAXSIZE)") {
		t.Fatalf("big literal: %q", final)
	}
	c.cmd("NOOP", "OK")
	// Deep nesting in a script is a NO, not a crash.
	c.cmd(`CHECKSCRIPT `+literal(strings.Repeat("if true {", 10000)+strings.Repeat("}", 10000)), "NO")
	// A 4 GB literal ends the session.
	c.send(`PUTSCRIPT "huge" {4294967295+}`)
	if _, final := c.untilDone(); !strings.HasPrefix(final, "BYE") {
		t.Fatalf("huge literal: %q", final)
	}
	// Ten bad commands end a session.
	c = e.dial()
	for range 9 {
		c.cmd("BOGUS", "NO")
	}
	c.cmd("BOGUS", "BYE")
	// The server keeps serving.
	c = e.dial()
	c.cmd("NOOP", "OK")
}

func TestPipelinedAfterSTARTTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.dial()
	c.send("STARTTLS\r\nLISTSCRIPTS")
	if _, final := c.untilDone(); !strings.HasPrefix(final, "BYE") {
		t.Fatalf("pipelined STARTTLS: %q", final)
	}
}

func TestScriptLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sieveserver.Options) {
		o.AllowPlaintextAuth = true
		o.Scripts = &mail.Scripts{Store: o.Store, Limits: mail.SieveOptions{MaxScripts: 1, MaxScriptBytes: 100}}
	})
	c := e.dial()
	c.login("alice")
	c.cmd(`PUTSCRIPT "a" "keep;"`, "OK")
	c.cmd(`PUTSCRIPT "b" "keep;"`, "NO (QUOTA/MAXSCRIPTS)")
	c.cmd(`HAVESPACE "b" 10`, "NO (QUOTA/MAXSCRIPTS)")
	c.cmd(`PUTSCRIPT "a" `+literal(strings.Repeat("#", 101)), "NO (QUOTA/MAXSIZE)")
	// Scripts live in the store, readable by mail.Scripts.
	s := &mail.Scripts{Store: e.db}
	if txt, err := s.Get(sys, "alice", "a"); err != nil || txt != "keep;" {
		t.Fatalf("stored %q, %v", txt, err)
	}
	if _, err := s.Get(sys, "bob", "a"); err == nil {
		t.Fatal("bob has alice's script")
	}
}

func TestConnectionsPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *sieveserver.Options) { o.MaxConnectionsPerIP = 2 })
	a := e.dial()
	e.dial()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	if l := cl.line(); !strings.HasPrefix(l, "BYE") {
		t.Fatalf("third connection: %q", l)
	}
	a.cmd("LOGOUT", "OK")
	// A slot is free again once a session ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(l, "BYE") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("slot not released")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
