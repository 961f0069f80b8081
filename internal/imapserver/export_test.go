package imapserver

import (
	"net"
	"time"
)

// Test hooks, compiled only into the tests.

// ServeConnForTest serves one connection (net.Pipe in the fuzz target);
// the channel is closed when its session has ended.
func (s *Server) ServeConnForTest(c net.Conn) <-chan struct{} { return s.serveConn(c, false) }

// SetOnPanic installs a function called with every recovered panic.
func (s *Server) SetOnPanic(f func(any)) { s.onPanic = f }

// SetMessageLimit sets the MESSAGELIMIT.
func (s *Server) SetMessageLimit(n int) { s.messageLimit.Store(int64(n)) }

// SetProgressEvery sets how often INPROGRESS updates may be sent.
func (s *Server) SetProgressEvery(d time.Duration) { s.progressEvery.Store(int64(d)) }

// SetIdlePoll makes IDLE poll the journal this often.
func (s *Server) SetIdlePoll(d time.Duration) { s.idlePoll = d }
