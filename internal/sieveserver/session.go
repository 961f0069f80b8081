package sieveserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

type session struct {
	s    *Server
	c    net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	log  *slog.Logger
	tls  bool
	p    *store.Principal
	ctx  context.Context // carries p once authenticated
	bad  int
	auth int // failed authentications
	quit bool
	id   string // the connection's number in the log
	// origin is the client address a frontend named in XCLIENT, used
	// once a proxied login succeeds; proxied marks such a session
	// (proxy.go).
	origin  string
	proxied bool

	// EndUser's request: endText is what the client is told; waiting
	// is set while the session waits for the first byte of a command
	// (then EndUser interrupts the read). Both under mu.
	mu      sync.Mutex
	endText string
	waiting bool
	unwatch func() // Options.Watch's, once logged in
}

// end asks the session to end with BYE (TRYLATER) text.
func (sess *session) end(text string) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.endText = text
	if sess.waiting {
		sess.c.SetReadDeadline(time.Now())
	}
}

// ended is EndUser's text, "" when the session goes on.
func (sess *session) ended() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.endText
}

// setWaiting marks the wait for a command; at its end the read deadline
// is the idle timeout again (undoing an interruption that came too late:
// the command that arrived is served, and the session ends after it).
func (sess *session) setWaiting(w bool) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.waiting = w
	sess.c.SetReadDeadline(time.Now().Add(sess.s.o.IdleTimeout))
}

// byeEnded tells the client why its session ends, when EndUser ended it.
func (sess *session) byeEnded() bool {
	t := sess.ended()
	if t == "" {
		return false
	}
	sess.log.Info("session ended", "reason", t)
	sess.send(bye("TRYLATER", t))
	return true
}

// response is a final answer: OK, NO or BYE, with an optional response
// code (RFC 5804 §1.3) and text.
type response struct {
	kind string // "OK", "NO", "BYE"
	code string
	text string
}

func ok(text string) response        { return response{kind: "OK", text: text} }
func no(code, text string) response  { return response{kind: "NO", code: code, text: text} }
func bye(code, text string) response { return response{kind: "BYE", code: code, text: text} }
func (r response) fatal() bool       { return r.kind == "BYE" }
func badSyntax(text string) response { return no("", text) }

func (s *Server) handle(c net.Conn, implicitTLS bool) {
	id := fmt.Sprintf("%d", s.seq.Add(1))
	sess := &session{s: s, c: c, id: id, log: s.log.With("conn", id, "remote", c.RemoteAddr().String()), ctx: s.ctx}
	defer func() {
		if p := recover(); p != nil {
			sess.log.Error("session panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if implicitTLS {
		if s.o.TLS == nil || !sess.startTLS() {
			return
		}
	}
	sess.r = bufio.NewReaderSize(sess.c, 16<<10)
	sess.w = bufio.NewWriter(sess.c)
	sess.writeCaps()
	sess.send(ok("Roost ManageSieve ready"))
	defer func() {
		if sess.unwatch != nil {
			sess.s.removeUser(sess)
			sess.unwatch()
		}
	}()
	for !sess.quit {
		if sess.byeEnded() {
			return
		}
		sess.setWaiting(true)
		_, perr := sess.r.Peek(1)
		sess.setWaiting(false)
		if perr != nil {
			sess.byeEnded()
			return
		}
		cmd, err := ReadCommand(sess.r, s.o.Limits)
		var se *SyntaxError
		var big *LiteralTooBigError
		switch {
		case errors.As(err, &se):
			sess.fail(badSyntax(se.Msg))
			continue
		case errors.Is(err, ErrLineTooLong):
			sess.fail(no("", "line too long"))
			continue
		case errors.As(err, &big):
			if !big.Sync && big.N <= 4*int64(s.o.Limits.MaxLiteral) {
				// The client sends the bytes anyway: skip them and the
				// rest of the command line.
				if _, err := io.CopyN(io.Discard, sess.r, big.N); err == nil {
					if _, err := readLine(sess.r, s.o.Limits.MaxLine); err == nil || errors.Is(err, ErrLineTooLong) {
						sess.fail(no("QUOTA/MAXSIZE", "literal too big"))
						continue
					}
				}
				return
			}
			sess.send(bye("QUOTA/MAXSIZE", "literal too big"))
			return
		case err != nil:
			return
		}
		resp := sess.command(cmd)
		if resp.kind == "" {
			continue // the handler answered
		}
		if resp.kind == "NO" && resp.code == "" && strings.HasPrefix(resp.text, "syntax:") {
			sess.fail(resp)
			continue
		}
		sess.send(resp)
		if resp.fatal() {
			return
		}
	}
}

// fail answers a bad command; too many end the session.
func (sess *session) fail(r response) {
	sess.bad++
	if sess.bad >= maxBadCommands {
		sess.send(bye("", "too many bad commands"))
		sess.quit = true
		return
	}
	sess.send(r)
}

func (sess *session) flush() error {
	sess.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	return sess.w.Flush()
}

func (sess *session) send(r response) {
	b := []byte(r.kind)
	if r.code != "" {
		b = append(b, " ("...)
		b = append(b, r.code...)
		b = append(b, ')')
	}
	if r.text != "" {
		b = append(b, ' ')
		b = appendString(b, r.text)
	}
	b = append(b, "\r\n"...)
	sess.w.Write(b)
	if err := sess.flush(); err != nil {
		sess.quit = true
	}
}

// line writes one untagged data line made of strings.
func (sess *session) line(parts ...string) {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, p)
	}
	sess.w.Write(append(b, "\r\n"...))
}

