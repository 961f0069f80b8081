package adminapi

import (
	"encoding/json"
	"net/http"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// SyncEvent is one line of the NDJSON reply of POST /v1/directory/sync:
// progress while it runs, then the summary or the error that stopped it.
type SyncEvent struct {
	Progress *directory.SyncProgress `json:"progress,omitempty"`
	Summary  *directory.SyncSummary  `json:"summary,omitempty"`
	Error    string                  `json:"error,omitempty"`
}

// directorySync runs POST /v1/directory/sync: the whole external
// directory is read into the store (users, groups, renames, vanished
// users' stores orphaned), with progress streamed to the client. Only
// system administrators may: it changes every tenant's users.
func (s *Server) directorySync(w http.ResponseWriter, r *http.Request) error {
	if p := store.PrincipalFrom(r.Context()); p == nil || !p.IsSystemAdmin() {
		return errorf(http.StatusForbidden, "only system administrators may sync the directory")
	}
	if s.o.Directory == nil {
		return errorf(http.StatusNotImplemented, "no external directory to sync: user_plugin is not \"ldap\"")
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	emit := func(ev SyncEvent) {
		enc.Encode(ev)
		rc.Flush()
	}
	sum, err := s.o.Directory.Sync(r.Context(), func(p directory.SyncProgress) { emit(SyncEvent{Progress: &p}) })
	if err != nil {
		s.log.Warn("directory sync failed", "err", err)
		emit(SyncEvent{Error: oneLine(err.Error())})
		return nil
	}
	emit(SyncEvent{Summary: sum})
	return nil
}
