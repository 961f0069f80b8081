package adminapi

import (
	"errors"
	"net/http"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// Archive stores (kopano-archiver):
//
//	GET    /v1/archives[?tenant=T]       the attached archive stores
//	PUT    /v1/users/{login}/archive      body ArchiveAttach: attach one
//	DELETE /v1/users/{login}/archive      detach (the store becomes an orphan)
//	POST   /v1/archive/run                body ArchiveRun: archive now, NDJSON
//	                                      ArchiveEvent lines with progress
//
// The store checks who may attach (administrators of the user's tenant);
// a run acts as the system principal, so it is checked here: the
// administrators of the user's tenant for one user, system administrators
// for every user.

// ArchiveAttach is the body of PUT /v1/users/{login}/archive.
type ArchiveAttach struct {
	Node string `json:"node"`
}

// ArchiveRun is the body of POST /v1/archive/run: one user or all.
type ArchiveRun struct {
	Login string `json:"login,omitempty"`
	All   bool   `json:"all,omitempty"`
}

// ArchiveEvent is one line of the reply of POST /v1/archive/run.
type ArchiveEvent struct {
	Progress *mail.ArchiveProgress `json:"progress,omitempty"`
	Summary  *mail.ArchiveStats    `json:"summary,omitempty"`
	Error    string                `json:"error,omitempty"`
}

func (s *Server) listArchives(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.b.ListArchives(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	out := []Store{}
	for _, st := range ss {
		out = append(out, storeOf(st))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) attachArchive(w http.ResponseWriter, r *http.Request) error {
	var req ArchiveAttach
	if err := decode(w, r, &req); err != nil {
		return err
	}
	st, err := s.b.AttachArchive(r.Context(), r.PathValue("login"), req.Node)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, storeOf(st))
	return nil
}

func (s *Server) detachArchive(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.DetachArchive(r.Context(), r.PathValue("login")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) runArchiver(w http.ResponseWriter, r *http.Request) error {
	if s.o.Archiver == nil {
		return errorf(http.StatusNotImplemented, "this server does not run the archiver")
	}
	var req ArchiveRun
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p := store.PrincipalFrom(r.Context())
	switch {
	case req.All == (req.Login != ""):
		return badRequest("give either login or all")
	case req.All:
		if p == nil || !p.IsSystemAdmin() {
			return errorf(http.StatusForbidden, "only system administrators archive every user")
		}
	default:
		u, err := s.b.GetUser(r.Context(), req.Login)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(u.TenantID) {
			return errorf(http.StatusForbidden, "not an administrator of tenant %q", u.Tenant)
		}
		if _, err := s.b.UserArchive(r.Context(), u.Login); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errorf(http.StatusNotFound, "user %q has no archive store: attach one first", u.Login)
			}
			return err
		}
	}
	a := s.o.Archiver()
	emit := streamNDJSON[ArchiveEvent](w)
	progress := func(p mail.ArchiveProgress) { emit(ArchiveEvent{Progress: &p}) }
	var sum mail.ArchiveStats
	var err error
	if req.All {
		sum, err = a.RunAll(r.Context(), progress)
	} else {
		sum, err = a.RunUser(r.Context(), req.Login, progress)
	}
	ev := ArchiveEvent{Summary: &sum}
	if err != nil {
		s.log.Warn("archive run failed", "login", req.Login, "all", req.All, "err", err)
		ev.Error = "archiving failed: " + oneLine(err.Error())
	}
	emit(ev)
	return nil
}
