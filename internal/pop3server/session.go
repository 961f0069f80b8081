package pop3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

type message struct {
	id      int64
	uid     uint32
	size    int64
	deleted bool
}

type session struct {
	srv  *Server
	conn net.Conn
	tls  bool
	log  *slog.Logger
	r    *bufio.Reader
	w    *bufio.Writer

	user string // USER given, waiting for PASS
	// base is cancelled when the server closes and carries the principal
	// once logged in; ctx is base with the current command's deadline.
	base    context.Context
	ctx     context.Context
	who     string // the logged-in user
	storeID int64  // and its private store
	folder  int64
	uidv    uint32
	msgs    []message
	bad     int
	authed  bool
	quitted bool
	// origin is the client address a frontend named in XCLIENT, used once
	// it logs in with the shard secret; proxied marks such a session
	// (proxy.go).
	origin   string
	proxied  bool
	rerouted bool // a frontend asked Route a second time (routeAgain)
	// endText, set by Server.EndUser, ends the session at its next
	// command; unwatch ends Options.Watch's interest (set on login).
	endText atomic.Pointer[string]
	unwatch func()
}

func (ss *session) plaintextOK() bool { return ss.tls || ss.srv.o.AllowPlaintextAuth }

func (ss *session) run() {
	if err := ss.reply("+OK %s Roost POP3 server ready", ss.srv.o.Hostname); err != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			if ss.badCommand("line too long") {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if verb == "PASS" {
			ss.log.Debug("command", "verb", verb)
		} else {
			ss.log.Debug("command", "line", line)
		}
		var stop bool
		var cancel context.CancelFunc
		ss.ctx, cancel = context.WithTimeout(ss.base, ss.srv.o.CommandTimeout)
		start := time.Now()
		if t := ss.endText.Load(); t != nil && ss.authed && verb != "QUIT" {
			ss.log.Info("session ended", "reason", *t)
			ss.reply("-ERR [SYS/TEMP] %s", *t)
			stop = true
		} else if ss.authed {
			stop = ss.transaction(verb, arg)
		} else {
			stop = ss.authorization(verb, arg)
		}
		cancel()
		if ss.srv.o.OnCommand != nil {
			ss.srv.o.OnCommand(verb, time.Since(start))
		}
		if stop {
			return
		}
	}
}

// badCommand answers an unknown or malformed command; too many of them end
// the session. It returns true when the session must end.
func (ss *session) badCommand(msg string) bool {
	ss.bad++
	if ss.bad >= maxBadCommands {
		ss.reply("-ERR too many bad commands, closing")
		return true
	}
	return ss.reply("-ERR %s", msg) != nil
}

func (ss *session) capa() error {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Roost"}
	if !ss.authed {
		var mechs []string
		if ss.plaintextOK() {
			caps = append(caps, "USER")
			mechs = append(mechs, "PLAIN")
			if ss.srv.o.VerifyToken != nil {
				mechs = append(mechs, "OAUTHBEARER", "XOAUTH2")
			}
		}
		if ss.srv.o.GSSAPI != nil {
			mechs = append(mechs, "GSSAPI") // no password: offered without TLS too
		}
		if len(mechs) > 0 {
			caps = append(caps, "SASL "+strings.Join(mechs, " "))
		}
		if !ss.tls && ss.srv.o.TLS != nil {
			caps = append(caps, "STLS")
		}
	}
	fmt.Fprintf(ss.w, "+OK capability list follows\r\n%s\r\n.\r\n", strings.Join(caps, "\r\n"))
	return ss.w.Flush()
}

