package imapserver

// The sharded multi-server mode (docs/cluster.md, Sharded mode).
//
// A frontend authenticates the client itself (the same directory and
// throttle as any node), asks Options.Route for the user's home backend
// and, when that is another node, passes the session through:
//
//	frontend → backend   (greeting)
//	R1 ID ("x-originating-ip" "198.51.100.7" "x-originating-port" "51234" "x-frontend-session" "c42")
//	R2 AUTHENTICATE PLAIN base64(login NUL "@roost-proxy" NUL shard-secret)
//
// then answers the client's LOGIN or AUTHENTICATE with the backend's
// capabilities and copies bytes both ways until either side closes. The
// backend accepts the proxy identity only with the shared secret and only
// from a node registered with the frontend role (Options.ProxyLogin in
// the app), and from then on logs, throttles and audits the session under
// the client's address the ID named, not the frontend's.

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
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// ProxyIdentity is the SASL PLAIN authentication identity a frontend logs
// in to a backend with (the authorization identity is the user). It is not
// a valid login name, so it cannot collide with a user.
const ProxyIdentity = netserve.ProxyIdentity

// maxProxyLine bounds a backend's response line during the proxy login.
const maxProxyLine = 64 << 10

// proxy connects the authenticated session of p to its home backend addr
// and passes it through. It returns errLogout when the session is over.
func (s *session) proxy(addr string, p *store.Principal) (imap.Code, error) {
	dial := s.o.ProxyDial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	bc, err := dial(s.srv.ctx, addr)
	if err != nil {
		s.log.Error("connect to the home backend", "user", p.Login, "backend", addr, "err", err)
		return "", no(imap.CodeUnavailable, "Mailbox store unavailable")
	}
	raw := bc
	bc, caps, err := s.backendLogin(raw, addr, p.Login)
	if err != nil {
		raw.Close()
		s.log.Error("log in to the home backend", "user", p.Login, "backend", addr, "err", err)
		return "", no(imap.CodeUnavailable, "Mailbox store unavailable")
	}
	bc.SetDeadline(time.Time{})
	s.log = s.log.With("user", p.Login, "tenant", p.Tenant, "backend", addr)
	s.log.Info("logged in, proxied", "tls", s.tls)
	s.w.Tagged(s.tag, imap.OK, imap.CodeCapability(caps...), "Logged in")
	if err := s.flush(); err != nil {
		bc.Close()
		return "", err
	}
	s.splice(bc)
	return "", errLogout
}

// backendLogin sends the ID and the proxy login on bc (after STARTTLS
// with ProxyTLS) and returns the connection to use from then on and the
// backend's capabilities after the login. On error the caller closes the
// connection it passed.
func (s *session) backendLogin(bc net.Conn, addr, login string) (net.Conn, []string, error) {
	bc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReaderSize(bc, 4096)
	line, err := readLine(br)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(line, "* OK") {
		return nil, nil, fmt.Errorf("greeting %q", trim(line))
	}
	if s.o.ProxyTLS != nil {
		fmt.Fprintf(bc, "R0 STARTTLS\r\n")
		if _, err := tagged(br, "R0 "); err != nil {
			return nil, nil, fmt.Errorf("STARTTLS: %w", err)
		}
		if br.Buffered() > 0 {
			return nil, nil, fmt.Errorf("backend sent %d bytes after STARTTLS", br.Buffered())
		}
		tc, err := netserve.ClientTLS(s.srv.ctx, bc, s.o.ProxyTLS, addr)
		if err != nil {
			return nil, nil, err
		}
		bc = tc
		br = bufio.NewReaderSize(bc, 4096)
	}
	caps, err := s.backendAuth(bc, br, login)
	if err != nil {
		bc.Close() // the TLS connection, if any (closing twice is harmless)
		return nil, nil, err
	}
	return bc, caps, nil
}

