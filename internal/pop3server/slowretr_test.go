package pop3server_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/pop3server"
	"github.com/roost-mail/roost/internal/store"
)

// lazyStore returns message content that is read, in small pieces with a
// pause each, under the context OpenItem was given, as sqlstore reads the
// parts of a large message while the transfer reaches them.
type lazyStore struct{ store.Maildrop }

func (s lazyStore) OpenItem(ctx context.Context, id int64) (io.ReadCloser, error) {
	r, err := s.Maildrop.OpenItem(ctx, id)
	if err != nil {
		return nil, err
	}
	return &lazyReader{ctx: ctx, r: r}, nil
}

type lazyReader struct {
	ctx context.Context
	r   io.ReadCloser
}

func (l *lazyReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	return l.r.Read(p[:min(len(p), 16)])
}

func (l *lazyReader) Close() error { return l.r.Close() }

// A RETR whose transfer takes longer than the command timeout still sends
// the whole message: the timeout bounds store calls, not a slow transfer.
func TestRetrOutlastsCommandTimeout(t *testing.T) {
	t.Parallel()
	e := start(t, true, func(o *pop3server.Options) {
		o.Store = lazyStore{o.Store}
		// Long enough for the login's password check on a loaded machine.
		o.CommandTimeout = time.Second
	})
	body := strings.Repeat("a line of the body\r\n", 60) // 75 reads of 16 bytes: 1.5 s
	e.add(t, "Subject: slow\r\n\r\n"+body)
	c := dial(t, e.addr)
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	if l := c.cmd("RETR 1"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	got := c.multi()
	if len(got) != 62 || got[61] != "a line of the body" {
		t.Fatalf("RETR sent %d lines, want 62: %q", len(got), got)
	}
	if l := c.cmd("NOOP"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("after RETR: %s", l)
	}
}

// A store that stops answering while a message is read still ends the
// RETR: each read must end within the command timeout.
func TestRetrStalledStore(t *testing.T) {
	t.Parallel()
	e := start(t, true, func(o *pop3server.Options) {
		o.Store = stalledStore{o.Store}
		o.CommandTimeout = time.Second
	})
	e.add(t, "Subject: stuck\r\n\r\nbody\r\n")
	c := dial(t, e.addr)
	c.cmd("USER alice")
	if l := c.cmd("PASS secret"); !strings.HasPrefix(l, "+OK") {
		t.Fatal(l)
	}
	start := time.Now()
	c.c.Write([]byte("RETR 1\r\n"))
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c.r) // the session ends: a transfer cannot be taken back
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a stalled read held the session for %v", d)
	}
}

// stalledStore's message content blocks until its context ends.
type stalledStore struct{ store.Maildrop }

func (s stalledStore) OpenItem(ctx context.Context, id int64) (io.ReadCloser, error) {
	return stalledReader{ctx}, nil
}

type stalledReader struct{ ctx context.Context }

func (r stalledReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

func (stalledReader) Close() error { return nil }
