package imapserver

import (
	"errors"
	"net"
	"os"
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
func (s *session) cmdIdle(c *imap.Command) (imap.Code, error) {
	var notify <-chan events.Change
	poll := idlePollNoEvents
	if s.srv.idlePoll > 0 {
		poll = s.srv.idlePoll
	}
	if s.sel != nil && s.o.Events != nil {
		sub := s.o.Events.Subscribe(s.sel.storeID)
		defer sub.Close()
		notify = sub.C
		if s.srv.idlePoll == 0 {
			poll = idlePollEvents
		}
	}
	// Anything that changed before the subscription started.
	if err := s.sync(true); err != nil {
		return "", err
	}
	s.w.Continue("idling")
	if err := s.flush(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- s.r.ReadIdleDone() }()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				return "", nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				if s.closing.Load() {
					return "", s.bye("Server shutting down")
				}
				return "", s.bye("Autologout; idle for too long")
			}
			return "", s.readErr(err)
		case <-notify:
		case <-ticker.C:
		case <-s.stop:
			// shutdown set a read deadline: the reader returns soon, and it
			// must be done with the Reader before the session ends.
			err := s.bye("Server shutting down")
			<-done
			return "", err
		}
		if err := s.sync(true); err != nil {
			s.conn().SetReadDeadline(time.Now())
			<-done
			return "", err
		}
		if err := s.flush(); err != nil {
			s.conn().SetReadDeadline(time.Now())
			<-done
			return "", err
		}
	}
}
