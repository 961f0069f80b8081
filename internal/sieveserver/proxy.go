package sieveserver

// The sharded multi-server mode (docs/cluster.md, Sharded mode), as in
// imapserver/proxy.go: a frontend authenticates the client itself, asks
// Options.Route for the user's home backend and, when that is another
// node, logs in there with
//
//	XCLIENT ADDR=198.51.100.7 PORT=51234
//	AUTHENTICATE "PLAIN" "base64(login NUL @roost-proxy NUL shard-secret)"
//
// (after STARTTLS with its client certificate when ProxyTLS is set), answers
// the client's AUTHENTICATE with OK and copies bytes both ways. The
// backend accepts the proxy identity only with the secret or a client
// certificate of ProxyClientCAs (and, in the app, only from a registered
// frontend) and logs and throttles the session under the address XCLIENT
// named.

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/netserve"
	"github.com/roost-mail/roost/internal/store"
)

// ProxyIdentity is the SASL PLAIN authentication identity of a frontend
// (the authorization identity is the user); it is no valid login name.
const ProxyIdentity = netserve.ProxyIdentity

// maxProxyLines bounds the lines a backend may send before its answer
// during the proxy login (its capabilities).
const maxProxyLines = 64

// proxy passes the session of p to backend addr. The client's AUTHENTICATE
// is answered here; the session is over when it returns.
func (sess *session) proxy(addr string, p *store.Principal) response {
	dial := sess.s.o.ProxyDial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	bc, err := dial(sess.s.ctx, addr)
	if err != nil {
		sess.log.Error("connect to the home backend", "user", p.Login, "backend", addr, "err", err)
		return no("TRYLATER", "mailbox store unavailable, try again later")
	}
	defer bc.Close()
	bc, err = sess.backendLogin(bc, addr, p.Login)
	if err != nil {
		sess.log.Error("log in to the home backend", "user", p.Login, "backend", addr, "err", err)
		return no("TRYLATER", "mailbox store unavailable, try again later")
	}
	defer bc.Close() // the TLS connection, if any
	sess.log = sess.log.With("user", p.Login, "tenant", p.Tenant, "backend", addr)
	sess.log.Info("logged in, proxied", "tls", sess.tls)
	sess.send(ok("Logged in"))
	sess.quit = true
	sess.splice(bc)
	return response{}
}

