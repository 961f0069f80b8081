package app

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/search/extract"
	"github.com/roost-mail/roost/internal/store"
	webui "github.com/roost-mail/roost/internal/web"
)

// mountJMAP serves JMAP (RFC 8620/8621) under /jmap/ and its well-known
// URL on mux. Logins need the "web" feature: JMAP is the web client's API
// (Kopano's webapp feature). The web client's session cookie
// authenticates too (webServer.JMAPAuth), with its cross-origin checks.
func (s *server) mountJMAP(mux *http.ServeMux, cfg *config.Config, authn *directory.Authenticator, imip imipSender, webServer *webui.Server) {
	o := jmapserver.Options{Store: s.db, Blobs: s.db.Blobs(), Hub: s.events, Logger: s.log,
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			// Protocol "jmap": app passwords scoped to JMAP work here.
			return authn.Authenticate(directory.WithAuthInfo(ctx, "jmap", ""), login, pw, remote, "web")
		},
		VerifyBearer: httpBearer(authn, "jmap"), Negotiate: httpNegotiate(authn, "jmap"), SearchIndex: cfg.SearchIndex}
	if cfg.SearchIndex {
		o.Extractor = extract.New(extractLimits(cfg), s.log.With("proto", "jmap"))
	}
	if webServer != nil {
		o.Session = webServer.JMAPAuth
	}
	// CalendarEvent/set schedules through the same iTIP scheduler as
	// CalDAV (local invitees, iMIP to the others).
	o.Scheduler = newScheduler(s, imip)
	if s.queue != nil {
		// EmailSubmission goes through the same queue and sender checks
		// as SMTP submission.
		o.Submitter = s.queue
	}
	// "Undo send": submissions wait this long, cancelable.
	o.SendDelay = time.Duration(cfg.JMAPSendDelay) * time.Second
	for _, n := range cfg.JMAPPushAllowedNetworks {
		if pfx, err := netip.ParsePrefix(n); err == nil { // validated by config
			o.PushAllowedNetworks = append(o.PushAllowedNetworks, pfx)
		}
	}
	// SieveScript (RFC 9661) manages the scripts ManageSieve manages.
	o.Scripts = &mail.Scripts{Store: s.db, Limits: sieveLimits(cfg)}
	if len(cfg.NodeRoles) > 0 {
		o.Watch = s.watchHome // move.go: a store move ends the user's streams here
	}
	h := jmapserver.New(o)
	s.setStreamServers(nil, h, nil)
	// Push delivery and pending submissions survive a restart; the
	// handler's background work stops at shutdown.
	h.Resume()
	s.mu.Lock()
	s.closers = append(s.closers, h)
	s.mu.Unlock()
	mux.Handle("/jmap/", h)
	mux.Handle("/.well-known/jmap", h)
}
