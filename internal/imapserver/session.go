package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// state is the session state of RFC 9051 §3.
type state uint8

const (
	stateNotAuth state = 1 << iota
	stateAuth
	stateSelected
	stateLogout
)

const (
	anyState  = stateNotAuth | stateAuth | stateSelected
	authState = stateAuth | stateSelected
)

// maxBadCommands is how many BAD responses in a row end a session.
const maxBadCommands = 20

// maxAuthFailures is how many failed logins end a session.
const maxAuthFailures = 3

// preAuthLiteral bounds literals before authentication (a LOGIN password
// fits; an upload does not).
const preAuthLiteral = 8 << 10

// session is one IMAP connection. Only its own goroutine touches its
// fields, except shutdown (any goroutine) and the conn pointer, which
// STARTTLS swaps under cmu.
type session struct {
	srv *Server
	o   *Options
	id  string
	ip  string
	log *slog.Logger

	cmu sync.Mutex
	c   net.Conn

	br  *bufio.Reader
	r   *imap.Reader
	w   *imap.Writer
	dw  *deadlineWriter // what w writes to
	tls bool

	stop     chan struct{} // closed by shutdown
	stopOnce sync.Once
	closing  atomic.Bool
	// rmu orders shutdown with the session's reads: waiting is true
	// while the session waits for the client between commands or in
	// IDLE, the only reads shutdown interrupts, so that a command in
	// progress (an APPEND's literal still arriving) completes first.
	rmu     sync.Mutex
	waiting bool
	// endCode and endText are the BYE of a session ended for a reason
	// of its own (Server.EndUser); nil: the server is shutting down.
	endText atomic.Pointer[string]
	endCode imap.Code
	// unwatch ends Options.Watch's interest in the session.
	unwatch func()

	state       state
	ctx         context.Context // carries the principal once authenticated
	p           *store.Principal
	storeID     int64 // the user's private store
	countedUser string

	// ptree is the personal namespace's folder tree as resolve last read
	// it, valid while the events hub has published nothing for storeID
	// after ptreeGen (see resolvedTree).
	ptree    *tree
	ptreeGen uint64

	rev2, condstore, qresync, utf8 bool
	compressed                     bool // COMPRESS DEFLATE is on (RFC 4978)
	uidonly                        bool // UIDONLY is on (RFC 9586, uidonly.go)

	sel       *selection
	fx        *fetchExt // the FETCH being answered (fetch_ext.go)
	tag       string    // the tag of the command being answered (INPROGRESS)
	badCount  int
	authFails int
	// origin is the client address a frontend named in ID
	// (x-originating-ip and -port), used once it logs in with the
	// shard secret (proxy.go).
	origin  string
	proxied bool // logged in by a frontend: never routed again

	// wmu is held by the session goroutine from reading a command to
	// flushing its answer (inCmd), and by the NOTIFY notifier while it
	// writes between commands (cmd_notify.go).
	wmu   sync.Mutex
	inCmd bool
	nt    *notifier
}

func newSession(srv *Server, c net.Conn, ip string) *session {
	s := &session{
		srv: srv, o: &srv.o, id: connID(srv.connSeq.Add(1)), ip: ip, c: c,
		stop: make(chan struct{}), state: stateNotAuth, ctx: srv.ctx,
	}
	s.log = srv.log.With("conn", s.id, "remote", ip)
	s.setConn(c)
	return s
}

// setConn makes the session read and write c (after STARTTLS too).
func (s *session) setConn(c net.Conn) {
	s.cmu.Lock()
	s.c = c
	s.cmu.Unlock()
	s.br = bufio.NewReader(c)
	dw := &deadlineWriter{c: c}
	s.dw = dw
	if s.r == nil {
		s.r = imap.NewReader(s.br, s.o.Limits)
		s.r.OnLiteral = s.onLiteral
		s.r.LiteralMinus = true // until authenticated, RFC 7888 §4
		s.w = imap.NewWriter(dw)
		return
	}
	s.r.Reset(s.br)
	s.w.Reset(dw)
}

func (s *session) conn() net.Conn {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.c
}

// deadlineWriter extends the write deadline before every write, so a slow
// but live client can receive a large FETCH while a stuck one is dropped.
type deadlineWriter struct{ c net.Conn }

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return d.c.Write(p)
}

