package sieveserver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
)

var commandSeeds = []string{
	"CAPABILITY\r\n",
	`AUTHENTICATE "PLAIN" "AGFsaWNlAHNlY3JldC1hbGljZQ=="` + "\r\n",
	"PUTSCRIPT \"main\" {5+}\r\nkeep;\r\n",
	"PUTSCRIPT \"main\" {5}\r\nkeep;\r\n",
	`HAVESPACE "myscript" 999999` + "\r\n",
	`RENAMESCRIPT "a" "b\"c\\d"` + "\r\n",
	`NOOP "STARTTLS-SYNC-42"` + "\r\n",
	"PUTSCRIPT \"x\" {4294967295+}\r\n",
	"PUTSCRIPT \"unterminated {3+}\r\nabc\r\n",
	"SETACTIVE \"\"\r\n",
	"LISTSCRIPTS\n",
	"\r\n",
	"GETSCRIPT {2+}\r\nab {1+}\r\nc\r\n",
}

// FuzzReadCommand: the parser never panics, stays within its limits, and
// a parsed command formats to text that parses to the same command.
func FuzzReadCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	lim := sieveserver.Limits{MaxLine: 1024, MaxLiteral: 4096, MaxArgs: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 20 {
			cmd, err := sieveserver.ReadCommand(r, lim)
			var se *sieveserver.SyntaxError
			var big *sieveserver.LiteralTooBigError
			switch {
			case errors.As(err, &se), errors.Is(err, sieveserver.ErrLineTooLong):
				continue
			case errors.As(err, &big):
				if big.N <= 4096 {
					t.Fatalf("literal of %d reported too big", big.N)
				}
				return
			case err != nil:
				return
			}
			if len(cmd.Args) > 8 {
				t.Fatalf("%d args", len(cmd.Args))
			}
			again, err := sieveserver.ReadCommand(bufio.NewReader(bytes.NewReader(cmd.Format())), sieveserver.Limits{MaxLine: 1 << 20, MaxLiteral: 1 << 20})
			if err != nil {
				t.Fatalf("reparse %q: %v", cmd.Format(), err)
			}
			if !reflect.DeepEqual(cmd, again) {
				t.Fatalf("round trip: %#v → %q → %#v", cmd, cmd.Format(), again)
			}
		}
	})
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *sieveserver.Server
)

// FuzzSession feeds command sequences to a live, authenticated-capable
// session over a pipe; the server must not panic and must answer a NOOP on
// a fresh connection afterwards.
func FuzzSession(f *testing.F) {
	login := "AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHNlY3JldC1hbGljZQ==\"\r\n"
	for _, s := range commandSeeds {
		f.Add([]byte(login + s))
	}
	f.Add([]byte(login + "PUTSCRIPT \"a\" \"keep;\"\r\nSETACTIVE \"a\"\r\nDELETESCRIPT \"a\"\r\nRENAMESCRIPT \"a\" \"b\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"b\"\r\nUNAUTHENTICATE\r\nLOGOUT\r\n"))
	f.Add([]byte("XCLIENT ADDR=198.51.100.7 PORT=4000\r\nAUTHENTICATE \"PLAIN\" \"YWxpY2UAQHJvb3N0LXByb3h5AGEtc2hhcmQtc2VjcmV0LW9mLWF0LWxlYXN0LTMyLWNoYXJhY3RlcnM=\"\r\nLISTSCRIPTS\r\n"))
	f.Add([]byte("XCLIENT \"ADDR=::1\" {4+}\r\nPORT\r\nAUTHENTICATE \"PLAIN\" \"YWxpY2UAQHJvb3N0LXByb3h5AGd1ZXNz\"\r\n"))
	f.Add([]byte("AUTHENTICATE \"LOGIN\"\r\n\"YWxpY2U=\"\r\n{20+}\r\nc2VjcmV0LWFsaWNl\r\n"))
	f.Add([]byte("AUTHENTICATE \"OAUTHBEARER\" \"biwsAWF1dGg9QmVhcmVyIGJhZAEB\"\r\n\"AQ==\"\r\nAUTHENTICATE \"XOAUTH2\"\r\n\"dXNlcj11AWF1dGg9QmVhcmVyIGdvb2QBAQ==\"\r\nLISTSCRIPTS\r\n"))
	db, _ := openStore(f)
	srv := sieveserver.New(sieveserver.Options{Store: db, AllowPlaintextAuth: true, Authenticate: authenticator(db),
		VerifyToken: func(ctx context.Context, tok, authz string, remote net.Addr) (*store.Principal, error) {
			if tok == "good" {
				return db.Principal(store.SystemContext(ctx), "alice")
			}
			return nil, directory.ErrBadCredentials
		},
		Limits: sieveserver.Limits{MaxLiteral: 4096, MaxLine: 1024},
		// A backend of the sharded mode: XCLIENT and the proxy identity
		// are parsed too.
		ProxySecret: []byte("a-shard-secret-of-at-least-32-characters"),
		ProxyLogin: func(ctx context.Context, login string, frontend, remote net.Addr) (*store.Principal, error) {
			return db.Principal(store.SystemContext(ctx), login)
		}})
	f.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(ln, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(done) }()
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		<-done
		// The server still serves.
		c2, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c2)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("greeting: %v", err)
			}
			if strings.HasPrefix(l, "OK") {
				break
			}
		}
		io.WriteString(c2, "NOOP\r\n")
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "OK") {
			t.Fatalf("NOOP after fuzz input: %q %v", l, err)
		}
	})
}