func (sess *session) writeCaps() {
	for _, c := range sess.s.capabilities(sess) {
		if c[1] == "" && c[0] != "SASL" {
			sess.line(c[0])
		} else {
			sess.line(c[0], c[1])
		}
	}
}

func (sess *session) startTLS() bool {
	tc := tls.Server(sess.c, sess.s.o.TLS)
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(sess.s.ctx); err != nil {
		sess.log.Info("TLS handshake failed", "err", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	if !sess.s.t.Track(tc) {
		return false
	}
	sess.c, sess.tls = tc, true
	return true
}

// args checks the argument count and kinds: 's' string, 'a' atom or
// string, 'n' number (atom of digits); trailing '?' marks the rest optional.
func args(cmd *Command, spec string) ([]string, response) {
	req, opt, _ := strings.Cut(spec, "?")
	if len(cmd.Args) < len(req) || len(cmd.Args) > len(req)+len(opt) {
		return nil, no("", "syntax: wrong number of arguments for "+cmd.Name)
	}
	all := req + opt
	out := make([]string, len(cmd.Args))
	for i, a := range cmd.Args {
		switch all[i] {
		case 's':
			if a.Kind != String {
				return nil, no("", "syntax: "+cmd.Name+" wants a string")
			}
		case 'n':
			if a.Kind != Atom || a.Value == "" || strings.Trim(a.Value, "0123456789") != "" || len(a.Value) > 18 {
				return nil, no("", "syntax: "+cmd.Name+" wants a number")
			}
		}
		out[i] = a.Value
	}
	return out, response{}
}

func (sess *session) command(cmd *Command) response {
	sess.log.Debug("command", "name", cmd.Name)
	switch cmd.Name {
	case "CAPABILITY":
		if _, r := args(cmd, ""); r.kind != "" {
			return r
		}
		sess.writeCaps()
		return ok("")
	case "LOGOUT":
		sess.quit = true
		return ok("Logout")
	case "NOOP":
		a, r := args(cmd, "?s")
		if r.kind != "" {
			return r
		}
		if len(a) == 1 {
			// RFC 5804 §2.14: echo the tag in the TAG response code.
			return response{kind: "OK", code: "TAG " + string(appendString(nil, a[0])), text: "Done"}
		}
		return ok("Done")
	case "STARTTLS":
		return sess.cmdStartTLS(cmd)
	case "AUTHENTICATE":
		return sess.cmdAuthenticate(cmd)
	case "XCLIENT":
		// A frontend names its client's address (proxy.go); only a
		// backend takes it, and only before a login.
		if sess.s.o.ProxyLogin != nil && sess.p == nil {
			a, r := args(cmd, "a?aaa")
			if r.kind != "" {
				return r
			}
			sess.origin = xclientOrigin(a)
			return ok("")
		}
	}
	if sess.p == nil {
		switch cmd.Name {
		case "UNAUTHENTICATE", "HAVESPACE", "PUTSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT",
			"DELETESCRIPT", "RENAMESCRIPT", "CHECKSCRIPT":
			return no("", "authenticate first")
		}
		return no("", "syntax: unknown command")
	}
	switch cmd.Name {
	case "UNAUTHENTICATE":
		if _, r := args(cmd, ""); r.kind != "" {
			return r
		}
		sess.log.Info("unauthenticated", "user", sess.p.Login)
		sess.p, sess.ctx = nil, sess.s.ctx
		return ok("")
	case "HAVESPACE":
		a, r := args(cmd, "sn")
		if r.kind != "" {
			return r
		}
		size, _ := strconv.ParseInt(a[1], 10, 64)
		if err := sess.s.scripts.HaveSpace(sess.ctx, sess.p.Login, a[0], size); err != nil {
			return sess.storeErr(err)
		}
		return ok("")
	case "PUTSCRIPT":
		a, r := args(cmd, "ss")
		if r.kind != "" {
			return r
		}
		if err := sess.s.scripts.Put(sess.ctx, sess.p.Login, a[0], []byte(a[1])); err != nil {
			return sess.storeErr(err)
		}
		sess.log.Info("script stored", "user", sess.p.Login, "script", a[0], "size", len(a[1]))
		return ok("")
	case "CHECKSCRIPT":
		a, r := args(cmd, "s")
		if r.kind != "" {
			return r
		}
		if err := sess.s.scripts.Check([]byte(a[0])); err != nil {
			return sess.storeErr(err)
		}
		return ok("")
	case "LISTSCRIPTS":
		if _, r := args(cmd, ""); r.kind != "" {
			return r
		}
		l, err := sess.s.scripts.List(sess.ctx, sess.p.Login)
		if err != nil {
			return sess.storeErr(err)
		}
		for _, sc := range l {
			b := appendString(nil, sc.Name)
			if sc.Active {
				b = append(b, " ACTIVE"...)
			}
			sess.w.Write(append(b, "\r\n"...))
		}
		return ok("")
	case "SETACTIVE":
		a, r := args(cmd, "s")
		if r.kind != "" {
			return r
		}
		if err := sess.s.scripts.SetActive(sess.ctx, sess.p.Login, a[0]); err != nil {
			return sess.storeErr(err)
		}
		return ok("")
	case "GETSCRIPT":
		a, r := args(cmd, "s")
		if r.kind != "" {
			return r
		}
		text, err := sess.s.scripts.Get(sess.ctx, sess.p.Login, a[0])
		if err != nil {
			return sess.storeErr(err)
		}
		// RFC 5804 §2.9: the script as a literal, then CRLF.
		b := []byte("{" + strconv.Itoa(len(text)) + "}\r\n")
		sess.w.Write(append(append(b, text...), "\r\n"...))
		return ok("")
	case "DELETESCRIPT":
		a, r := args(cmd, "s")
		if r.kind != "" {
			return r
		}
		if err := sess.s.scripts.Delete(sess.ctx, sess.p.Login, a[0]); err != nil {
			return sess.storeErr(err)
		}
		return ok("")
	case "RENAMESCRIPT":
		a, r := args(cmd, "ss")
		if r.kind != "" {
			return r
		}
		if err := sess.s.scripts.Rename(sess.ctx, sess.p.Login, a[0], a[1]); err != nil {
			return sess.storeErr(err)
		}
		return ok("")
	}
	return no("", "syntax: unknown command")
}

// storeErr maps script and store errors to answers, in one place.
func (sess *session) storeErr(err error) response {
	var se *mail.ScriptError
	switch {
	case errors.As(err, &se):
		return no("", se.Err.Error())
	case errors.Is(err, mail.ErrScriptTooBig):
		return no("QUOTA/MAXSIZE", "script is too big")
	case errors.Is(err, mail.ErrTooManyScripts):
		return no("QUOTA/MAXSCRIPTS", "too many scripts")
	case errors.Is(err, mail.ErrScriptActive):
		return no("ACTIVE", "the script is active; activate another first")
	case errors.Is(err, mail.ErrScriptName):
		return no("", "invalid script name")
	case errors.Is(err, store.ErrNotFound):
		return no("NONEXISTENT", "there is no script by that name")
	case errors.Is(err, store.ErrConflict):
		return no("ALREADYEXISTS", "a script by that name exists already")
	case errors.Is(err, store.ErrOverQuota):
		return no("QUOTA", "over quota")
	case errors.Is(err, store.ErrPermission):
		return no("", "permission denied")
	case errors.Is(err, store.ErrInvalid):
		return no("", "invalid argument")
	}
	sess.log.Error("script operation failed", "err", err)
	return no("TRYLATER", "internal error, try again later")
}

func (sess *session) cmdStartTLS(cmd *Command) response {
	if _, r := args(cmd, ""); r.kind != "" {
		return r
	}
	if sess.s.o.TLS == nil || sess.tls || sess.p != nil {
		return no("", "STARTTLS is not available")
	}
	if sess.r.Buffered() > 0 {
		// Commands sent before the handshake would be taken as if they
		// came over TLS (CVE-2011-0411 class): refuse them.
		return bye("", "commands pipelined after STARTTLS")
	}
	sess.send(ok("Begin TLS negotiation now"))
	if sess.quit || !sess.startTLS() {
		sess.quit = true
		return response{}
	}
	sess.r = bufio.NewReaderSize(sess.c, 16<<10)
	sess.w = bufio.NewWriter(sess.c)
	// RFC 5804 §2.2: capabilities again after the TLS layer is up.
	sess.writeCaps()
	return ok("TLS negotiation successful")
}

func (sess *session) cmdAuthenticate(cmd *Command) response {
	a, r := args(cmd, "a?s") // the mechanism is a string; an atom is taken too
	if r.kind != "" {
		return r
	}
	if sess.p != nil {
		return no("", "already authenticated")
	}
	if !sess.tls && !sess.s.o.AllowPlaintextAuth {
		return no("ENCRYPT-NEEDED", "authenticate over TLS (STARTTLS) first")
	}
	var login, password string
	switch strings.ToUpper(a[0]) {
	case "PLAIN":
		var resp []byte
		var ok bool
		if len(a) == 2 {
			resp, ok = decode64(a[1])
		} else {
			resp, ok, r = sess.challenge("")
			if r.kind != "" {
				return r
			}
		}
		if !ok {
			return no("", "invalid base64")
		}
		parts := strings.Split(string(resp), "\x00")
		if len(parts) != 3 || parts[1] == "" {
			return no("", "invalid PLAIN response")
		}
		if parts[0] != "" && parts[1] == ProxyIdentity && sess.s.o.ProxyLogin != nil &&
			(len(sess.s.o.ProxySecret) > 0 || sess.s.o.ProxyClientCAs != nil) {
			return sess.proxiedLogin(parts[0], parts[2])
		}
		if parts[0] != "" && parts[0] != parts[1] {
			return no("", "authorization identity not supported")
		}
		login, password = parts[1], parts[2]
	case "LOGIN":
		var u []byte
		var ok bool
		if len(a) == 2 {
			u, ok = decode64(a[1])
		} else {
			u, ok, r = sess.challenge("Username:")
			if r.kind != "" {
				return r
			}
		}
		if !ok {
			return no("", "invalid base64")
		}
		pw, ok, r := sess.challenge("Password:")
		if r.kind != "" {
			return r
		}
		if !ok {
			return no("", "invalid base64")
		}
		login, password = string(u), string(pw)
	case "GSSAPI":
		if sess.s.o.GSSAPI == nil {
			return no("", "unsupported SASL mechanism")
		}
		return sess.authGSSAPI(a[1:])
	case "OAUTHBEARER", "XOAUTH2":
		if sess.s.o.VerifyToken == nil {
			return no("", "unsupported SASL mechanism")
		}
		return sess.authBearer(strings.ToUpper(a[0]), a[1:])
	default:
		return no("", "unsupported SASL mechanism")
	}
	return sess.login(login, password)
}

// challenge sends a SASL challenge and reads the client's answer, a
// string (RFC 5804 §2.1); "*" cancels.
func (sess *session) challenge(text string) ([]byte, bool, response) {
	sess.line(base64.StdEncoding.EncodeToString([]byte(text)))
	if err := sess.flush(); err != nil {
		sess.quit = true
		return nil, false, response{}
	}
	// 96 KiB: a GSSAPI token (a ticket with an AD PAC) in base64.
	as, err := ReadArgs(sess.r, Limits{MaxLine: sess.s.o.Limits.MaxLine, MaxLiteral: 96 << 10, MaxArgs: 1})
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) || errors.Is(err, ErrLineTooLong) {
			return nil, false, no("", "invalid SASL response")
		}
		sess.quit = true
		return nil, false, bye("", "invalid SASL response")
	}
	if len(as) != 1 || as[0].Kind != String {
		return nil, false, no("", "invalid SASL response")
	}
	if as[0].Value == "*" {
		return nil, false, no("", "authentication cancelled")
	}
	b, ok := decode64(as[0].Value)
	return b, ok, response{}
}

