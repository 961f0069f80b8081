package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/directory"
)

// negotiate is Kerberos single sign-on for the web client (GET
// /auth/negotiate): without a token it answers 401 with
// "WWW-Authenticate: Negotiate", which a browser configured for the
// domain answers with its ticket; a good ticket opens a web session
// (the cookie of the password sign-in) and redirects to the app. A
// refused ticket is 401, an account without the web feature 403, a
// failing directory 503 (never "wrong password"). Kerberos is the
// sign-in's strong factor: TOTP is not asked.
func (s *Server) negotiate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
	if !strings.EqualFold(scheme, "Negotiate") || err != nil || len(raw) == 0 || len(tok) > 96<<10 {
		w.Header().Set("WWW-Authenticate", "Negotiate")
		refuse(w, http.StatusUnauthorized, "negotiate", "Kerberos sign-in needs a ticket; use the password sign-in instead")
		return
	}
	remote := directory.RemoteAddr(r)
	p, err := s.o.Negotiate(r.Context(), raw, remote)
	if err == nil && p != nil {
		var sess *directory.Session
		if sess, err = s.o.OpenSession(r.Context(), p, remote); err == nil {
			http.SetCookie(w, sessionCookie(sess.Token, sess.Expires))
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	switch {
	case err == nil || errors.Is(err, directory.ErrBadCredentials):
		s.log.Info("web negotiate refused", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("WWW-Authenticate", "Negotiate")
		refuse(w, http.StatusUnauthorized, "badCredentials", "the Kerberos ticket was refused")
	case errors.Is(err, directory.ErrFeature), errors.Is(err, directory.ErrInactive):
		refuse(w, http.StatusForbidden, "denied", "this account may not use the web client")
	default:
		if !errors.Is(err, directory.ErrThrottled) {
			s.log.Error("web negotiate", "remote", r.RemoteAddr, "err", err)
		}
		w.Header().Set("Retry-After", "60")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "sign-in temporarily unavailable; try again later")
	}
}
