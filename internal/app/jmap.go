package app

import (
	"context"
	"net"
	"net/http"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// mountJMAP serves JMAP (RFC 8620/8621) under /jmap/ and its well-known
// URL on mux. Logins need the "web" feature: JMAP is the web client's API
// (Kopano's webapp feature).
func (s *server) mountJMAP(mux *http.ServeMux, authn *directory.Authenticator, imip imipSender) {
	o := jmapserver.Options{Store: s.db, Blobs: s.db.Blobs(), Hub: s.events, Logger: s.log,
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			// Protocol "jmap": app passwords scoped to JMAP work here.
			return authn.Authenticate(directory.WithAuthInfo(ctx, "jmap", ""), login, pw, remote, "web")
		},
		VerifyBearer: httpBearer(authn, "jmap")}
	// CalendarEvent/set schedules through the same iTIP scheduler as
	// CalDAV (local invitees, iMIP to the others).
	o.Scheduler = newScheduler(s, imip)
	if s.queue != nil {
		// EmailSubmission goes through the same queue and sender checks
		// as SMTP submission.
		o.Submitter = s.queue
	}
	h := jmapserver.New(o)
	mux.Handle("/jmap/", h)
	mux.Handle("/.well-known/jmap", h)
}
