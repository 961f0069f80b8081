package app

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/audit"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// auditAuth records an authentication (directory.Authenticator.Observe).
func (s *server) auditAuth(_ context.Context, ev directory.AuthEvent) {
	e := audit.Event{Kind: audit.KindAuth, Actor: ev.User, Login: ev.Login, IP: ev.IP, Proto: ev.Protocol,
		Mechanism: ev.Mechanism, Result: "ok"}
	if !ev.OK {
		e.Result, e.Reason = "fail", ev.Reason
	}
	s.audit.Record(e)
}

// observeAuth feeds an authentication to the metrics and the audit log.
func (s *server) observeAuth(ctx context.Context, ev directory.AuthEvent) {
	s.metrics.authObserved(ctx, ev)
	s.auditAuth(ctx, ev)
}

// auditAdmin records every admin API request that may change something
// (any method but GET and HEAD), after it is answered: who, how
// authenticated, what, on which path, with which status. Bodies are never
// recorded (they carry passwords).
func (s *server) auditAdmin(h http.Handler, via string) http.Handler {
	if s.audit == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		e := audit.Event{Kind: audit.KindAdmin, Action: r.Method + " " + r.URL.Path, Target: r.URL.Path,
			Status: sw.status, Via: via, Proto: "admin"}
		if r.URL.RawQuery != "" {
			e.Target += "?" + r.URL.RawQuery
		}
		if p := store.PrincipalFrom(r.Context()); p != nil {
			e.Actor = p.Login
			if p.System && r.TLS != nil {
				e.Via = "client certificate"
			}
		}
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			e.IP = host
		}
		s.audit.Record(e)
	})
}

// sharedOpens remembers recent DAV access records, so that a client
// polling a shared calendar is recorded once per sharedOpenEvery, not at
// every request.
type sharedOpens struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const sharedOpenEvery = 10 * time.Minute

func (o *sharedOpens) first(key string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil || len(o.seen) > 100_000 {
		o.seen = map[string]time.Time{}
	}
	if t, ok := o.seen[key]; ok && now.Sub(t) < sharedOpenEvery {
		return false
	}
	o.seen[key] = now
	return true
}

// auditOpen records that the principal in ctx opened a folder of
// another user's or a public store. rights "" are looked up.
func (s *server) auditOpen(ctx context.Context, proto string, f *store.Folder, rights, how string) {
	if s.audit == nil {
		return
	}
	p := store.PrincipalFrom(ctx)
	if p == nil || p.System {
		return
	}
	if proto == "dav" && !s.davOpens.first(p.Login+"\x00"+strconv.FormatInt(f.ID, 10), time.Now()) {
		return
	}
	e := audit.Event{Kind: audit.KindAccess, Actor: p.Login, Proto: proto, Folder: f.Name, FolderID: f.ID, Rights: rights, How: how}
	if rights == "" {
		if r, err := s.db.MyRights(ctx, f.ID); err == nil {
			e.Rights = r
		}
	}
	if st, err := s.db.GetStore(store.SystemContext(ctx), f.StoreID); err == nil {
		e.Owner, e.Tenant = st.Owner, st.Tenant
		if st.Owner == "" {
			e.Owner = "(public)"
		}
	} else {
		s.log.Warn("audit: store of an opened folder", "folder", f.ID, "err", err)
	}
	s.audit.Record(e)
}