// shutdown asks the session to end: a session waiting for a command (or
// in IDLE) says BYE at once; one in a command answers it first.
func (s *session) shutdown() {
	s.rmu.Lock()
	s.closing.Store(true)
	if s.waiting { // under rmu: endWait cannot undo or miss it
		s.conn().SetReadDeadline(time.Now())
	}
	s.rmu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
}

// end is shutdown with the BYE's own response code and text.
func (s *session) end(code imap.Code, text string) {
	s.rmu.Lock()
	if !s.closing.Load() {
		s.endCode = code
		s.endText.Store(&text)
	}
	s.rmu.Unlock()
	s.shutdown()
}

// closingBye says BYE to a session that shutdown or end asked to end.
func (s *session) closingBye() error {
	s.rmu.Lock()
	code, text := s.endCode, s.endText.Load()
	s.rmu.Unlock()
	if text == nil {
		return s.bye("Server shutting down")
	}
	s.w.Untagged(imap.BYE, code, *text)
	s.flush()
	return errLogout
}

// beginWait marks the session as waiting for the client (between
// commands, in IDLE), the reads shutdown interrupts; false when the
// session is to end already.
func (s *session) beginWait() bool {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.waiting = true
	return true
}

// endWait ends beginWait. When input ended the wait (began) and shutdown
// came meanwhile, the read deadline shutdown set is put back to
// deadline, so that the command that has begun is read whole.
func (s *session) endWait(began bool, deadline time.Time) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.waiting = false
	if began && s.closing.Load() {
		s.conn().SetReadDeadline(deadline)
	}
}

// errLogout ends the session after a response was written.
var errLogout = errors.New("logout")

// ioError marks an error of the connection itself: the session ends
// without another response.
type ioError struct{ err error }

func (e *ioError) Error() string { return "connection: " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

func (s *session) serve(implicitTLS bool) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("panic in IMAP session", "panic", v, "stack", string(debug.Stack()))
			if s.srv.onPanic != nil {
				s.srv.onPanic(v)
			}
		}
		if !s.inCmd {
			s.wmu.Lock()
		}
		s.stopNotify()
		s.wmu.Unlock()
		s.conn().Close()
	}()
	s.log.Debug("connected")
	if implicitTLS {
		c := s.conn()
		tc := tls.Server(c, s.o.TLS)
		c.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.HandshakeContext(s.srv.ctx); err != nil {
			s.log.Debug("TLS handshake", "err", err)
			return
		}
		c.SetDeadline(time.Time{})
		s.tls = true
		s.setConn(tc)
	}
	s.w.Untagged(imap.OK, imap.CodeCapability(s.caps()...), s.o.Hostname+" Roost IMAP ready")
	if err := s.w.Flush(); err != nil {
		return
	}
	for {
		if err := s.next(); err != nil {
			if !errors.Is(err, errLogout) {
				s.log.Debug("session ends", "err", err)
			}
			return
		}
	}
}

