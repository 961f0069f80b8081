package app

import (
	"net/http"

	"github.com/roost-mail/roost/internal/directory"
	webui "github.com/roost-mail/roost/internal/web"
	"github.com/roost-mail/roost/web"
)

// mountWeb serves the web client at / (the app, its assets, sign-in and
// the sanitised HTML view under /web/). Its sessions are the directory's
// web sessions, so sign-in is throttled with every other login. It
// returns the server, whose JMAPAuth lets JMAP accept the session cookie;
// nil when the embedded build is missing (the root then says so).
func (s *server) mountWeb(mux *http.ServeMux, authn *directory.Authenticator) *webui.Server {
	o := webui.Options{Assets: web.Dist(), Sessions: authn, Store: s.db, Logger: s.log}
	if authn.Kerberos != nil {
		o.Negotiate, o.OpenSession = httpNegotiate(authn, "web"), authn.OpenSession
	}
	w, err := webui.New(o)
	if err != nil {
		s.log.Error("web client not served", "err", err)
		return nil
	}
	mux.Handle("GET /{$}", w)
	mux.Handle("GET /index.html", w)
	mux.Handle("/assets/", w)
	mux.Handle("/web/", w)
	if authn.Kerberos != nil {
		mux.Handle("GET /auth/negotiate", w)
	}
	return w
}
