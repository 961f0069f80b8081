package imapserver

import (
	"bytes"
	"crypto/tls"
	"errors"
	"time"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// STARTTLS, RFC 9051 §6.2.1.
func (s *session) cmdStartTLS(c *imap.Command) (imap.Code, error) {
	if s.o.TLS == nil || s.tls {
		return "", bad(imap.CodeCannot, "TLS is not available")
	}
	if s.r.Buffered() > 0 {
		// Bytes after STARTTLS were sent in the clear before the
		// handshake; honouring them would let a man in the middle inject
		// commands (RFC 9051 §6.2.1, CVE-2011-0411 for SMTP).
		s.log.Info("command pipelined after STARTTLS; closing")
		s.w.Tagged(c.Tag, imap.BAD, imap.CodeClientBug, "Commands pipelined after STARTTLS")
		return "", s.bye("Closing connection")
	}
	s.w.Tagged(c.Tag, imap.OK, "", "Begin TLS negotiation now")
	if err := s.flush(); err != nil {
		return "", err
	}
	raw := s.conn()
	tc := tls.Server(raw, s.o.TLS)
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(s.srv.ctx); err != nil {
		s.log.Debug("STARTTLS handshake", "err", err)
		return "", &ioError{err}
	}
	raw.SetDeadline(time.Time{})
	s.tls = true
	s.setConn(tc)
	return "", errResponded
}

// errResponded tells dispatch that the tagged response was already sent
// (STARTTLS, COMPRESS): nothing may follow it on the old stream.
var errResponded = errors.New("tagged response sent")

// LOGIN, RFC 9051 §6.2.3.
func (s *session) cmdLogin(c *imap.Command) (imap.Code, error) {
	if !s.plainAllowed() {
		return "", no(imap.CodePrivacyRequired, "LOGIN is disabled before STARTTLS")
	}
	a := c.Args.(*imap.LoginCmd)
	return s.authenticate(a.User, a.Password)
}

// AUTHENTICATE, RFC 9051 §6.2.2, with SASL-IR (RFC 4959): PLAIN (RFC 4616)
// and LOGIN (draft-murchison-sasl-login).
func (s *session) cmdAuthenticate(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.AuthenticateCmd)
	if (a.Mechanism == "OAUTHBEARER" || a.Mechanism == "XOAUTH2") && s.o.VerifyToken != nil {
		if !s.plainAllowed() {
			return "", no(imap.CodePrivacyRequired, "Authentication is disabled before STARTTLS")
		}
		return s.authBearer(a)
	}
	if a.Mechanism == "GSSAPI" && s.o.GSSAPI != nil {
		return s.authGSSAPI(a)
	}
	if a.Mechanism != "PLAIN" && a.Mechanism != "LOGIN" {
		return "", no(imap.CodeCannot, "Unsupported authentication mechanism")
	}
	if !s.plainAllowed() {
		return "", no(imap.CodePrivacyRequired, "Authentication is disabled before STARTTLS")
	}
	switch a.Mechanism {
	case "PLAIN":
		resp := a.InitialResponse
		if !a.HasInitialResponse {
			var err error
			if resp, err = s.challenge(nil); err != nil {
				return "", err
			}
		}
		// message = [authzid] NUL authcid NUL passwd (RFC 4616 §2)
		parts := bytes.Split(resp, []byte{0})
		if len(parts) != 3 {
			return "", bad(imap.CodeParse, "Malformed PLAIN response")
		}
		authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
		if authz != "" && authz != user && user == ProxyIdentity && s.o.ProxyLogin != nil && (len(s.o.ProxySecret) > 0 || s.o.ProxyClientCAs != nil) {
			return s.proxiedLogin(authz, pass)
		}
		if authz != "" && authz != user {
			return "", no(imap.CodeAuthorizationFailed, "Proxy authorization is not supported")
		}
		return s.authenticate(user, pass)
	default: // LOGIN
		user := a.InitialResponse
		if !a.HasInitialResponse {
			var err error
			if user, err = s.challenge([]byte("Username:")); err != nil {
				return "", err
			}
		}
		pass, err := s.challenge([]byte("Password:"))
		if err != nil {
			return "", err
		}
		return s.authenticate(string(user), string(pass))
	}
}

