package smtpserver

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/smtp"
	"github.com/roost-mail/roost/internal/queue"
)

// command handles one command; false ends the session.
func (ss *subSession) command(cmd smtp.Command) bool {
	if ss.chunks != nil && cmd.Verb != "BDAT" && cmd.Verb != "BURL" && cmd.Verb != "RSET" && cmd.Verb != "QUIT" && cmd.Verb != "NOOP" {
		// RFC 3030 §2: only BDAT may follow BDAT until LAST.
		ss.abortChunks()
		return !ss.fail(503, "5.5.1", "BDAT LAST expected; transaction aborted")
	}
	switch cmd.Verb {
	case "EHLO", "HELO":
		return ss.cmdHello(cmd)
	case "STARTTLS":
		return ss.cmdStartTLS(cmd)
	case "AUTH":
		return ss.cmdAuth(cmd)
	case "MAIL":
		return ss.cmdMail(cmd)
	case "RCPT":
		return ss.cmdRcpt(cmd)
	case "DATA":
		return ss.cmdData(cmd)
	case "BDAT":
		return ss.cmdBDAT(cmd)
	case "BURL":
		return ss.cmdBURL(cmd) // RFC 4468, submission_burl.go
	case "RSET":
		ss.reset()
		ss.reply(250, "2.0.0", "ok")
	case "NOOP":
		ss.reply(250, "2.0.0", "ok")
	case "VRFY":
		ss.reply(252, "2.5.0", "cannot verify, but will accept and attempt delivery")
	case "QUIT":
		ss.reply(221, "2.0.0", "bye")
		ss.w.Flush()
		return false
	default:
		return !ss.fail(500, "5.5.2", "unknown command")
	}
	return true
}

func (ss *subSession) authAllowed() bool { return ss.tls || ss.o.AllowPlaintextAuth }

// EHLO, RFC 5321 §4.1.1.1.
func (ss *subSession) cmdHello(cmd smtp.Command) bool {
	f := strings.Fields(cmd.Arg)
	if len(f) == 0 {
		return !ss.fail(501, "5.5.4", cmd.Verb+" needs a host name")
	}
	ss.reset()
	ss.helo, ss.heloName, ss.esmtp = true, subSanitize(f[0]), cmd.Verb == "EHLO"
	if cmd.Verb == "HELO" {
		ss.reply(250, "", "%s", ss.o.Hostname)
		return true
	}
	ext := []string{ss.o.Hostname,
		"PIPELINING", "SIZE " + strconv.FormatInt(ss.o.MaxMessageBytes, 10), "8BITMIME", "SMTPUTF8",
		"ENHANCEDSTATUSCODES", "DSN", "CHUNKING"}
	if !ss.tls && ss.o.TLS != nil {
		ext = append(ext, "STARTTLS")
	}
	if ss.o.URLs != nil {
		ext = append(ext, "BURL imap") // RFC 4468 §3
	}
	if ss.authAllowed() && ss.p == nil {
		mechs := "AUTH PLAIN LOGIN"
		if ss.o.VerifyToken != nil {
			mechs += " OAUTHBEARER XOAUTH2"
		}
		if ss.o.GSSAPI != nil {
			mechs += " GSSAPI"
		}
		ext = append(ext, mechs)
	}
	for i, e := range ext {
		sep := "-"
		if i == len(ext)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.w, "250%s%s\r\n", sep, e)
	}
	if ss.r.Buffered() == 0 {
		ss.w.Flush()
	}
	return true
}

// STARTTLS, RFC 3207.
func (ss *subSession) cmdStartTLS(cmd smtp.Command) bool {
	if ss.tls || ss.o.TLS == nil {
		return !ss.fail(503, "5.5.1", "TLS is not available")
	}
	if cmd.Arg != "" {
		return !ss.fail(501, "5.5.4", "STARTTLS takes no argument")
	}
	if ss.r.Buffered() > 0 {
		// Bytes after STARTTLS were sent before the handshake, in the
		// clear: a man in the middle may have put them there
		// (CVE-2011-0411). Discard them and drop the client.
		ss.log.Info("command pipelined after STARTTLS; closing")
		ss.r.Discard(ss.r.Buffered())
		ss.reply(554, "5.5.1", "commands pipelined after STARTTLS; closing connection")
		return false
	}
	ss.reply(220, "2.0.0", "ready to start TLS")
	ss.w.Flush()
	tc := tls.Server(ss.c, ss.o.TLS)
	ss.c.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.HandshakeContext(ss.srv.ctx); err != nil {
		ss.log.Debug("STARTTLS handshake", "err", err)
		return false
	}
	ss.c.SetDeadline(time.Time{})
	if !ss.srv.t.Track(tc) {
		return false
	}
	ss.c, ss.tls = tc, true
	ss.r.Reset(tc)
	ss.w.Reset(tc)
	// RFC 3207 §4.2: forget everything learnt before; EHLO again.
	ss.reset()
	ss.helo = false
	return true
}