// backendAuth is backendLogin after the greeting (and STARTTLS).
func (s *session) backendAuth(bc net.Conn, br *bufio.Reader, login string) ([]string, error) {
	host, port, err := net.SplitHostPort(s.conn().RemoteAddr().String())
	if err != nil {
		host, port = s.ip, "0"
	}
	fmt.Fprintf(bc, "R1 ID (\"x-originating-ip\" %s \"x-originating-port\" %s \"x-frontend-session\" %s)\r\n",
		strconv.Quote(host), strconv.Quote(port), strconv.Quote(s.id))
	if _, err := tagged(br, "R1 "); err != nil {
		return nil, err
	}
	ir := netserve.ProxyPlain(login, s.o.ProxySecret)
	fmt.Fprintf(bc, "R2 AUTHENTICATE PLAIN %s\r\n", ir)
	line, err := tagged(br, "R2 ")
	if err != nil {
		return nil, err
	}
	// R2 OK [CAPABILITY IMAP4rev1 …] text
	caps := []string{"IMAP4rev1"}
	if i := strings.Index(line, "[CAPABILITY "); i >= 0 {
		rest := line[i+len("[CAPABILITY "):]
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			caps = strings.Fields(rest[:j])
		}
	}
	if br.Buffered() > 0 {
		return nil, fmt.Errorf("backend sent %d bytes after the login", br.Buffered())
	}
	return caps, nil
}

// tagged reads the backend's responses up to the one tagged with prefix,
// which must be OK.
func tagged(br *bufio.Reader, prefix string) (string, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, prefix) {
			if !strings.HasPrefix(line[len(prefix):], "OK") {
				return "", fmt.Errorf("backend answered %q", trim(line))
			}
			return line, nil
		}
	}
}

func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", fmt.Errorf("read from backend: %w", err)
		}
		b = append(b, chunk...)
		if len(b) > maxProxyLine {
			return "", fmt.Errorf("backend response line over %d bytes", maxProxyLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

func trim(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return sanitize(s)
}

// splice copies between the client and the backend until either side
// closes, or the server shuts down (shutdown sets the client's read
// deadline, which ends the copy; the backend then closes its session).
func (s *session) splice(bc net.Conn) {
	c := s.conn()
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})
	// Bytes the client pipelined after its LOGIN are in our buffer.
	if n := s.br.Buffered(); n > 0 {
		b, _ := s.br.Peek(n)
		if _, err := bc.Write(b); err != nil {
			bc.Close()
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
	// The copy is a wait for the client as far as shutdown is concerned:
	// it interrupts the read, and the backend ends its session.
	if s.beginWait() {
		io.Copy(bc, c)
		s.endWait(false, time.Time{})
	}
	bc.Close()
	<-done
}

// proxiedLogin is the backend's side: a frontend logs in as authz with
// its client certificate (ProxyClientCAs) or else the shared secret.
func (s *session) proxiedLogin(authz, secret string) (imap.Code, error) {
	if s.o.ProxyClientCAs != nil {
		name, err := netserve.VerifyClientCert(s.conn(), s.o.ProxyClientCAs)
		if err != nil {
			s.authFails++
			s.log.Warn("proxy login refused: no valid client certificate", "user", sanitize(authz), "err", err)
			return "", no(imap.CodeAuthenticationFailed, "Authentication failed")
		}
		s.log.Debug("proxy login by client certificate", "frontend", name)
	} else if subtle.ConstantTimeCompare([]byte(secret), s.o.ProxySecret) != 1 {
		s.authFails++
		s.log.Warn("proxy login with a wrong shard secret", "user", sanitize(authz))
		return "", no(imap.CodeAuthenticationFailed, "Authentication failed")
	}
	front := s.conn().RemoteAddr()
	remote := front
	if s.origin != "" {
		if a, err := net.ResolveTCPAddr("tcp", s.origin); err == nil {
			remote = a
		}
	}
	p, err := s.o.ProxyLogin(s.srv.ctx, authz, front, remote)
	if err == nil && p != nil {
		host, _, _ := net.SplitHostPort(remote.String())
		s.log = s.srv.log.With("conn", s.id, "remote", host, "via", s.ip)
		s.ip = host
		s.proxied = true
	}
	return s.enter(authz, p, err)
}

// originOf reads the client address a frontend names in ID; "" when it
// names none or a malformed one.
func originOf(fields []imap.IDField) string {
	var ip, port string
	for _, f := range fields {
		switch strings.ToLower(f.Name) {
		case "x-originating-ip":
			ip = f.Value
		case "x-originating-port":
			port = f.Value
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