// challenge sends a SASL challenge and reads the client's response.
func (s *session) challenge(data []byte) ([]byte, error) {
	s.w.ContinueData(data)
	if err := s.flush(); err != nil {
		return nil, err
	}
	resp, err := s.r.ReadAuthResponse()
	if errors.Is(err, imap.ErrAuthCanceled) {
		return nil, bad("", "Authentication canceled")
	}
	if err != nil {
		return nil, s.readErr(err)
	}
	return resp, nil
}

// authFailure is the one place where a failed login becomes IMAP: the
// directory's sentinels are answers; anything else (the directory or store
// failing) is a temporary failure, logged with its error, never "wrong
// password".
func (s *session) authFailure(login string, err error) error {
	switch {
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		s.log.Info("authentication failed", "user", sanitize(login))
		return no(imap.CodeAuthenticationFailed, "Authentication failed")
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		s.log.Info("authentication refused", "user", sanitize(login), "err", err)
		return no(imap.CodeAuthorizationFailed, "Access denied")
	case errors.Is(err, directory.ErrThrottled):
		s.log.Info("authentication throttled", "user", sanitize(login))
		return no(imap.CodeUnavailable, "Authentication temporarily unavailable")
	}
	s.log.Error("authentication failed", "user", sanitize(login), "err", err)
	return no(imap.CodeUnavailable, "Authentication temporarily unavailable")
}

// authenticate checks credentials and enters the authenticated state.
func (s *session) authenticate(login, password string) (imap.Code, error) {
	if s.o.Authenticate == nil {
		return "", no(imap.CodeUnavailable, "Authentication is not configured")
	}
	p, err := s.o.Authenticate(s.srv.ctx, login, password, s.conn().RemoteAddr())
	return s.enter(login, p, err)
}

// enter ends an authentication: a failure becomes its IMAP answer (and
// too many end the connection); a principal enters the authenticated
// state.
func (s *session) enter(login string, p *store.Principal, err error) (imap.Code, error) {
	if err != nil || p == nil {
		s.authFails++
		re := s.authFailure(login, err)
		if s.authFails >= maxAuthFailures {
			r := re.(*respError)
			return "", &respError{st: r.st, code: r.code, text: r.text, fatal: true}
		}
		return "", re
	}
	if s.o.Route != nil && !s.proxied {
		// A frontend (proxy.go); a session a frontend proxied here is
		// never routed again.
		addr, err := s.o.Route(s.srv.ctx, p)
		if err != nil {
			s.log.Error("route to the home backend", "user", p.Login, "err", err)
			return "", no(imap.CodeUnavailable, "Mailbox store unavailable")
		}
		if addr != "" {
			code, err := s.proxy(addr, p)
			var re *respError
			if !errors.As(err, &re) || re.code != imap.CodeUnavailable {
				return code, err
			}
			// The backend refused or could not be reached: if the
			// user's home node changed meanwhile (a store move between
			// the route and the backend's own check), go there instead.
			again, rerr := s.o.Route(s.srv.ctx, p)
			if rerr != nil || again == addr {
				return code, err
			}
			s.log.Info("home backend changed during the login; routing again", "user", p.Login, "was", addr, "now", again)
			if again != "" {
				return s.proxy(again, p)
			}
		}
	}
	if !s.srv.admitUser(s, p.Login) {
		s.log.Info("too many sessions", "user", p.Login)
		return "", no(imap.CodeLimit, "Too many connections for this user")
	}
	ctx := store.WithPrincipal(s.srv.ctx, p)
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		s.srv.releaseUser(s)
		s.log.Error("open store", "user", p.Login, "err", err)
		return "", no(imap.CodeUnavailable, "Mailbox store unavailable")
	}
	s.p, s.ctx, s.storeID = p, ctx, st.ID
	if s.o.Watch != nil {
		s.unwatch = s.o.Watch(p, st.ID)
	}
	s.ptree = nil
	s.state = stateAuth
	s.r.LiteralMinus = false
	s.log = s.log.With("user", p.Login, "tenant", p.Tenant)
	s.log.Info("logged in", "tls", s.tls)
	return imap.CodeCapability(s.caps()...), nil
}
