package app

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	webui "github.com/roost-mail/roost/internal/web"
	"github.com/roost-mail/roost/web"
)

// mountWeb serves the web client at / (the app, its assets, sign-in and
// the sanitised HTML view under /web/), the web admin at /admin and the
// settings' calls to the admin API (/web/admin/, /web/self/, run with the
// session's principal). Its sessions are the directory's web sessions, so
// sign-in is throttled with every other login. It returns the server,
// whose JMAPAuth lets JMAP accept the session cookie; nil when the
// embedded build is missing (the root then says so).
func (s *server) mountWeb(mux *http.ServeMux, authn *directory.Authenticator) *webui.Server {
	var admin http.Handler
	if s.admin != nil {
		// The same audit trail as `roost admin`, naming the way in.
		admin = s.auditAdmin(s.admin, "web session")
	}
	o := webui.Options{Assets: web.Dist(), Sessions: authn, Store: s.db, Logger: s.log,
		Admin: admin,
		// Reloadable: read at each request.
		KeepDeletedDays: func() int { return s.cfg.Load().SoftdeleteLifetime },
		CheckPassword: func(ctx context.Context, login, password string, remote net.Addr) error {
			if _, ok := auth.NormalAppPassword(password); ok {
				// An app password is for a device, never to change
				// the account's password.
				return directory.ErrBadCredentials
			}
			_, err := authn.Authenticate(directory.WithAuthInfo(ctx, "web", "password change"), login, password, remote, "web")
			return err
		}}
	if authn.Kerberos != nil {
		// Kerberos single sign-on (docs/kerberos.md).
		o.Negotiate, o.OpenSession = httpNegotiate(authn, "web"), authn.OpenSession
	}
	w, err := webui.New(o)
	if err != nil {
		s.log.Error("web client not served", "err", err)
		return nil
	}
	mux.Handle("GET /{$}", w)
	mux.Handle("GET /index.html", w)
	mux.Handle("GET /settings", w)
	mux.Handle("/assets/", w)
	mux.Handle("/web/", httpsOnlyAdmin(w))
	mux.Handle("GET /admin", httpsOnlyAdmin(w))
	if authn.Kerberos != nil {
		mux.Handle("GET /auth/negotiate", w)
	}
	return w
}

// httpsOnlyAdmin keeps the web admin and the admin API calls of the web
// client on the HTTPS listener: over plain HTTP they are 404.
func httpsOnlyAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil && (r.URL.Path == "/admin" || strings.HasPrefix(r.URL.Path, "/web/admin/") ||
			strings.HasPrefix(r.URL.Path, "/web/self/") || r.URL.Path == "/web/api/password") {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
