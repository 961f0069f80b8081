package app

import (
	"context"
	"net"
	"net/http"

	"github.com/roost-mail/roost/internal/audit"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/store"
)

// mountEAS serves Exchange ActiveSync at /Microsoft-Server-ActiveSync
// (docs/activesync.md). Logins need the "mobile" feature (Kopano's
// mobile feature gated Z-Push the same way).
func (s *server) mountEAS(mux *http.ServeMux, authn *directory.Authenticator, imip imipSender) {
	// Events from devices are scheduled like CalDAV's (iTIP between
	// users, iMIP to others), MeetingResponse replies too.
	o := easserver.Options{Store: s.db, Hub: s.events, Logger: s.log, Scheduler: newScheduler(s, imip),
		SearchIndex: s.cfg.Load().SearchIndex,
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			// Protocol "eas": app passwords scoped to ActiveSync work here.
			return authn.Authenticate(directory.WithAuthInfo(ctx, "eas", ""), login, pw, remote, "mobile")
		},
		VerifyBearer: httpBearer(authn, "eas"),
		Policy: func() easserver.Policy {
			c := s.cfg.Load()
			return easserver.Policy{RequirePassword: c.ActiveSyncRequirePIN, MinPasswordLength: c.ActiveSyncMinPINLength,
				AlphanumericPassword: c.ActiveSyncAlphanumericPIN, RequireEncryption: c.ActiveSyncRequireEncryption,
				MaxFailedAttempts: c.ActiveSyncMaxFailedPINs, MaxInactivityLock: c.ActiveSyncMaxInactivity}
		},
		OnWipe: func(ctx context.Context, login, device, state string) {
			// The device's confirmation; the request came through the
			// admin API and is in the audit log already.
			s.audit.Record(audit.Event{Kind: audit.KindAdmin, Actor: login, Proto: "eas",
				Action: "device wipe confirmed", Target: login + "/" + device, Result: state})
		}}
	if s.queue != nil {
		// SendMail goes through the same queue and sender checks as SMTP
		// submission.
		o.Submitter = s.queue
	}
	if len(s.cfg.Load().NodeRoles) > 0 {
		o.Watch = s.watchHome // move.go: a store move answers the user's parked Pings here
	}
	h := easserver.New(o)
	s.setStreamServers(nil, nil, h)
	mux.Handle(easserver.Path, h)
	mux.Handle(easserver.Path+"/", h)
}