// next reads and answers one command.
func (s *session) next() error {
	timeout := preAuthTimeout
	if s.state != stateNotAuth {
		timeout = authTimeout
	}
	s.conn().SetReadDeadline(time.Now().Add(timeout))
	if !s.beginWait() {
		s.lockCmd()
		defer s.unlockCmd()
		return s.closingBye()
	}
	// Wait for the first byte of a command: until then shutdown may
	// interrupt the read; a command that has begun is read and answered.
	_, err := s.br.Peek(1)
	s.endWait(err == nil, time.Now().Add(timeout))
	c, err := s.r.ReadCommand()
	s.lockCmd()
	defer s.unlockCmd()
	if err != nil {
		var pe *imap.ParseError
		if errors.As(err, &pe) {
			s.w.WriteParseError(pe)
			if pe.Fatal {
				s.w.Flush()
				return err
			}
			if pe.No {
				return s.flush() // a refusal, not a client error
			}
			return s.countBad()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			if s.closing.Load() {
				return s.closingBye()
			}
			return s.bye("Autologout; idle for too long")
		}
		return err // EOF or a broken connection
	}
	s.log.Debug("command", "cmd", c.Redacted())
	err = s.dispatch(c)
	if ferr := s.flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// countBad counts a BAD answer and ends the session after too many.
func (s *session) countBad() error {
	s.badCount++
	if s.badCount >= maxBadCommands {
		return s.bye("Too many invalid commands")
	}
	return s.flush()
}

// bye sends "* BYE text" and ends the session.
func (s *session) bye(text string) error {
	s.w.Untagged(imap.BYE, "", text)
	s.flush()
	return errLogout
}

func (s *session) flush() error {
	if err := s.w.Flush(); err != nil {
		return &ioError{err}
	}
	return nil
}

// onLiteral is the Reader's hook for every literal: it refuses what the
// session state or the APPENDLIMIT does not allow and sends the
// continuation request of a synchronizing literal.
func (s *session) onLiteral(li imap.LiteralInfo) error {
	if s.state == stateNotAuth && (li.Message || li.Size > preAuthLiteral) {
		return imap.Reject(false, imap.CodeLimit, "literal too large before authentication")
	}
	if li.Message && li.Size > s.o.MaxMessageBytes {
		return imap.Reject(true, imap.CodeTooBig, "message exceeds the APPENDLIMIT")
	}
	if li.Command == "SETMETADATA" && li.Size > metadataMaxValue {
		// RFC 5464 §4.3: refuse before the value is sent.
		return imap.Reject(true, imap.CodeMetadataMaxSize(metadataMaxValue), "value too long")
	}
	if li.Sync {
		if !s.inCmd { // a literal of a command still being read
			s.wmu.Lock()
			defer s.wmu.Unlock()
		}
		s.w.Continue("Ready")
		return s.w.Flush()
	}
	return nil
}

// lockCmd and unlockCmd hold the write lock while a command runs.
func (s *session) lockCmd() {
	s.wmu.Lock()
	s.inCmd = true
}

func (s *session) unlockCmd() {
	s.inCmd = false
	s.wmu.Unlock()
}

// handler is a command implementation: it writes untagged responses and
// returns the code of the tagged OK, or an error for a NO or BAD.
type handler struct {
	fn     func(s *session, c *imap.Command) (imap.Code, error)
	states state
}

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"CAPABILITY": {(*session).cmdCapability, anyState},
		"NOOP":       {(*session).cmdNoop, anyState},
		"LOGOUT":     {(*session).cmdLogout, anyState},
		"ID":         {(*session).cmdID, anyState},
		"ENABLE":     {(*session).cmdEnable, authState},

		"STARTTLS":     {(*session).cmdStartTLS, stateNotAuth},
		"LOGIN":        {(*session).cmdLogin, stateNotAuth},
		"AUTHENTICATE": {(*session).cmdAuthenticate, stateNotAuth},

		"SELECT":      {(*session).cmdSelect, authState},
		"EXAMINE":     {(*session).cmdSelect, authState},
		"CREATE":      {(*session).cmdCreate, authState},
		"DELETE":      {(*session).cmdDelete, authState},
		"RENAME":      {(*session).cmdRename, authState},
		"SUBSCRIBE":   {(*session).cmdSubscribe, authState},
		"UNSUBSCRIBE": {(*session).cmdSubscribe, authState},
		"LIST":        {(*session).cmdList, authState},
		"LSUB":        {(*session).cmdList, authState},
		"NAMESPACE":   {(*session).cmdNamespace, authState},
		"STATUS":      {(*session).cmdStatus, authState},
		"APPEND":      {(*session).cmdAppend, authState},
		"IDLE":        {(*session).cmdIdle, authState},
		"COMPRESS":    {(*session).cmdCompress, authState},

		"GETQUOTA":     {(*session).cmdGetQuota, authState},
		"GETQUOTAROOT": {(*session).cmdGetQuotaRoot, authState},
		"SETQUOTA":     {(*session).cmdSetQuota, authState},
		"GETACL":       {(*session).cmdGetACL, authState},
		"SETACL":       {(*session).cmdSetACL, authState},
		"DELETEACL":    {(*session).cmdSetACL, authState},
		"LISTRIGHTS":   {(*session).cmdListRights, authState},
		"MYRIGHTS":     {(*session).cmdMyRights, authState},
		"GETMETADATA":  {(*session).cmdGetMetadata, authState},
		"SETMETADATA":  {(*session).cmdSetMetadata, authState},

		"CHECK":    {(*session).cmdNoop, stateSelected},
		"CLOSE":    {(*session).cmdClose, stateSelected},
		"UNSELECT": {(*session).cmdClose, stateSelected},
		"EXPUNGE":  {(*session).cmdExpunge, stateSelected},
		"SEARCH":   {(*session).cmdSearch, stateSelected},
		"SORT":     {(*session).cmdSort, stateSelected},
		"THREAD":   {(*session).cmdThread, stateSelected},
		"FETCH":    {(*session).cmdFetch, stateSelected},
		"STORE":    {(*session).cmdStore, stateSelected},
		"COPY":     {(*session).cmdCopy, stateSelected},
		"MOVE":     {(*session).cmdCopy, stateSelected},
		"REPLACE":  {(*session).cmdReplace, stateSelected},

		"CANCELUPDATE": {(*session).cmdCancelUpdate, stateSelected},
		"NOTIFY":       {(*session).cmdNotify, authState},
		"GENURLAUTH":   {(*session).cmdGenURLAuth, authState},
		"RESETKEY":     {(*session).cmdResetKey, authState},
		"URLFETCH":     {(*session).cmdURLFetch, authState},
	}
}