func (ss *session) authorization(verb, arg string) bool {
	var err error
	switch verb {
	case "CAPA":
		err = ss.capa()
	case "QUIT":
		ss.reply("+OK bye")
		return true
	case "NOOP":
		err = ss.reply("+OK")
	case "STLS":
		if ss.tls || ss.srv.o.TLS == nil {
			return ss.badCommand("STLS not available")
		}
		if ss.r.Buffered() > 0 {
			// RFC 2595 §4 / RFC 3207 §6: nothing may be pipelined after
			// STLS; anything buffered came in the clear.
			ss.reply("-ERR commands pipelined after STLS, closing")
			return true
		}
		if err := ss.reply("+OK begin TLS negotiation"); err != nil {
			return true
		}
		tc := tls.Server(ss.conn, ss.srv.o.TLS)
		if err := tc.HandshakeContext(ss.ctx); err != nil {
			ss.log.Debug("STLS handshake failed", "err", err)
			return true
		}
		ss.conn, ss.tls = tc, true
		ss.r, ss.w = bufio.NewReaderSize(tc, 4096), bufio.NewWriter(deadlineWriter{tc})
		ss.user = ""
		// Close closes the plain connection underneath, ending this one too.
		return false
	case "USER":
		if !ss.plaintextOK() {
			err = ss.reply("-ERR [AUTH] use STLS first: passwords are not accepted on an unencrypted connection")
			break
		}
		if arg == "" {
			return ss.badCommand("USER needs a name")
		}
		ss.user = arg
		err = ss.reply("+OK send PASS")
	case "PASS":
		if ss.user == "" {
			return ss.badCommand("USER first")
		}
		user := ss.user
		ss.user = ""
		return ss.login(user, arg)
	case "AUTH":
		return ss.auth(arg)
	case "APOP":
		err = ss.reply("-ERR APOP is not supported; use USER/PASS or AUTH PLAIN over TLS")
	case "XCLIENT":
		if ss.srv.o.ProxyLogin == nil {
			return ss.badCommand("unknown command or not allowed before login")
		}
		ss.origin = xclientOrigin(arg)
		err = ss.reply("+OK")
	default:
		return ss.badCommand("unknown command or not allowed before login")
	}
	return err != nil
}

func (ss *session) auth(arg string) bool {
	mech, initial, hasInitial := strings.Cut(arg, " ")
	if mech == "" {
		// RFC 5034 §4: AUTH without a mechanism lists them (as CAPA SASL).
		fmt.Fprintf(ss.w, "+OK\r\n")
		if ss.srv.o.GSSAPI != nil {
			fmt.Fprintf(ss.w, "GSSAPI\r\n")
		}
		if ss.plaintextOK() {
			fmt.Fprintf(ss.w, "PLAIN\r\n")
			if ss.srv.o.VerifyToken != nil {
				fmt.Fprintf(ss.w, "OAUTHBEARER\r\nXOAUTH2\r\n")
			}
		}
		fmt.Fprintf(ss.w, ".\r\n")
		return ss.w.Flush() != nil
	}
	if strings.EqualFold(mech, "GSSAPI") && ss.srv.o.GSSAPI != nil {
		return ss.authGSSAPI(initial, hasInitial)
	}
	if m := strings.ToUpper(mech); (m == "OAUTHBEARER" || m == "XOAUTH2") && ss.srv.o.VerifyToken != nil {
		return ss.authBearer(m, initial, hasInitial)
	}
	if !strings.EqualFold(mech, "PLAIN") {
		return ss.reply("-ERR unsupported SASL mechanism") != nil
	}
	if !ss.plaintextOK() {
		return ss.reply("-ERR [AUTH] use STLS first: passwords are not accepted on an unencrypted connection") != nil
	}
	if !hasInitial {
		if err := ss.reply("+ "); err != nil {
			return true
		}
		line, err := ss.readLine()
		if err != nil {
			return true
		}
		initial = line
	}
	if initial == "*" {
		return ss.reply("-ERR authentication cancelled") != nil
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return ss.badCommand("invalid base64 in AUTH")
	}
	// RFC 4616: authzid NUL authcid NUL passwd.
	parts := bytes.SplitN(raw, []byte{0}, 3)
	if len(parts) != 3 {
		return ss.badCommand("malformed PLAIN response")
	}
	if len(parts[0]) > 0 && string(parts[1]) == ProxyIdentity && ss.srv.o.ProxyLogin != nil && (len(ss.srv.o.ProxySecret) > 0 || ss.srv.o.ProxyClientCAs != nil) {
		return ss.proxiedLogin(string(parts[0]), parts[2])
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		return ss.reply("-ERR [AUTH] acting as another user is not allowed") != nil
	}
	return ss.login(string(parts[1]), string(parts[2]))
}

