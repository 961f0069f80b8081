package adminapi

import (
	"net/http"
	"strconv"
	"time"
)

func storeID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("store id %q is not a positive number", v)
	}
	return id, nil
}

func (s *Server) listOrphans(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.b.ListOrphans(r.Context())
	if err != nil {
		return err
	}
	out := make([]Store, 0, len(ss))
	for _, st := range ss {
		out = append(out, storeOf(st))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) showStore(w http.ResponseWriter, r *http.Request) error {
	id, err := storeID(r)
	if err != nil {
		return err
	}
	st, err := s.b.GetStore(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, storeOf(st))
	return nil
}

func (s *Server) hookStore(w http.ResponseWriter, r *http.Request) error {
	id, err := storeID(r)
	if err != nil {
		return err
	}
	var in StoreHook
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.b.HookStore(r.Context(), id, in.User); err != nil {
		return err
	}
	st, err := s.b.GetStore(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, storeOf(st))
	return nil
}

func (s *Server) removeStore(w http.ResponseWriter, r *http.Request) error {
	id, err := storeID(r)
	if err != nil {
		return err
	}
	if err := s.b.RemoveStore(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createPublicStore(w http.ResponseWriter, r *http.Request) error {
	var in PublicStoreCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	tenant, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	st, err := s.b.CreatePublicStore(r.Context(), tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, storeOf(st))
	return nil
}

// maxPurgeDays keeps days × 24h inside a time.Duration.
const maxPurgeDays = 100000

func (s *Server) purge(w http.ResponseWriter, r *http.Request) error {
	var in Purge
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Days == nil {
		return badRequest("days missing")
	}
	days, err := strconv.ParseInt(in.Days.String(), 10, 64)
	if err != nil || days < 0 || days > maxPurgeDays {
		return badRequest("days: %q is not a whole number of days from 0 to %d", in.Days.String(), maxPurgeDays)
	}
	st, err := s.b.PurgeDeleted(r.Context(), time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PurgeResult{Items: st.Items, Folders: st.Folders, Stores: st.Stores, Blobs: st.Blobs})
	return nil
}
