package imapserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/proto/imap"
)

// How often an idling session looks at the journal without a
// notification: rarely when the events hub tells it about changes (a
// safety net), often when there is no hub.
const (
	idlePollEvents   = 2 * time.Minute
	idlePollNoEvents = 10 * time.Second
)

// IDLE, RFC 2177 and RFC 9051 §6.3.13. Changes of the selected mailbox are
// sent as they happen: the events hub says that the store's journal moved,
// and sync reads what changed.
//
// An idling session is the commonest state of a connection (every phone
// and desktop client holds one per account), so it is made cheap: the
// session goroutine itself blocks reading DONE, notifications and the
// safety poll start a short-lived goroutine only when something happened,
// and while nothing happens the session gives its read and write buffers
// back to the server's pools (see idler).
func (s *session) cmdIdle(c *imap.Command) (imap.Code, error) {
	poll := idlePollNoEvents
	if s.srv.idlePoll > 0 {
		poll = s.srv.idlePoll
	} else if s.o.Events != nil {
		poll = idlePollEvents
	}
	id := &idler{s: s, poll: poll}
	// Updates wait until the IDLE is set up.
	id.work.Lock()
	if s.sel != nil && s.o.Events != nil {
		id.sub = s.o.Events.SubscribeFunc(s.sel.storeID, func(events.Change) { id.kick() })
	}
	if s.nt != nil && s.o.Events != nil && (s.sel == nil || s.sel.storeID != s.storeID) {
		// NOTIFY watches the personal store (RFC 5465 §4: IDLE delivers).
		id.ntSub = s.o.Events.SubscribeFunc(s.storeID, func(events.Change) { id.kick() })
	}
	// Anything that changed before the subscription started.
	err := s.sync(true)
	if err == nil {
		s.w.Continue("idling")
		err = s.flush()
	}
	if err != nil {
		id.work.Unlock()
		id.end()
		return "", err
	}
	id.park()
	id.mu.Lock()
	id.timer = time.AfterFunc(poll, id.kick)
	id.mu.Unlock()
	id.work.Unlock()
	if s.beginWait() {
		err = s.r.ReadIdleDone()
		s.endWait(false, time.Time{})
	} else {
		err = os.ErrDeadlineExceeded // asked to end before the wait began
	}
	if werr := id.end(); werr != nil {
		return "", werr
	}
	if err == nil {
		return "", nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		if s.closing.Load() {
			return "", s.closingBye()
		}
		return "", s.bye("Autologout; idle for too long")
	}
	return "", s.readErr(err)
}

// idler runs the updates of one IDLE command. The session goroutine is
// blocked reading DONE; kick (from the events hub or the poll timer) runs
// an update on a goroutine of its own, one at a time, and end stops them.
type idler struct {
	s     *session
	poll  time.Duration
	sub   *events.Subscription
	ntSub *events.Subscription // NOTIFY's store, when not the selected one

	// work is held while the IDLE is set up, during an update and while
	// it is torn down: only one of them touches the session at a time.
	work sync.Mutex

	mu      sync.Mutex // guards the fields below; held only briefly
	timer   *time.Timer
	running bool // an update goroutine exists
	again   bool // another kick arrived since the update started
	ended   bool
	err     error // a failed update: ends the IDLE

	parked bool // the session's buffers are in the server's pools
}

// kick asks for an update. It never blocks (the hub calls it).
func (id *idler) kick() {
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.ended {
		return
	}
	if id.running {
		id.again = true
		return
	}
	id.running = true
	go id.run()
}

func (id *idler) run() {
	id.work.Lock()
	defer id.work.Unlock()
	for {
		id.mu.Lock()
		if id.ended {
			id.running = false
			id.mu.Unlock()
			return
		}
		id.again = false
		id.mu.Unlock()
		err := id.update()
		id.mu.Lock()
		if err != nil {
			id.err, id.running = err, false
			id.mu.Unlock()
			// Wake the session goroutine out of its read.
			id.s.conn().SetReadDeadline(time.Now())
			return
		}
		if !id.again {
			id.running = false
			if id.timer != nil && !id.ended {
				id.timer.Reset(id.poll)
			}
			id.mu.Unlock()
			return
		}
		id.mu.Unlock()
	}
}

// update sends what changed; called with mu held.
func (id *idler) update() error {
	s := id.s
	if id.parked {
		bw := s.srv.writers.Get().(*bufio.Writer)
		bw.Reset(s.dw)
		s.w.Attach(bw)
		defer func() {
			bw, _ := s.w.Detach()
			bw.Reset(nil)
			s.srv.writers.Put(bw)
		}()
	}
	if err := s.sync(true); err != nil {
		return err
	}
	s.notifyDeliver(false)
	return s.flush()
}

// park gives the session's buffers back to the server's pools while it
// waits. Not for COMPRESS sessions, whose streams sit on the buffers, nor
// when the client already sent bytes after IDLE.
func (id *idler) park() {
	s := id.s
	if s.compressed || s.br.Buffered() > 0 {
		return
	}
	bw, err := s.w.Detach()
	if err != nil {
		s.w.Attach(bw)
		return
	}
	bw.Reset(nil)
	s.srv.writers.Put(bw)
	s.br.Reset(nil)
	s.srv.readers.Put(s.br)
	s.br = nil
	// Reading DONE a byte at a time never takes bytes of a command the
	// client pipelines after it, so nothing is lost when a pooled buffer
	// comes back.
	s.r.Reset(bufio.NewReaderSize(oneByteReader{s.conn()}, 16))
	s.r.Shrink()
	id.parked = true
}

// end stops updates, waits for one that runs, takes buffers back, and
// returns the error of a failed update.
func (id *idler) end() error {
	if id.sub != nil {
		id.sub.Close()
	}
	if id.ntSub != nil {
		id.ntSub.Close()
	}
	id.mu.Lock()
	id.ended = true
	if id.timer != nil {
		id.timer.Stop()
	}
	id.mu.Unlock()
	id.work.Lock()
	defer id.work.Unlock()
	s := id.s
	if id.parked {
		id.parked = false
		bw := s.srv.writers.Get().(*bufio.Writer)
		bw.Reset(s.dw)
		s.w.Attach(bw)
		s.br = s.srv.readers.Get().(*bufio.Reader)
		s.br.Reset(s.conn())
		s.r.Reset(s.br)
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.err
}

// oneByteReader reads at most one byte per call.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