// backendLogin logs in on bc and returns the connection to use from then
// on. The caller closes bc; a TLS connection made here is closed on error.
func (sess *session) backendLogin(bc net.Conn, addr, login string) (net.Conn, error) {
	bc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(bc, 4096)
	if _, err := backendAnswer(br); err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if sess.s.o.ProxyTLS != nil {
		fmt.Fprintf(bc, "STARTTLS\r\n")
		if _, err := backendAnswer(br); err != nil {
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
		if br.Buffered() > 0 {
			return nil, fmt.Errorf("backend sent %d bytes after STARTTLS", br.Buffered())
		}
		tc, err := netserve.ClientTLS(sess.s.ctx, bc, sess.s.o.ProxyTLS, addr)
		if err != nil {
			return nil, err
		}
		bc, br = tc, bufio.NewReaderSize(tc, 4096)
		// RFC 5804 §2.2: the capabilities again, then OK.
		if _, err := backendAnswer(br); err != nil {
			tc.Close()
			return nil, fmt.Errorf("after STARTTLS: %w", err)
		}
	}
	if err := sess.backendAuth(bc, br, login); err != nil {
		bc.Close()
		return nil, err
	}
	bc.SetDeadline(time.Time{})
	return bc, nil
}

// backendAuth is backendLogin after the greeting (and STARTTLS).
func (sess *session) backendAuth(bc net.Conn, br *bufio.Reader, login string) error {
	host, port, err := net.SplitHostPort(sess.c.RemoteAddr().String())
	if err != nil {
		host, port = "127.0.0.1", "0"
	}
	fmt.Fprintf(bc, "XCLIENT ADDR=%s PORT=%s\r\n", host, port)
	if _, err := backendAnswer(br); err != nil {
		return fmt.Errorf("XCLIENT: %w", err)
	}
	ir := netserve.ProxyPlain(login, sess.s.o.ProxySecret)
	fmt.Fprintf(bc, "AUTHENTICATE \"PLAIN\" \"%s\"\r\n", ir)
	if _, err := backendAnswer(br); err != nil {
		return fmt.Errorf("proxy login: %w", err)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("backend sent %d bytes after the login", br.Buffered())
	}
	return nil
}

// backendAnswer reads a backend's lines up to its final answer, which
// must be OK; the lines before it (capabilities) are skipped.
func backendAnswer(br *bufio.Reader) (string, error) {
	for range maxProxyLines {
		l, err := readLine(br, 8<<10)
		if err != nil {
			return "", fmt.Errorf("read from backend: %w", err)
		}
		switch word, _, _ := strings.Cut(l, " "); strings.ToUpper(word) {
		case "OK":
			return l, nil
		case "NO", "BYE":
			return "", fmt.Errorf("backend answered %q", sanitize(l))
		}
	}
	return "", fmt.Errorf("backend sent over %d lines without an answer", maxProxyLines)
}

// splice copies between the client and the backend until either side
// closes, or the server shuts down (Close closes both tracked
// connections).
func (sess *session) splice(bc net.Conn) {
	c := sess.c
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	// Bytes the client pipelined after its AUTHENTICATE are in our buffer.
	if n := sess.r.Buffered(); n > 0 {
		b, _ := sess.r.Peek(n)
		if _, err := bc.Write(b); err != nil {
			return
		}
	}
	done := make(chan struct{})
	go func() {
		io.Copy(c, bc)
		// The backend ended the session: end the client's.
		c.SetReadDeadline(time.Now())
		close(done)
	}()
	io.Copy(bc, c)
	bc.Close()
	<-done
}

// proxiedLogin is the backend's side of a frontend's login as authz: by
// its client certificate (ProxyClientCAs), else the shared secret.
func (sess *session) proxiedLogin(authz, secret string) response {
	if sess.s.o.ProxyClientCAs != nil {
		name, err := netserve.VerifyClientCert(sess.c, sess.s.o.ProxyClientCAs)
		if err != nil {
			sess.auth++
			sess.log.Warn("proxy login refused: no valid client certificate", "user", sanitize(authz), "err", err)
			return no("", "authentication failed")
		}
		sess.log.Debug("proxy login by client certificate", "frontend", name)
	} else if subtle.ConstantTimeCompare([]byte(secret), sess.s.o.ProxySecret) != 1 {
		sess.auth++
		sess.log.Warn("proxy login with a wrong shard secret", "user", sanitize(authz))
		return no("", "authentication failed")
	}
	front := sess.c.RemoteAddr()
	remote := front
	if sess.origin != "" {
		if a, err := net.ResolveTCPAddr("tcp", sess.origin); err == nil {
			remote = a
		}
	}
	p, err := sess.s.o.ProxyLogin(sess.s.ctx, authz, front, remote)
	if err != nil || p == nil {
		sess.auth++
		r := sess.authFailure(authz, err)
		if sess.auth >= maxAuthFailures {
			r.kind = "BYE"
		}
		return r
	}
	host, _, _ := net.SplitHostPort(remote.String())
	fh, _, _ := net.SplitHostPort(front.String())
	sess.log = sess.s.log.With("conn", sess.id, "remote", host, "via", fh)
	sess.proxied = true
	return sess.enter(p)
}

// xclientOrigin reads ADDR= and PORT= of XCLIENT's arguments; "" when
// ADDR is no IP address.
func xclientOrigin(args []string) string {
	var ip, port string
	for _, f := range args {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToUpper(k) {
		case "ADDR":
			ip = v
		case "PORT":
			port = v
		}
	}
	if net.ParseIP(ip) == nil {
		return ""
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		port = "0"
	}
	return net.JoinHostPort(ip, port)
}
