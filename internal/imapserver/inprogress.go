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

// progress reports the progress of one command. at is called once per
// message, and reading the clock each time was 5% of a SEARCH over
// 100,000 messages answered from the index: the clock is read every
// skip calls, skip doubling (up to maxProgressSkip) while the calls come
// quickly and halving when they do not.
type progress struct {
	s           *session
	total       uint32
	every       time.Duration
	next, last  time.Time
	skip, calls int
}

// maxProgressSkip bounds the calls between two readings of the clock, so
// a run of slow messages after many quick ones delays a report by at
// most that many messages.
const maxProgressSkip = 64

// startProgress begins reporting for the current command over total
// items.
func (s *session) startProgress(total int) *progress {
	now := time.Now()
	every := s.progressInterval()
	return &progress{s: s, total: uint32(min(total, 1<<32-1)), every: every, next: now.Add(every), last: now, skip: 1}
}

// at reports that done items are finished, if the interval has passed.
// It is called between responses, never inside one.
func (p *progress) at(done int) {
	if p == nil || p.s.tag == "" {
		return
	}
	if p.calls++; p.calls < p.skip {
		return
	}
	p.calls = 0
	now := time.Now()
	quick := now.Sub(p.last) < p.every/256
	p.last = now
	if now.Before(p.next) {
		if quick {
			p.skip = min(2*p.skip, maxProgressSkip)
		} else {
			p.skip = max(1, p.skip/2)
		}
		return
	}
	p.next = now.Add(p.every)
	p.s.w.Untagged(imap.OK, imap.CodeInProgress(p.s.tag, uint32(min(done, 1<<32-1)), p.total), "Still working")
	// A write error surfaces at the command's end, like any other.
	p.s.w.Flush()
}