// AUTH, RFC 4954, with PLAIN (RFC 4616) and LOGIN.
func (ss *subSession) cmdAuth(cmd smtp.Command) bool {
	if ss.p != nil {
		return !ss.fail(503, "5.5.1", "already authenticated")
	}
	if !ss.helo {
		return !ss.fail(503, "5.5.1", "EHLO first")
	}
	if !ss.authAllowed() {
		return !ss.fail(530, "5.7.0", "must issue a STARTTLS command first")
	}
	if ss.from != nil {
		return !ss.fail(503, "5.5.1", "AUTH not allowed during a mail transaction")
	}
	mech, initial, hasInitial := strings.Cut(cmd.Arg, " ")
	mech = strings.ToUpper(mech)
	var login, password string
	switch mech {
	case "PLAIN":
		var resp []byte
		var ok bool
		if hasInitial {
			resp, ok = ss.decodeSASL(initial)
		} else {
			resp, ok = ss.challenge("")
		}
		if !ok {
			return ss.bad < maxSubBad
		}
		parts := strings.Split(string(resp), "\x00")
		if len(parts) != 3 {
			return !ss.fail(501, "5.5.2", "malformed PLAIN response")
		}
		if parts[0] != "" && parts[0] != parts[1] {
			return !ss.fail(535, "5.7.8", "proxy authorization is not supported")
		}
		login, password = parts[1], parts[2]
	case "LOGIN":
		var user []byte
		var ok bool
		if hasInitial {
			user, ok = ss.decodeSASL(initial)
		} else {
			user, ok = ss.challenge("Username:")
		}
		if !ok {
			return ss.bad < maxSubBad
		}
		pass, ok := ss.challenge("Password:")
		if !ok {
			return ss.bad < maxSubBad
		}
		login, password = string(user), string(pass)
	case "GSSAPI":
		if ss.o.GSSAPI == nil {
			return !ss.fail(504, "5.5.4", "unsupported authentication mechanism")
		}
		return ss.authGSSAPI(initial, hasInitial)
	case "OAUTHBEARER", "XOAUTH2":
		if ss.o.VerifyToken == nil {
			return !ss.fail(504, "5.5.4", "unsupported authentication mechanism")
		}
		return ss.authBearer(mech, initial, hasInitial)
	default:
		return !ss.fail(504, "5.5.4", "unsupported authentication mechanism")
	}
	return ss.authenticate(login, password)
}

// decodeSASL decodes a base64 response ("=" is the empty one, RFC 4954 §4).
func (ss *subSession) decodeSASL(s string) ([]byte, bool) {
	if s == "=" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		ss.fail(501, "5.5.2", "invalid base64")
		return nil, false
	}
	return b, true
}

// challenge sends a 334 and reads the client's response; "*" cancels.
func (ss *subSession) challenge(prompt string) ([]byte, bool) {
	return ss.challengeMax([]byte(prompt), maxSubAuthLine)
}

// challengeMax is challenge with binary data and a line bound.
func (ss *subSession) challengeMax(data []byte, max int) ([]byte, bool) {
	ss.reply(334, "", "%s", base64.StdEncoding.EncodeToString(data))
	ss.w.Flush()
	ss.c.SetReadDeadline(time.Now().Add(ss.o.IdleTimeout))
	line, err := smtp.ReadLine(ss.r, max)
	if errors.Is(err, smtp.ErrLineTooLong) {
		ss.fail(500, "5.5.6", "authentication line too long")
		return nil, false
	}
	if err != nil {
		ss.bad = maxSubBad // the connection is gone
		return nil, false
	}
	if string(line) == "*" {
		ss.fail(501, "5.0.0", "authentication canceled")
		return nil, false
	}
	return ss.decodeSASL(string(line))
}

// authFailure is the one place where a failed login becomes SMTP: the
// directory's sentinels are answers (535 5.7.8); a throttle or anything
// else (the directory or store failing) is 454 4.7.0 (RFC 4954 §6), the
// unexpected logged with its error, never "credentials invalid".
func (ss *subSession) authFailure(login string, err error) {
	switch {
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		ss.log.Info("authentication failed", "user", subSanitize(login))
		ss.reply(535, "5.7.8", "authentication credentials invalid")
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		ss.log.Info("authentication refused", "user", subSanitize(login), "err", err)
		ss.reply(535, "5.7.8", "this account may not send mail")
	case errors.Is(err, directory.ErrThrottled):
		ss.log.Info("authentication throttled", "user", subSanitize(login))
		ss.reply(454, "4.7.0", "authentication temporarily unavailable")
	default:
		ss.log.Error("authentication failed", "user", subSanitize(login), "err", err)
		ss.reply(454, "4.7.0", "authentication temporarily unavailable")
	}
}