// loginFailure is the one place where a failed login becomes POP3: the
// directory's sentinels are answers ([AUTH], RFC 3206 §4); a throttle or
// anything else (the directory or store failing) is [SYS/TEMP], the
// unexpected logged with its error, never a wrong password.
func (ss *session) loginFailure(user string, err error) bool {
	var reply string
	switch {
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		ss.log.Info("login failed", "user", user)
		reply = "-ERR [AUTH] authentication failed"
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		ss.log.Info("login refused", "user", user, "err", err)
		reply = "-ERR [AUTH] this account may not use POP3"
	case errors.Is(err, directory.ErrThrottled):
		ss.log.Info("login throttled", "user", user)
		reply = "-ERR [SYS/TEMP] authentication temporarily unavailable, try again later"
	default:
		ss.log.Error("login failed", "user", user, "err", err)
		reply = "-ERR [SYS/TEMP] authentication temporarily unavailable, try again later"
	}
	return ss.reply("%s", reply) != nil
}

func (ss *session) login(user, pass string) bool {
	p, err := ss.srv.o.Authenticate(ss.ctx, user, pass, ss.conn.RemoteAddr())
	if err != nil || p == nil {
		return ss.loginFailure(user, err)
	}
	return ss.enter(p)
}

// enter starts the transaction state as p, authenticated. It reports
// whether the session ends.
func (ss *session) enter(p *store.Principal) bool {
	if ss.srv.o.Route != nil && !ss.proxied {
		addr, err := ss.srv.o.Route(ss.ctx, p)
		if err != nil {
			ss.log.Error("route to the home backend", "user", p.Login, "err", err)
			return ss.reply("-ERR [SYS/TEMP] cannot open the maildrop, try again later") != nil
		}
		if addr != "" {
			return ss.proxy(addr, p)
		}
	}
	ss.base = store.WithPrincipal(ss.base, p)
	ss.ctx = store.WithPrincipal(ss.ctx, p)
	if err := ss.loadInbox(p.Login); err != nil {
		ss.log.Error("open maildrop", "user", p.Login, "err", err)
		return ss.reply("-ERR [SYS/TEMP] cannot open the maildrop, try again later") != nil
	}
	ss.who, ss.authed = p.Login, true
	if ss.srv.o.Watch != nil {
		ss.srv.addUser(ss)
		ss.unwatch = ss.srv.o.Watch(p, ss.storeID)
	}
	ss.log = ss.log.With("user", p.Login)
	var size int64
	for _, m := range ss.msgs {
		size += m.size
	}
	return ss.reply("+OK maildrop has %d messages (%d octets)", len(ss.msgs), size) != nil
}

func (ss *session) loadInbox(login string) error {
	b := ss.srv.o.Store
	st, err := b.UserStore(ss.ctx, login)
	if err != nil {
		return err
	}
	ss.storeID = st.ID
	folders, err := b.ListFolders(ss.ctx, st.ID)
	if err != nil {
		return err
	}
	for _, f := range folders {
		if f.Special == store.SpecialInbox {
			ss.folder, ss.uidv = f.ID, f.UIDValidity
		}
	}
	if ss.folder == 0 {
		return errors.New("store has no Inbox")
	}
	items, err := b.ListItems(ss.ctx, ss.folder, 1, maxMessages)
	if err != nil {
		return err
	}
	ss.msgs = make([]message, len(items))
	for i, it := range items {
		ss.msgs[i] = message{id: it.ID, uid: it.UID, size: it.Size}
	}
	return nil
}

// msg parses a message number argument (1-based) of a live message.
func (ss *session) msg(arg string) (*message, string) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > len(ss.msgs) {
		return nil, "no such message"
	}
	m := &ss.msgs[n-1]
	if m.deleted {
		return nil, "message is deleted"
	}
	return m, ""
}

