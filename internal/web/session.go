package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, has Path=/ and no Domain, so a sibling
// host cannot plant or widen it.
const CookieName = directory.SessionCookie

// Bounds on the login form (as directory.BasicAuth's).
const (
	maxLogin    = 512
	maxPassword = 4096
	maxForm     = 16 << 10
)

// sameOrigin is the one same-origin rule (directory.SameOrigin).
func sameOrigin(r *http.Request) bool { return directory.SameOrigin(r) }

// safeRead reports whether a cookie-authenticated request that changes
// nothing (GET, HEAD) may go on: a same-origin fetch, a navigation the
// user typed or a browser that sends no fetch metadata; never a
// sub-resource load or navigation from another site.
func safeRead(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none", "":
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]string{"error": reason, "message": msg})
}

// login checks the form's login and password (and, for a user with
// TOTP, code) with the shared authenticator and starts a session.
// Answers: 204 with the cookie, 401 badCredentials (wrong login, password
// or code) or secondFactor (right password, a code is needed), 403 not
// allowed to use the web client, 503 throttled or the directory failing
// (never "wrong password" then).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		// Login CSRF: a foreign page must not sign the browser in as
		// someone else.
		refuse(w, http.StatusForbidden, "crossOrigin", "cross-origin request refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		refuse(w, http.StatusBadRequest, "badForm", "bad login form")
		return
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	pw := r.PostForm.Get("password")
	if login == "" || pw == "" || len(login) > maxLogin || len(pw) > maxPassword {
		refuse(w, http.StatusUnauthorized, "badCredentials", "wrong login or password")
		return
	}
	// App passwords are for devices and their protocols; the browser
	// signs in with the account's password (and its second factor), so
	// an app password opens neither the web client nor the web admin.
	if _, ok := auth.NormalAppPassword(pw); ok {
		s.log.Info("web login refused: app password", "user", login, "remote", r.RemoteAddr)
		refuse(w, http.StatusUnauthorized, "badCredentials", "wrong login or password")
		return
	}
	// A user with TOTP (a second factor) first gets secondFactor, then
	// sends the form again with the code.
	code := strings.TrimSpace(r.PostForm.Get("code"))
	var sess *directory.Session
	var err error
	if code != "" {
		if len(code) > 16 {
			refuse(w, http.StatusUnauthorized, "badCredentials", "wrong login, password or code")
			return
		}
		sess, err = s.o.Sessions.CreateSessionTOTP(r.Context(), login, pw, code, directory.RemoteAddr(r))
	} else {
		sess, err = s.o.Sessions.CreateSession(r.Context(), login, pw, directory.RemoteAddr(r))
	}
	switch {
	case err == nil && sess != nil:
	case errors.Is(err, directory.ErrSecondFactor):
		refuse(w, http.StatusUnauthorized, "secondFactor", "enter the code of your authenticator app")
		return
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		s.log.Info("web login failed", "user", login, "remote", r.RemoteAddr, "with_code", code != "")
		refuse(w, http.StatusUnauthorized, "badCredentials", "wrong login or password")
		return
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		refuse(w, http.StatusForbidden, "denied", "this account may not use the web client")
		return
	default:
		if !errors.Is(err, directory.ErrThrottled) {
			s.log.Error("web login", "user", login, "remote", r.RemoteAddr, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "login temporarily unavailable; try again later")
		return
	}
	http.SetCookie(w, sessionCookie(sess.Token, sess.Expires))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func sessionCookie(token string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if !expires.IsZero() {
		c.Expires = expires.UTC()
		c.MaxAge = int(time.Until(expires).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	return c
}

// logout revokes the session and clears the cookie; with
// everywhere=1 in the form it ends every session of the user (sign out
// everywhere).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		refuse(w, http.StatusForbidden, "crossOrigin", "cross-origin request refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	r.ParseForm()
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		var err error
		if r.PostForm.Get("everywhere") == "1" {
			var p *store.Principal
			if p, _, err = s.principal(r); err == nil && p != nil {
				_, err = s.o.Sessions.RevokeSessions(store.WithPrincipal(r.Context(), p), p.Login)
			}
		}
		if err == nil {
			err = s.o.Sessions.RevokeSession(r.Context(), c.Value)
		}
		if err != nil {
			s.log.Error("web logout: revoke session", "remote", r.RemoteAddr, "err", err)
			w.Header().Set("Retry-After", "10")
			refuse(w, http.StatusServiceUnavailable, "unavailable", "sign-out failed; try again")
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// principal returns the session's principal. ok is false when the
// request carries no valid session; err is a temporary failure.
func (s *Server) principal(r *http.Request) (p *store.Principal, ok bool, err error) {
	c, cerr := r.Cookie(CookieName)
	if cerr != nil || c.Value == "" || len(c.Value) > 512 {
		return nil, false, nil
	}
	sess, err := s.o.Sessions.VerifySession(r.Context(), c.Value, directory.RemoteAddr(r))
	switch {
	case err == nil && sess != nil && sess.Principal != nil:
		return sess.Principal, true, nil
	case err == nil, errors.Is(err, directory.ErrBadCredentials), errors.Is(err, directory.ErrInactive),
		errors.Is(err, directory.ErrFeature):
		return nil, false, nil
	}
	return nil, false, err
}

// authed runs h with the session's principal in the context, or answers
// 401 (no challenge: the app shows its own login form) or 503.
func (s *Server) authed(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request)) {
	if !safeRead(r) {
		refuse(w, http.StatusForbidden, "crossOrigin", "cross-origin request refused")
		return
	}
	p, ok, err := s.principal(r)
	if err != nil {
		s.log.Error("web session", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Retry-After", "10")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "temporarily unavailable")
		return
	}
	if !ok {
		refuse(w, http.StatusUnauthorized, "noSession", "not signed in")
		return
	}
	h(w, r.WithContext(store.WithPrincipal(r.Context(), p)))
}

// me answers who is signed in (the app's first call).
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	s.authed(w, r, func(w http.ResponseWriter, r *http.Request) {
		p := store.PrincipalFrom(r.Context())
		// The user's own addresses (primary first, then aliases): the
		// composer offers "on behalf of" for the other identities (send-as).
		u, err := s.o.Store.GetUser(r.Context(), p.Login)
		if err != nil {
			s.log.Error("web me", "user", p.Login, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		addrs := []string{}
		for _, a := range append([]string{u.Email}, u.Aliases...) {
			if a != "" {
				addrs = append(addrs, a)
			}
		}
		// admin: 0 user, 1 tenant administrator, 2 system administrator
		// (the app offers the web admin from 1).
		writeJSON(w, http.StatusOK, map[string]any{"login": p.Login, "tenant": p.Tenant, "admin": int(p.Admin), "addresses": addrs})
	})
}

// jmapCSP is the policy of JMAP's answers to the browser: a downloaded
// attachment (even of type text/html) runs nothing and cannot be framed.
const jmapCSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

// JMAPAuth authenticates a JMAP request by the session cookie (the JMAP
// handler's Options.Session). A request without the cookie is not
// handled (HTTP Basic applies); with an invalid cookie it answers 401,
// with a cross-origin state-changing request 403, and returns handled.
//
// A script request from the app's own pages without the cookie (the
// session ended and the browser dropped it) is answered 401 without a
// Basic challenge, so the browser shows no password dialog and the app
// its sign-in page.
func (s *Server) JMAPAuth(w http.ResponseWriter, r *http.Request) (p *store.Principal, handled bool) {
	if c, err := r.Cookie(CookieName); err != nil || c.Value == "" {
		if r.Header.Get("Sec-Fetch-Site") == "same-origin" && r.Header.Get("Sec-Fetch-Mode") != "navigate" {
			securityHeaders(w.Header(), jmapCSP)
			refuse(w, http.StatusUnauthorized, "noSession", "not signed in")
			return nil, true
		}
		return nil, false
	}
	securityHeaders(w.Header(), jmapCSP)
	allowed := sameOrigin(r)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		allowed = safeRead(r)
	}
	if !allowed {
		refuse(w, http.StatusForbidden, "crossOrigin", "cross-origin request refused")
		return nil, true
	}
	p, ok, err := s.principal(r)
	if err != nil {
		s.log.Error("web session (jmap)", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Retry-After", "10")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "temporarily unavailable")
		return nil, true
	}
	if !ok {
		refuse(w, http.StatusUnauthorized, "noSession", "not signed in")
		return nil, true
	}
	return p, true
}