// dispatch runs one command and writes its tagged response.
func (s *session) dispatch(c *imap.Command) error {
	h, ok := handlers[c.Name]
	if !ok {
		s.w.Tagged(c.Tag, imap.BAD, imap.CodeCannot, c.Name+" is not supported")
		return s.countBad()
	}
	if h.states&s.state == 0 {
		s.w.Tagged(c.Tag, imap.BAD, imap.CodeClientBug, c.Name+" is not allowed now")
		return s.countBad()
	}
	s.tag = c.Tag
	start := time.Now()
	code, err := imap.Code(""), s.checkUIDOnly(c)
	if err == nil {
		code, err = h.fn(s, c)
	}
	if s.o.OnCommand != nil {
		s.o.OnCommand(c.Name, time.Since(start), err)
	}
	s.tag = ""
	if errors.Is(err, errLogout) {
		return err
	}
	if errors.Is(err, errResponded) {
		return nil
	}
	var ioe *ioError
	if errors.As(err, &ioe) {
		return err
	}
	if s.w.Err() != nil {
		return &ioError{s.w.Err()}
	}
	// Tell the client what changed in the selected mailbox before the
	// command completes (RFC 9051 §7.4.1 and §5.2).
	if s.state == stateSelected && c.Name != "SELECT" && c.Name != "EXAMINE" {
		if serr := s.sync(expungeAllowed(c)); serr != nil {
			return serr
		}
	}
	s.notifyDeliver(false) // RFC 5465

	if err != nil {
		re := s.mapErr(c, err)
		s.w.Tagged(c.Tag, re.st, re.code, re.text)
		if re.fatal {
			return s.bye("Closing connection")
		}
		if re.st == imap.BAD {
			return s.countBad()
		}
		return nil
	}
	s.badCount = 0
	s.w.Tagged(c.Tag, imap.OK, code, c.Name+" completed")
	return nil
}

// expungeAllowed reports whether EXPUNGE responses may be sent while
// answering c: not during FETCH, STORE or SEARCH by sequence number, whose
// results would become ambiguous (RFC 9051 §7.4.1).
func expungeAllowed(c *imap.Command) bool {
	if c.UID {
		return true
	}
	switch c.Name {
	case "FETCH", "STORE", "SEARCH", "SORT", "THREAD":
		return false
	}
	return true
}

// readErr turns an error of the Reader during a command into the right
// return value: a ParseError is answered (it is tagged), anything else
// ends the session.
func (s *session) readErr(err error) error {
	var pe *imap.ParseError
	if errors.As(err, &pe) {
		return &respError{st: parseStatus(pe), code: pe.Code, text: pe.Msg, fatal: pe.Fatal}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &ioError{err}
}

func parseStatus(pe *imap.ParseError) imap.Status {
	if pe.No {
		return imap.NO
	}
	return imap.BAD
}