func (ss *subSession) authenticate(login, password string) bool {
	if ss.o.Authenticate == nil {
		ss.reply(454, "4.7.0", "authentication is not configured")
		return true
	}
	p, err := ss.o.Authenticate(ss.srv.ctx, login, password, ss.c.RemoteAddr())
	if err != nil || p == nil {
		ss.fails++
		ss.authFailure(login, err)
		if ss.fails >= maxSubAuthFailures {
			ss.reply(421, "4.7.0", "too many failed authentications, closing connection")
			return false
		}
		return true
	}
	ss.enter(p)
	return true
}

// replyErr answers with a queue refusal; unexpected errors are logged and
// answered 451.
func (ss *subSession) replyErr(err error, what string) {
	e := queue.AsError(err)
	if e.Code == 451 && e.Err != nil {
		ss.log.Error(what, "err", err)
	}
	ss.reply(e.Code, e.Enhanced, "%s", e.Msg)
}

// MAIL, RFC 5321 §4.1.1.2, with SIZE (RFC 1870), BODY (RFC 6152),
// SMTPUTF8 (RFC 6531) and RET/ENVID (RFC 3461).
func (ss *subSession) cmdMail(cmd smtp.Command) bool {
	if !ss.helo {
		return !ss.fail(503, "5.5.1", "EHLO first")
	}
	if ss.p == nil {
		return !ss.fail(530, "5.7.0", "authentication required")
	}
	if ss.from != nil {
		return !ss.fail(503, "5.5.1", "nested MAIL command")
	}
	p, err := smtp.ParsePath(cmd.Arg, "FROM:")
	if err != nil {
		return !ss.fail(501, "5.1.7", "bad sender address")
	}
	var envID, ret string
	utf8 := false
	for k, v := range p.Params {
		switch k {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return !ss.fail(501, "5.5.4", "bad SIZE")
			}
			if n > ss.o.MaxMessageBytes {
				ss.reply(552, "5.3.4", "message size exceeds the limit of %d bytes", ss.o.MaxMessageBytes)
				return true
			}
		case "BODY":
			if u := strings.ToUpper(v); u != "7BIT" && u != "8BITMIME" {
				return !ss.fail(501, "5.5.4", "BODY must be 7BIT or 8BITMIME")
			}
		case "SMTPUTF8":
			utf8 = true
		case "AUTH":
			// AUTH= (RFC 4954 §5) is ignored: the authenticated user is
			// the submitter.
		case "RET":
			ret = strings.ToUpper(v)
			if ret != "FULL" && ret != "HDRS" {
				return !ss.fail(501, "5.5.4", "RET must be FULL or HDRS")
			}
		case "ENVID":
			d, err := smtp.DecodeXtext(v)
			if err != nil || len(d) > smtp.MaxEnvID {
				return !ss.fail(501, "5.5.4", "bad ENVID")
			}
			envID = d
		default:
			return !ss.fail(555, "5.5.4", "unsupported parameter "+subSanitize(k))
		}
	}
	if !utf8 && !isASCII(p.Addr) {
		return !ss.fail(553, "5.6.7", "a UTF-8 address needs the SMTPUTF8 parameter")
	}
	if err := ss.o.Queue.CheckSender(ss.ctx, p.Addr); err != nil {
		ss.replyErr(err, "check sender")
		return true
	}
	from := p.Addr
	ss.from, ss.envID, ss.ret, ss.utf8 = &from, envID, ret, utf8
	ss.reply(250, "2.1.0", "sender ok")
	return true
}

// RCPT, RFC 5321 §4.1.1.3, with NOTIFY/ORCPT (RFC 3461).
func (ss *subSession) cmdRcpt(cmd smtp.Command) bool {
	if ss.from == nil {
		return !ss.fail(503, "5.5.1", "MAIL first")
	}
	if len(ss.rcpts) >= ss.o.MaxRecipients {
		ss.reply(452, "4.5.3", "too many recipients")
		return true
	}
	p, err := smtp.ParsePath(cmd.Arg, "TO:")
	if err != nil || p.Addr == "" {
		return !ss.fail(501, "5.1.3", "bad recipient address")
	}
	r := subRcpt{addr: p.Addr}
	for k, v := range p.Params {
		switch k {
		case "NOTIFY":
			n, err := smtp.ParseNotify(v)
			if err != nil {
				return !ss.fail(501, "5.5.4", "bad NOTIFY")
			}
			r.notify = n
		case "ORCPT":
			o, err := smtp.ParseORcpt(v)
			if err != nil {
				return !ss.fail(501, "5.5.4", "bad ORCPT")
			}
			r.orcpt = o
		default:
			return !ss.fail(555, "5.5.4", "unsupported parameter "+subSanitize(k))
		}
	}
	if !ss.utf8 && !isASCII(p.Addr) {
		return !ss.fail(553, "5.6.7", "a UTF-8 address needs the SMTPUTF8 parameter on MAIL")
	}
	if err := ss.o.Queue.CheckRecipient(ss.ctx, p.Addr); err != nil {
		ss.replyErr(err, "check recipient")
		return true
	}
	ss.rcpts = append(ss.rcpts, r)
	ss.reply(250, "2.1.5", "<%s> ok", p.Addr)
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
