package app

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/davserver"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// mountDAV serves CalDAV and CardDAV under /dav/ and the well-known
// discovery URLs (RFC 6764) on mux.
func (s *server) mountDAV(mux *http.ServeMux, cfg *config.Config, authn *directory.Authenticator, out davserver.Outbound) {
	ttl := time.Duration(cfg.DAVAuthCacheTTL) * time.Second
	if ttl == 0 {
		ttl = -1 // davserver: negative turns the cache off
	}
	dav := davserver.New(davserver.Options{Store: s.db, Logger: s.log,
		MaxBodyBytes: int64(cfg.DAVMaxResourceSize) * config.MB, MaxResults: cfg.DAVMaxResults, AuthCacheTTL: ttl, MaxInstances: cfg.DAVMaxInstances,
		Outbound: out, ScheduleInboxTTL: inboxTTL(cfg),
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return authn.Authenticate(ctx, login, pw, remote, "dav")
		},
		VerifyBearer: httpBearer(authn, "dav"), Negotiate: httpNegotiate(authn, "dav"),
		OnSharedOpen: func(ctx context.Context, f *store.Folder, how string) { s.auditOpen(ctx, "dav", f, "", how) }})
	mux.Handle("/dav/", dav)
	// With and without the trailing slash (cadaver adds it).
	for _, wk := range []string{"/.well-known/caldav", "/.well-known/carddav"} {
		mux.Handle(wk, dav)
		mux.Handle(wk+"/", dav)
	}
	// Clients given only the host ask it for current-user-principal.
	mux.Handle("PROPFIND /{$}", dav)
	mux.Handle("OPTIONS /{$}", dav)
}

// inboxTTL turns dav_schedule_inbox_days into groupware.Scheduler.InboxTTL
// (0 days: keep no copies).
func inboxTTL(cfg *config.Config) time.Duration {
	if cfg.DAVInboxDays <= 0 {
		return -1
	}
	return time.Duration(cfg.DAVInboxDays) * 24 * time.Hour
}
