package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/smtp"
)

// The SMTP client is Roost's own rather than net/smtp (frozen: no
// PIPELINING, no ESMTP parameters on RCPT, so no DSN NOTIFY/ORCPT) or
// go-smtp's client (no pipelining either, and its types would leak into
// the queue): it is small, pipelines MAIL/RCPT/DATA (RFC 2920), passes the
// DSN parameters on (RFC 3461) and keeps every reply per recipient, which
// is what retries and DSNs need. Replies are parsed by the fuzzed
// internal/proto/smtp.ReadReply.

// envelope is one SMTP transaction to make.
type envelope struct {
	From     string
	Rcpts    []rcptOut
	EnvID    string
	Ret      string
	Size     int64
	EightBit bool // the content has octets over 127
	UTF8     bool // an address needs SMTPUTF8 (RFC 6531)
	Open     func() (io.ReadCloser, error)
}

type rcptOut struct {
	Addr, Notify, ORcpt string
}

// outcome is what happened to one recipient.
type outcome struct {
	Sent      bool
	Perm      bool   // permanent failure (5xx)
	Diag      string // the reply or error
	RemoteDSN bool   // the server took the DSN parameters: it reports from now on
}

// errHost is a failure of the host, not of the message: the next MX may
// do better.
type errHost struct{ err error }

func (e *errHost) Error() string { return e.err.Error() }
func (e *errHost) Unwrap() error { return e.err }

// errTLS is a failed STARTTLS.
type errTLS struct{ err error }

func (e *errTLS) Error() string { return e.err.Error() }
func (e *errTLS) Unwrap() error { return e.err }

// target is a server to talk to.
type target struct {
	Addr        string // host:port
	ServerName  string // for TLS
	ImplicitTLS bool
	// RequireTLS refuses to go on without TLS (relay with "starttls");
	// otherwise STARTTLS is used when offered, without verifying the
	// certificate (opportunistic TLS, RFC 7435, as MTAs do for MX).
	RequireTLS bool
	VerifyTLS  bool
	// NoSTARTTLS skips STARTTLS (the retry after a failed opportunistic
	// handshake, as MTAs do: RFC 7435 §3).
	NoSTARTTLS bool
	Username   string
	Password   string
	PlainAuth  bool // allow AUTH without TLS
}

type client struct {
	ctx  context.Context
	q    *Queue
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool
	ext  map[string]string
}

// transact delivers env to t. It returns one outcome per recipient, or an
// error (an *errHost when another host may be tried; otherwise every
// recipient shares the error's fate: permanent if it is a 5xx *replyError).
func (q *Queue) transact(ctx context.Context, t target, env *envelope) ([]outcome, error) {
	d := net.Dialer{Timeout: q.o.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, &errHost{fmt.Errorf("connect to %s: %w", t.Addr, err)}
	}
	defer raw.Close()
	return q.converse(ctx, raw, t, env)
}

// converse runs the SMTP dialogue on an open connection.
func (q *Queue) converse(ctx context.Context, raw net.Conn, t target, env *envelope) ([]outcome, error) {
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Now()) })
	defer stop()
	c := &client{ctx: ctx, q: q, conn: raw}
	if t.ImplicitTLS {
		tc := tls.Client(raw, q.tlsConfig(t))
		raw.SetDeadline(time.Now().Add(q.o.DialTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, &errHost{fmt.Errorf("tls with %s: %w", t.Addr, err)}
		}
		c.conn, c.tls = tc, true
	}
	c.r, c.w = bufio.NewReader(c.conn), bufio.NewWriter(c.conn)
	rep, err := c.read()
	if err != nil {
		return nil, &errHost{fmt.Errorf("greeting of %s: %w", t.Addr, err)}
	}
	if rep.Code != 220 {
		return nil, &errHost{&replyError{rep}}
	}
	if err := c.hello(); err != nil {
		return nil, &errHost{err}
	}
	if !c.tls && t.RequireTLS {
		if _, ok := c.ext["STARTTLS"]; !ok {
			return nil, &errHost{fmt.Errorf("%s does not offer STARTTLS", t.Addr)}
		}
	}
	if _, ok := c.ext["STARTTLS"]; ok && !c.tls && !t.NoSTARTTLS {
		if err := c.startTLS(ctx, t); err != nil {
			return nil, &errHost{&errTLS{err}}
		}
	}
	if t.Username != "" {
		if !c.tls && !t.PlainAuth {
			return nil, &errHost{fmt.Errorf("refusing to send the password to %s without TLS", t.Addr)}
		}
		if err := c.auth(t); err != nil {
			return nil, err
		}
	}
	out, err := c.send(env)
	c.cmd("QUIT")
	c.w.Flush()
	return out, err
}

