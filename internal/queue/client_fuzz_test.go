package queue

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzClient plays a remote server that answers with arbitrary bytes:
// the client never panics, never hangs, and returns either an error or
// one outcome per recipient.
func FuzzClient(f *testing.F) {
	for _, s := range []string{
		"220 mx\r\n250-mx\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 DSN\r\n250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n250 queued\r\n221 bye\r\n",
		"220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n451 4.3.0 later\r\n",
		"220 mx\r\n500 no ehlo\r\n250 helo\r\n550 no sender\r\n",
		"220 mx\r\n250-mx\r\n250-SIZE 1\r\n250 AUTH PLAIN\r\n",
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n",
		"554 go away\r\n",
		"220-a\r\n220 b\r\n250-x\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n452 4.5.3 too many\r\n452 4.5.3 too many\r\n503 no rcpts\r\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, script string, relay bool) {
		q := New(Options{Hostname: "me.test", CommandTimeout: time.Second, DialTimeout: time.Second})
		client, server := net.Pipe()
		go func() {
			server.Write([]byte(script))
			server.Close()
		}()
		go io.Copy(io.Discard, server) // what the client sends
		tg := target{Addr: "mx.test:25", ServerName: "mx.test"}
		if relay {
			tg.Username, tg.Password, tg.PlainAuth = "u", "p", true
		}
		env := &envelope{From: "a@b.test", Size: 10, EnvID: "e", Ret: "HDRS",
			Rcpts: []rcptOut{{Addr: "x@mx.test", Notify: "FAILURE"}, {Addr: "y@mx.test", ORcpt: "rfc822;y@mx.test"}},
			Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader("Subject: x\r\n\r\n.hi\r\n")), nil
			}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			out, err := q.converse(context.Background(), client, tg, env)
			if err == nil && len(out) != len(env.Rcpts) {
				t.Errorf("%d outcomes for %d recipients", len(out), len(env.Rcpts))
			}
			for _, o := range out {
				if o.Sent && o.Perm {
					t.Errorf("outcome both sent and failed: %+v", o)
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("client hung")
		}
		client.Close()
	})
}

// TestClientScript checks the outcomes of scripted dialogues, pipelined
// and not.
func TestClientScript(t *testing.T) {
	for _, c := range []struct {
		name, script string
		want         string // per recipient: S sent, P permanent, T temporary; or "err"
	}{
		{"pipelined, one refused", "220 mx\r\n250-mx\r\n250-PIPELINING\r\n250 DSN\r\n250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go\r\n250 queued\r\n221 bye\r\n", "SP"},
		{"plain, data 4xx", "220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n451 4.3.0 later\r\n", "TT"},
		{"helo fallback, sender refused", "220 mx\r\n500 no ehlo\r\n250 helo\r\n550 5.7.1 no sender\r\n", "err"},
		{"pipelined, all refused", "220 mx\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n452 4.5.3 too many\r\n550 5.1.1 no\r\n503 5.5.1 no rcpts\r\n", "TP"},
		{"size too big", "220 mx\r\n250-mx\r\n250 SIZE 5\r\n", "err"},
	} {
		q := New(Options{Hostname: "me.test", CommandTimeout: 5 * time.Second})
		client, server := net.Pipe()
		// The server stays open until the dialogue ends: the client may
		// read the whole script at once and still have commands to send.
		go server.Write([]byte(c.script))
		go io.Copy(io.Discard, server)
		env := &envelope{From: "a@b.test", Size: 10,
			Rcpts: []rcptOut{{Addr: "x@mx.test"}, {Addr: "y@mx.test"}},
			Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("Subject: x\r\n\r\nhi\r\n")), nil }}
		out, err := q.converse(context.Background(), client, target{Addr: "mx:25"}, env)
		client.Close()
		server.Close()
		got := "err"
		if err == nil {
			got = ""
			for _, o := range out {
				switch {
				case o.Sent:
					got += "S"
				case o.Perm:
					got += "P"
				default:
					got += "T"
				}
			}
		}
		if got != c.want {
			t.Errorf("%s: got %s (%v, %+v), want %s", c.name, got, err, out, c.want)
		}
	}
}
