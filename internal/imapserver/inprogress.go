package imapserver

import (
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// INPROGRESS (RFC 9585): a command that goes through many messages
// (SEARCH, SORT, THREAD, FETCH, COPY, MOVE) tells the client how far it
// got, at most once per progressEvery, so that a client can show progress
// and knows the server is alive. Nothing is sent for a command that ends
// before the first interval.
const progressEvery = time.Second

func (s *session) progressInterval() time.Duration {
	if d := time.Duration(s.srv.progressEvery.Load()); d > 0 {
		return d
	}
	return progressEvery
}

// progress reports the progress of one command.
type progress struct {
	s     *session
	total uint32
	next  time.Time
}

// startProgress begins reporting for the current command over total
// items.
func (s *session) startProgress(total int) *progress {
	return &progress{s: s, total: uint32(min(total, 1<<32-1)), next: time.Now().Add(s.progressInterval())}
}

// at reports that done items are finished, if the interval has passed.
// It is called between responses, never inside one.
func (p *progress) at(done int) {
	if p == nil || p.s.tag == "" {
		return
	}
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(p.s.progressInterval())
	p.s.w.Untagged(imap.OK, imap.CodeInProgress(p.s.tag, uint32(min(done, 1<<32-1)), p.total), "Still working")
	// A write error surfaces at the command's end, like any other.
	p.s.w.Flush()
}