func (q *Queue) tlsConfig(t target) *tls.Config {
	var cfg *tls.Config
	if q.o.TLS != nil {
		cfg = q.o.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.ServerName = t.ServerName
	if !t.VerifyTLS {
		cfg.InsecureSkipVerify = true
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// replyError is a negative reply.
type replyError struct{ rep smtp.Reply }

func (e *replyError) Error() string { return e.rep.String() }

func (c *client) read() (smtp.Reply, error) {
	if err := c.ctx.Err(); err != nil {
		// A deadline set below would undo the one that cancellation set.
		return smtp.Reply{}, err
	}
	c.conn.SetReadDeadline(time.Now().Add(c.q.o.CommandTimeout))
	return smtp.ReadReply(c.r)
}

func (c *client) cmd(format string, args ...any) {
	fmt.Fprintf(c.w, format+"\r\n", args...)
}

func (c *client) roundTrip(format string, args ...any) (smtp.Reply, error) {
	c.cmd(format, args...)
	c.conn.SetWriteDeadline(time.Now().Add(c.q.o.CommandTimeout))
	if err := c.w.Flush(); err != nil {
		return smtp.Reply{}, err
	}
	return c.read()
}

func (c *client) hello() error {
	rep, err := c.roundTrip("EHLO %s", c.q.o.Hostname)
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if rep.Code == 250 {
		c.ext = smtp.Extensions(rep)
		return nil
	}
	rep, err = c.roundTrip("HELO %s", c.q.o.Hostname)
	if err != nil {
		return fmt.Errorf("HELO: %w", err)
	}
	if rep.Code != 250 {
		return &replyError{rep}
	}
	c.ext = map[string]string{}
	return nil
}

func (c *client) startTLS(ctx context.Context, t target) error {
	rep, err := c.roundTrip("STARTTLS")
	if err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if rep.Code != 220 {
		return &replyError{rep}
	}
	tc := tls.Client(c.conn, c.q.tlsConfig(t))
	c.conn.SetDeadline(time.Now().Add(c.q.o.DialTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("STARTTLS handshake with %s: %w", t.Addr, err)
	}
	c.conn.SetDeadline(time.Time{})
	c.conn, c.tls = tc, true
	c.r, c.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	return c.hello() // RFC 3207 §4.2: forget what was learnt before
}

// auth logs in with PLAIN (RFC 4616) or LOGIN.
func (c *client) auth(t target) error {
	mechs := strings.Fields(strings.ToUpper(c.ext["AUTH"]))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	var rep smtp.Reply
	var err error
	b64 := base64.StdEncoding.EncodeToString
	switch {
	case has("PLAIN"):
		rep, err = c.roundTrip("AUTH PLAIN %s", b64([]byte("\x00"+t.Username+"\x00"+t.Password)))
	case has("LOGIN"):
		if rep, err = c.roundTrip("AUTH LOGIN"); err == nil && rep.Code == 334 {
			if rep, err = c.roundTrip("%s", b64([]byte(t.Username))); err == nil && rep.Code == 334 {
				rep, err = c.roundTrip("%s", b64([]byte(t.Password)))
			}
		}
	default:
		return &errHost{fmt.Errorf("%s offers no AUTH PLAIN or LOGIN", t.Addr)}
	}
	if err != nil {
		return &errHost{fmt.Errorf("AUTH: %w", err)}
	}
	if rep.Code != 235 {
		// A refused login is the operator's to fix: retry, do not bounce.
		return &errHost{fmt.Errorf("AUTH refused by %s: %s", t.Addr, rep)}
	}
	return nil
}

// send runs MAIL, RCPT and DATA, pipelined when the server allows.
func (c *client) send(env *envelope) ([]outcome, error) {
	out := make([]outcome, len(env.Rcpts))
	_, dsn := c.ext["DSN"]
	if env.UTF8 {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return nil, &replyError{smtp.Reply{Code: 553, Enhanced: "5.6.7", Lines: []string{"the server does not support SMTPUTF8 addresses"}}}
		}
	}
	if v, ok := c.ext["SIZE"]; ok && v != "" {
		if max, err := strconv.ParseInt(v, 10, 64); err == nil && max > 0 && env.Size > max {
			return nil, &replyError{smtp.Reply{Code: 552, Enhanced: "5.3.4", Lines: []string{fmt.Sprintf("message too big for the server (limit %d)", max)}}}
		}
	}
	mail := "MAIL FROM:<" + env.From + ">"
	if _, ok := c.ext["SIZE"]; ok {
		mail += " SIZE=" + strconv.FormatInt(env.Size, 10)
	}
	if _, ok := c.ext["8BITMIME"]; ok && env.EightBit {
		mail += " BODY=8BITMIME"
	}
	if env.UTF8 {
		mail += " SMTPUTF8"
	}
	if dsn {
		if env.Ret != "" {
			mail += " RET=" + env.Ret
		}
		if env.EnvID != "" {
			mail += " ENVID=" + smtp.EncodeXtext(env.EnvID)
		}
	}
	rcptCmd := func(r rcptOut) string {
		s := "RCPT TO:<" + r.Addr + ">"
		if dsn {
			if r.Notify != "" {
				s += " NOTIFY=" + r.Notify
			}
			if typ, addr, ok := strings.Cut(r.ORcpt, ";"); ok {
				s += " ORCPT=" + typ + ";" + smtp.EncodeXtext(addr)
			}
		}
		return s
	}
	_, pipelining := c.ext["PIPELINING"]
	c.conn.SetWriteDeadline(time.Now().Add(c.q.o.CommandTimeout))
	accepted := 0
	if pipelining {
		c.cmd("%s", mail)
		for _, r := range env.Rcpts {
			c.cmd("%s", rcptCmd(r))
		}
		c.cmd("DATA")
		if err := c.w.Flush(); err != nil {
			return nil, fmt.Errorf("send envelope: %w", err)
		}
		rep, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("MAIL: %w", err)
		}
		mailErr := error(nil)
		if rep.Code != 250 {
			mailErr = &replyError{rep}
		}
		for i := range env.Rcpts {
			rep, err := c.read()
			if err != nil {
				return nil, fmt.Errorf("RCPT: %w", err)
			}
			if mailErr == nil && !c.rcptReply(&out[i], rep, dsn) {
				accepted++
			}
		}
		rep, err = c.read()
		if err != nil {
			return nil, fmt.Errorf("DATA: %w", err)
		}
		if mailErr != nil {
			return nil, mailErr
		}
		if rep.Code != 354 {
			if accepted == 0 {
				return out, nil
			}
			return nil, &replyError{rep}
		}
		if accepted == 0 {
			// RFC 2920 §3.1: DATA went through although no recipient
			// did; send an empty message and discard the reply.
			c.cmd(".")
			c.w.Flush()
			c.read()
			return out, nil
		}
	} else {
		rep, err := c.roundTrip("%s", mail)
		if err != nil {
			return nil, fmt.Errorf("MAIL: %w", err)
		}
		if rep.Code != 250 {
			return nil, &replyError{rep}
		}
		for i, r := range env.Rcpts {
			rep, err := c.roundTrip("%s", rcptCmd(r))
			if err != nil {
				return nil, fmt.Errorf("RCPT: %w", err)
			}
			if !c.rcptReply(&out[i], rep, dsn) {
				accepted++
			}
		}
		if accepted == 0 {
			c.roundTrip("RSET")
			return out, nil
		}
		rep, err = c.roundTrip("DATA")
		if err != nil {
			return nil, fmt.Errorf("DATA: %w", err)
		}
		if rep.Code != 354 {
			return nil, &replyError{rep}
		}
	}
	if err := c.writeData(env); err != nil {
		return nil, fmt.Errorf("message data: %w", err)
	}
	c.conn.SetReadDeadline(time.Now().Add(2 * c.q.o.CommandTimeout)) // RFC 5321 §4.5.3.2.6: 10 minutes
	rep, err := smtp.ReadReply(c.r)
	if err != nil {
		return nil, fmt.Errorf("end of data: %w", err)
	}
	for i := range out {
		if out[i].Diag != "" { // refused at RCPT
			continue
		}
		out[i].Diag = rep.String()
		switch {
		case rep.Code == 250:
			out[i].Sent = true
		case rep.Permanent():
			out[i].Perm = true
		}
		if !out[i].Sent {
			out[i].RemoteDSN = false // the server did not take the message
		}
	}
	return out, nil
}

// rcptReply records a refused recipient and reports whether it was refused.
func (c *client) rcptReply(o *outcome, rep smtp.Reply, dsn bool) bool {
	if rep.Code == 250 || rep.Code == 251 {
		o.RemoteDSN = dsn
		return false
	}
	o.Diag = rep.String()
	o.Perm = rep.Permanent()
	return true
}

// writeData sends the content dot-stuffed (RFC 5321 §4.5.2), ending with
// CRLF.CRLF; net/textproto's DotWriter also turns a bare LF into CRLF so
// that the remote end sees no ambiguous line ending.
func (c *client) writeData(env *envelope) error {
	rc, err := env.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	c.conn.SetWriteDeadline(time.Now().Add(2 * c.q.o.CommandTimeout))
	dw := textproto.NewWriter(c.w).DotWriter()
	if _, err := io.Copy(dw, rc); err != nil {
		return err
	}
	if err := dw.Close(); err != nil {
		return err
	}
	return c.w.Flush()
}