func (ss *session) transaction(verb, arg string) bool {
	var err error
	switch verb {
	case "CAPA":
		err = ss.capa()
	case "NOOP":
		err = ss.reply("+OK")
	case "STAT":
		n, size := 0, int64(0)
		for _, m := range ss.msgs {
			if !m.deleted {
				n++
				size += m.size
			}
		}
		err = ss.reply("+OK %d %d", n, size)
	case "LIST", "UIDL":
		if arg != "" {
			m, why := ss.msg(arg)
			if m == nil {
				return ss.reply("-ERR %s", why) != nil
			}
			n, _ := strconv.Atoi(strings.TrimSpace(arg))
			if verb == "LIST" {
				err = ss.reply("+OK %d %d", n, m.size)
			} else {
				err = ss.reply("+OK %d %d.%d", n, ss.uidv, m.uid)
			}
			break
		}
		fmt.Fprintf(ss.w, "+OK\r\n")
		for i, m := range ss.msgs {
			if m.deleted {
				continue
			}
			if verb == "LIST" {
				fmt.Fprintf(ss.w, "%d %d\r\n", i+1, m.size)
			} else {
				fmt.Fprintf(ss.w, "%d %d.%d\r\n", i+1, ss.uidv, m.uid)
			}
		}
		fmt.Fprintf(ss.w, ".\r\n")
		err = ss.w.Flush()
	case "RETR", "TOP":
		numArg, linesArg, _ := strings.Cut(arg, " ")
		m, why := ss.msg(numArg)
		if m == nil {
			return ss.reply("-ERR %s", why) != nil
		}
		lines := -1
		if verb == "TOP" {
			l, perr := strconv.Atoi(strings.TrimSpace(linesArg))
			if perr != nil || l < 0 {
				return ss.badCommand("TOP needs a message number and a line count")
			}
			lines = l
		}
		err = ss.send(m, lines)
	case "DELE":
		m, why := ss.msg(arg)
		if m == nil {
			return ss.reply("-ERR %s", why) != nil
		}
		m.deleted = true
		err = ss.reply("+OK message marked for deletion")
	case "RSET":
		for i := range ss.msgs {
			ss.msgs[i].deleted = false
		}
		err = ss.reply("+OK")
	case "QUIT":
		ss.update()
		return true
	case "USER", "PASS", "AUTH", "STLS", "APOP":
		return ss.badCommand("already logged in")
	default:
		return ss.badCommand("unknown command")
	}
	return err != nil
}

// update is the UPDATE state (RFC 1939 §6): marked messages go.
func (ss *session) update() {
	var uids []uint32
	for _, m := range ss.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	if len(uids) > 0 {
		if _, err := ss.srv.o.Store.DeleteItems(ss.ctx, ss.folder, uids); err != nil {
			ss.log.Error("delete marked messages", "err", err)
			ss.reply("-ERR [SYS/TEMP] some deleted messages not removed")
			return
		}
	}
	ss.reply("+OK %s Roost POP3 server signing off", ss.srv.o.Hostname)
}

// send writes a message (or its header and the first lines of its body
// for TOP) as a multi-line response: CRLF line endings, dot-stuffed
// (RFC 1939 §3), streamed without holding the message in memory.
//
// The content is not read under the command's deadline: a store may read a
// large message's parts as the transfer reaches them, and a slow but live
// client may take longer than CommandTimeout to receive it. Instead each
// read from the store (the open included) must end within CommandTimeout,
// the time spent writing to the client not counted; a client that stops
// reading is dropped by the write deadline, and the server's Close still
// cancels the read.
func (ss *session) send(m *message, bodyLines int) error {
	ctx, cancel := context.WithCancelCause(ss.base)
	defer cancel(nil)
	stall := time.AfterFunc(ss.srv.o.CommandTimeout, func() {
		cancel(fmt.Errorf("reading the message took longer than %v", ss.srv.o.CommandTimeout))
	})
	defer stall.Stop()
	r, err := ss.srv.o.Store.OpenItem(ctx, m.id)
	stall.Stop()
	if err != nil {
		ss.log.Error("open message", "uid", m.uid, "err", err)
		return ss.reply("-ERR [SYS/TEMP] cannot read the message")
	}
	defer r.Close()
	fmt.Fprintf(ss.w, "+OK %d octets\r\n", m.size)
	br := bufio.NewReaderSize(r, 32*1024)
	atStart, inBody := true, false
	for {
		stall.Reset(ss.srv.o.CommandTimeout)
		chunk, err := br.ReadSlice('\n')
		stall.Stop()
		complete := err == nil
		if len(chunk) > 0 {
			data := chunk
			if complete {
				data = bytes.TrimRight(chunk, "\r\n")
			}
			if atStart {
				if inBody && bodyLines >= 0 {
					if bodyLines == 0 {
						break
					}
					bodyLines--
				}
				if len(data) > 0 && data[0] == '.' {
					ss.w.WriteByte('.')
				}
			}
			ss.w.Write(data)
			if complete {
				ss.w.WriteString("\r\n")
				if atStart && len(data) == 0 {
					inBody = true
				}
			}
			atStart = complete
		}
		if err == io.EOF {
			if !atStart {
				ss.w.WriteString("\r\n")
			}
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			ss.log.Error("read message", "uid", m.uid, "err", err)
			return err
		}
	}
	ss.w.WriteString(".\r\n")
	return ss.w.Flush()
}
