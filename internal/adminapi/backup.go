package adminapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
)

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
func streamEvents(w http.ResponseWriter) func(backup.Event) { return streamNDJSON[backup.Event](w) }

// streamNDJSON starts an NDJSON reply of events of type T.
func streamNDJSON[T any](w http.ResponseWriter) func(T) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	return func(ev T) {
		enc.Encode(ev)
		rc.Flush()
	}
}

// s3Settings are the settings that reach an s3:// location: those the
// client sent when they name an endpoint (the server's credentials never
// go to an endpoint the client names), else the server's own (its blob
// store's s3_ keys). Uploads are spooled in the server's temp directory
// either way.
func (s *Server) s3Settings(loc string, sent *backup.S3Config) backup.S3Config {
	if !backup.IsS3(loc) {
		return backup.S3Config{}
	}
	var own backup.S3Config
	if s.o.BackupS3 != nil {
		own = s.o.BackupS3()
	}
	if sent != nil && sent.Endpoint != "" {
		c := *sent
		c.TempDir = own.TempDir
		return c
	}
	return own
}

// backup runs POST /v1/backup: the server writes the backup (it holds the
// store open) and streams progress to the client.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req backup.Request
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.To == "" || !filepath.IsAbs(req.To) && !backup.IsS3(req.To) {
		return badRequest("to: an absolute directory path or s3://BUCKET/PREFIX is required")
	}
	emit := streamEvents(w)
	sum, err := backup.Run(r.Context(), s.b, backup.Options{Dir: req.To, S3: s.s3Settings(req.To, req.S3), Logins: req.Logins, Tenant: req.Tenant,
		Progress: func(p backup.Progress) { emit(backup.Event{Progress: &p}) }})
	if err != nil {
		s.log.Warn("backup failed", "dir", req.To, "err", err)
		emit(backup.Event{Error: oneLine(err.Error()), Damaged: backup.IsDamaged(err)})
		return nil
	}
	s.log.Info("backup taken", "dir", req.To, "run", sum.Run, "stores", len(sum.Stores), "items", sum.Items, "objects", sum.Objects)
	emit(backup.Event{Backup: sum})
	return nil
}

// restore runs POST /v1/restore.
func (s *Server) restore(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req backup.RestoreRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.From == "" || !filepath.IsAbs(req.From) && !backup.IsS3(req.From) {
		return badRequest("from: an absolute directory path or s3://BUCKET/PREFIX is required")
	}
	if req.Login == "" {
		return badRequest("login is required")
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && !req.Until.After(req.Since) {
		return badRequest("until must be after since")
	}
	emit := streamEvents(w)
	sum, err := backup.Restore(r.Context(), s.b, backup.RestoreOptions{Dir: req.From, S3: s.s3Settings(req.From, req.S3), Login: req.Login, Folder: req.Folder,
		Since: req.Since, Until: req.Until, Into: req.Into,
		Progress: func(p backup.Progress) { emit(backup.Event{Progress: &p}) }})
	if err != nil {
		s.log.Warn("restore failed", "dir", req.From, "login", req.Login, "err", err)
		emit(backup.Event{Error: oneLine(err.Error()), Damaged: backup.IsDamaged(err), Restore: sum})
		return nil
	}
	s.log.Info("restore done", "dir", req.From, "login", req.Login, "created", sum.Created, "present", sum.Present)
	emit(backup.Event{Restore: sum})
	return nil
}

// importMail runs POST /v1/import: an mbox file or a Maildir tree on the
// server's host is imported into a user's store, with progress.
func (s *Server) importMail(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req backup.ImportRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Login == "":
		return badRequest("login is required")
	case req.Format == "imap":
		if req.IMAP == nil || req.IMAP.Host == "" || req.IMAP.User == "" {
			return badRequest("imap: host and user are required")
		}
	case req.Format != "mbox" && req.Format != "maildir":
		return badRequest("format: mbox, maildir or imap")
	case req.Path == "" || !filepath.IsAbs(req.Path):
		return badRequest("path: an absolute path is required")
	}
	emit := streamEvents(w)
	sum, err := backup.ImportMail(r.Context(), s.b, backup.ImportOptions{ImportRequest: req,
		Progress: func(p backup.Progress) { emit(backup.Event{Progress: &p}) }})
	if err != nil {
		s.log.Warn("import failed", "path", req.Path, "login", req.Login, "err", err)
		emit(backup.Event{Error: oneLine(err.Error()), Import: sum})
		return nil
	}
	s.log.Info("import done", "path", req.Path, "login", req.Login, "format", req.Format, "imported", sum.Imported, "present", sum.Present, "problems", len(sum.Problems)+sum.ProblemsMore)
	emit(backup.Event{Import: sum})
	return nil
}

// export runs POST /v1/export: a user's whole store is written under a
// directory on the server's host (mail as mbox or Maildir, calendars and
// task lists as .ics, address books as .vcf), with progress.
func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	var req backup.ExportRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.Login == "":
		return badRequest("login is required")
	case req.To == "" || !filepath.IsAbs(req.To):
		return badRequest("to: an absolute directory path is required")
	case req.Format != "" && req.Format != "mbox" && req.Format != "maildir":
		return badRequest("format: mbox or maildir")
	}
	emit := streamEvents(w)
	sum, err := backup.Export(r.Context(), s.b, backup.ExportOptions{ExportRequest: req,
		Objects: func(ctx context.Context, f *store.Folder, out io.Writer) error {
			if f.Type == store.FolderContacts {
				return groupware.ExportContacts(ctx, s.b, f, out)
			}
			return groupware.ExportCalendar(ctx, s.b, f, out)
		},
		Progress: func(p backup.Progress) { emit(backup.Event{Progress: &p}) }})
	if err != nil {
		s.log.Warn("export failed", "dir", req.To, "login", req.Login, "err", err)
		emit(backup.Event{Error: oneLine(err.Error()), Export: sum})
		return nil
	}
	s.log.Info("export done", "dir", req.To, "login", req.Login, "messages", sum.Messages, "files", sum.Objects)
	emit(backup.Event{Export: sum})
	return nil
}
