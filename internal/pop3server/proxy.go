package pop3server

// The sharded multi-server mode (docs/cluster.md, Sharded mode), as in
// imapserver/proxy.go: a frontend authenticates the client, then logs in
// to the user's home backend with
//
//	XCLIENT ADDR=198.51.100.7 PORT=51234
//	AUTH PLAIN base64(login NUL "@roost-proxy" NUL shard-secret)
//
// answers the client with the backend's +OK (the maildrop's size) and
// copies bytes both ways. The backend accepts the proxy identity only with
// the secret (and, in the app, only from a registered frontend) and logs
// and throttles the session under the address XCLIENT named.

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

// proxy passes the session of p to backend addr; it reports true: the
// session is over when it returns.
func (ss *session) proxy(addr string, p *store.Principal) bool {
	dial := ss.srv.o.ProxyDial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	bc, err := dial(ss.ctx, addr)
	if err != nil {
		ss.log.Error("connect to the home backend", "user", p.Login, "backend", addr, "err", err)
		return ss.reply("-ERR [SYS/TEMP] cannot open the maildrop, try again later") != nil
	}
	defer bc.Close()
	bc, ok, err := ss.backendLogin(bc, addr, p.Login)
	if err != nil {
		ss.log.Error("log in to the home backend", "user", p.Login, "backend", addr, "err", err)
		if again := ss.routeAgain(addr, p); again != "" {
			return ss.proxy(again, p)
		}
		return ss.reply("-ERR [SYS/TEMP] cannot open the maildrop, try again later") != nil
	}
	ss.log = ss.log.With("user", p.Login, "backend", addr)
	ss.log.Info("logged in, proxied")
	if err := ss.reply("%s", ok); err != nil {
		return true
	}
	ss.conn.SetDeadline(time.Time{})
	bc.SetDeadline(time.Time{})
	if n := ss.r.Buffered(); n > 0 {
		b, _ := ss.r.Peek(n)
		if _, err := bc.Write(b); err != nil {
			return true
		}
	}
	done := make(chan struct{})
	go func() {
		io.Copy(ss.conn, bc)
		ss.conn.SetReadDeadline(time.Now())
		close(done)
	}()
	io.Copy(bc, ss.conn)
	bc.Close()
	<-done
	return true
}

// backendLogin logs in on bc (after STLS with ProxyTLS) and returns the
// connection to use from then on and the backend's +OK line. The caller
// closes bc; a TLS connection made here is closed on error.
func (ss *session) backendLogin(bc net.Conn, addr, login string) (net.Conn, string, error) {
	bc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(bc, 4096)
	read := func() (string, error) {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("read from backend: %w", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if !strings.HasPrefix(l, "+OK") {
			return "", fmt.Errorf("backend answered %q", l)
		}
		return l, nil
	}
	if _, err := read(); err != nil {
		return nil, "", err
	}
	if ss.srv.o.ProxyTLS != nil {
		fmt.Fprintf(bc, "STLS\r\n")
		if _, err := read(); err != nil {
			return nil, "", fmt.Errorf("STLS: %w", err)
		}
		if br.Buffered() > 0 {
			return nil, "", fmt.Errorf("backend sent %d bytes after STLS", br.Buffered())
		}
		tc, err := netserve.ClientTLS(ss.ctx, bc, ss.srv.o.ProxyTLS, addr)
		if err != nil {
			return nil, "", err
		}
		bc, br = tc, bufio.NewReaderSize(tc, 4096)
	}
	ok, err := ss.backendAuth(bc, br, read, login)
	if err != nil {
		bc.Close()
		return nil, "", err
	}
	return bc, ok, nil
}

// backendAuth is backendLogin after the greeting (and STLS).
func (ss *session) backendAuth(bc net.Conn, br *bufio.Reader, read func() (string, error), login string) (string, error) {
	host, port, err := net.SplitHostPort(ss.conn.RemoteAddr().String())
	if err != nil {
		host, port = "127.0.0.1", "0"
	}
	fmt.Fprintf(bc, "XCLIENT ADDR=%s PORT=%s\r\n", host, port)
	if _, err := read(); err != nil {
		return "", err
	}
	ir := netserve.ProxyPlain(login, ss.srv.o.ProxySecret)
	fmt.Fprintf(bc, "AUTH PLAIN %s\r\n", ir)
	ok, err := read()
	if err == nil && br.Buffered() > 0 {
		err = fmt.Errorf("backend sent %d bytes after the login", br.Buffered())
	}
	return ok, err
}

// proxiedLogin is the backend's side of a frontend's login as authz:
// by its client certificate (ProxyClientCAs), else the shared secret.
func (ss *session) proxiedLogin(authz string, secret []byte) bool {
	if ss.srv.o.ProxyClientCAs != nil {
		name, err := netserve.VerifyClientCert(ss.conn, ss.srv.o.ProxyClientCAs)
		if err != nil {
			ss.log.Warn("proxy login refused: no valid client certificate", "user", authz, "err", err)
			return ss.loginFailure(authz, nil)
		}
		ss.log.Debug("proxy login by client certificate", "frontend", name)
	} else if subtle.ConstantTimeCompare(secret, ss.srv.o.ProxySecret) != 1 {
		ss.log.Warn("proxy login with a wrong shard secret", "user", authz)
		return ss.loginFailure(authz, nil)
	}
	front := ss.conn.RemoteAddr()
	remote := front
	if ss.origin != "" {
		if a, err := net.ResolveTCPAddr("tcp", ss.origin); err == nil {
			remote = a
		}
	}
	p, err := ss.srv.o.ProxyLogin(ss.ctx, authz, front, remote)
	if err != nil || p == nil {
		return ss.loginFailure(authz, err)
	}
	host, _, _ := net.SplitHostPort(remote.String())
	fh, _, _ := net.SplitHostPort(front.String())
	ss.log = ss.srv.log.With("proto", "pop3", "remote", host, "via", fh)
	ss.proxied = true
	ss.log.Info("logged in", "user", p.Login)
	return ss.enter(p)
}

// xclientOrigin reads ADDR= and PORT= of an XCLIENT argument; "" when
// ADDR is no IP address.
func xclientOrigin(arg string) string {
	var ip, port string
	for _, f := range strings.Fields(arg) {
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

// routeAgain asks Route once more after the backend at addr refused the
// login: a store move may have switched the user's home node between
// the route and the backend's own check. It returns the new backend, or
// "" when there is none to try (the same one, an error, this node, or a
// second refusal).
func (ss *session) routeAgain(addr string, p *store.Principal) string {
	if ss.rerouted {
		return ""
	}
	ss.rerouted = true
	again, err := ss.srv.o.Route(ss.ctx, p)
	if err != nil || again == addr || again == "" {
		return ""
	}
	ss.log.Info("home backend changed during the login; routing again", "user", p.Login, "was", addr, "now", again)
	return again
}
