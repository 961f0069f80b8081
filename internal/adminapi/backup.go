package adminapi

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"time"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
)

// BackupRequest is the body of POST /v1/backup.
type BackupRequest struct {
	To     string   `json:"to"`     // the backup directory on the server's host (absolute)
	Logins []string `json:"logins"` // none: every user's store
}

// RestoreRequest is the body of POST /v1/restore.
type RestoreRequest struct {
	From   string    `json:"from"` // the backup directory on the server's host (absolute)
	Login  string    `json:"login"`
	Folder string    `json:"folder,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Into   string    `json:"into,omitempty"`
}

// BackupEvent is one line of the NDJSON stream POST /v1/backup and
// POST /v1/restore answer with: progress reports, then either the
// summary or the error that stopped the work.
type BackupEvent struct {
	Progress *backup.Progress       `json:"progress,omitempty"`
	Backup   *backup.Summary        `json:"backup,omitempty"`
	Restore  *backup.RestoreSummary `json:"restore,omitempty"`
	Error    string                 `json:"error,omitempty"`
	Damaged  bool                   `json:"damaged,omitempty"` // the error is a damaged backup
}

// requireSystemAdmin refuses anyone but system administrators: backup and
// restore read and write files on the server's host and reach every store.
func requireSystemAdmin(r *http.Request) error {
	if p := store.PrincipalFrom(r.Context()); p == nil || !p.IsSystemAdmin() {
		return errorf(http.StatusForbidden, "only system administrators may back up and restore stores")
	}
	return nil
}

// streamEvents starts an NDJSON reply and returns the function that
// writes one event and flushes it.
func streamEvents(w http.ResponseWriter) func(BackupEvent) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	return func(ev BackupEvent) {
		enc.Encode(ev)
		rc.Flush()
	}
}

// backup runs POST /v1/backup: the server writes the backup (it holds the
// store open) and streams progress to the client.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req BackupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.To == "" || !filepath.IsAbs(req.To) {
		return badRequest("to: an absolute directory path is required")
	}
	emit := streamEvents(w)
	sum, err := backup.Run(r.Context(), s.b, backup.Options{Dir: req.To, Logins: req.Logins,
		Progress: func(p backup.Progress) { emit(BackupEvent{Progress: &p}) }})
	if err != nil {
		s.log.Warn("backup failed", "dir", req.To, "err", err)
		emit(BackupEvent{Error: oneLine(err.Error()), Damaged: backup.IsDamaged(err)})
		return nil
	}
	s.log.Info("backup taken", "dir", req.To, "run", sum.Run, "stores", len(sum.Stores), "items", sum.Items, "objects", sum.Objects)
	emit(BackupEvent{Backup: sum})
	return nil
}

// restore runs POST /v1/restore.
func (s *Server) restore(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req RestoreRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.From == "" || !filepath.IsAbs(req.From) {
		return badRequest("from: an absolute directory path is required")
	}
	if req.Login == "" {
		return badRequest("login is required")
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && !req.Until.After(req.Since) {
		return badRequest("until must be after since")
	}
	emit := streamEvents(w)
	sum, err := backup.Restore(r.Context(), s.b, backup.RestoreOptions{Dir: req.From, Login: req.Login, Folder: req.Folder,
		Since: req.Since, Until: req.Until, Into: req.Into,
		Progress: func(p backup.Progress) { emit(BackupEvent{Progress: &p}) }})
	if err != nil {
		s.log.Warn("restore failed", "dir", req.From, "login", req.Login, "err", err)
		emit(BackupEvent{Error: oneLine(err.Error()), Damaged: backup.IsDamaged(err), Restore: sum})
		return nil
	}
	s.log.Info("restore done", "dir", req.From, "login", req.Login, "created", sum.Created, "present", sum.Present)
	emit(BackupEvent{Restore: sum})
	return nil
}