func decode64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// authFailure is the one place where a failed login becomes ManageSieve:
// the directory's sentinels are answers; a throttle or anything else (the
// directory or store failing) is NO (TRYLATER) (RFC 5804 §1.3), the
// unexpected logged with its error, never "authentication failed".
func (sess *session) authFailure(login string, err error) response {
	switch {
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		sess.log.Info("authentication failed", "user", sanitize(login))
		return no("", "authentication failed")
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		sess.log.Info("authentication refused", "user", sanitize(login), "err", err)
		return no("", "access denied")
	case errors.Is(err, directory.ErrThrottled):
		sess.log.Info("authentication throttled", "user", sanitize(login))
		return no("TRYLATER", "authentication temporarily unavailable")
	}
	sess.log.Error("authentication failed", "user", sanitize(login), "err", err)
	return no("TRYLATER", "authentication temporarily unavailable")
}

func (sess *session) login(login, password string) response {
	if sess.s.o.Authenticate == nil {
		return no("TRYLATER", "authentication is not configured")
	}
	p, err := sess.s.o.Authenticate(sess.s.ctx, login, password, sess.c.RemoteAddr())
	if err != nil || p == nil {
		sess.auth++
		r := sess.authFailure(login, err)
		if sess.auth >= maxAuthFailures {
			r.kind = "BYE"
		}
		return r
	}
	return sess.enter(p)
}

// enter makes p the session's authenticated user, or on a frontend
// passes the session to p's home backend.
func (sess *session) enter(p *store.Principal) response {
	if sess.s.o.Route != nil && !sess.proxied {
		addr, err := sess.s.o.Route(sess.s.ctx, p)
		if err != nil {
			sess.log.Error("route to the home backend", "user", p.Login, "err", err)
			return no("TRYLATER", "mailbox store unavailable, try again later")
		}
		if addr != "" {
			return sess.proxy(addr, p)
		}
	}
	sess.p, sess.ctx = p, store.WithPrincipal(sess.s.ctx, p)
	sess.log = sess.log.With("user", p.Login, "tenant", p.Tenant)
	if sess.s.o.Watch != nil {
		st, err := sess.s.o.Store.UserStore(sess.ctx, p.Login)
		if err != nil {
			sess.log.Error("logged in: the user's store", "err", err)
			sess.quit = true
			return bye("TRYLATER", "mailbox store unavailable, try again later")
		}
		sess.s.addUser(sess)
		sess.unwatch = sess.s.o.Watch(p, st.ID)
	}
	sess.log.Info("logged in", "tls", sess.tls)
	return ok("Logged in")
}

// sanitize makes a client-supplied name safe for the log.
func sanitize(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
