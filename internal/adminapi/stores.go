package adminapi

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
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

// maxPublicPathDepth bounds the levels of a public folder's path, and
// maxPublicACL the ACL entries set with it.
const (
	maxPublicPathDepth = 32
	maxPublicACL       = 100
)

// createPublicFolder makes a folder in a tenant's public store, acting as
// the caller: the store decides who may (the tenant's administrators).
func (s *Server) createPublicFolder(w http.ResponseWriter, r *http.Request) error {
	var in PublicFolderCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	typ := store.FolderType(in.Type)
	switch typ {
	case "":
		typ = store.FolderMail
	case store.FolderMail, store.FolderCalendar, store.FolderContacts, store.FolderTasks:
	default:
		return badRequest("type %q: must be mail, calendar, contacts or tasks", in.Type)
	}
	names := strings.Split(strings.Trim(in.Path, "/"), "/")
	if in.Path == "" || len(names) > maxPublicPathDepth || slices.Contains(names, "") {
		return badRequest("path %q: must be 1 to %d folder names separated by /", in.Path, maxPublicPathDepth)
	}
	if len(in.ACL) > maxPublicACL {
		return badRequest("acl: at most %d entries", maxPublicACL)
	}
	tenant, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	t, err := s.b.GetTenant(r.Context(), tenant)
	if err != nil {
		return err
	}
	if t.PublicStoreID == 0 {
		return errorf(http.StatusNotFound, "tenant %q has no public store (roost admin store create-public --tenant %s)", tenant, tenant)
	}
	fs, err := s.b.ListFolders(r.Context(), t.PublicStoreID)
	if err != nil {
		return err
	}
	var parent int64
	var cur *store.Folder
	created := false
	for i, name := range names {
		want := store.FolderMail
		if i == len(names)-1 {
			want = typ
		}
		cur = nil
		for _, f := range fs {
			if f.ParentID == parent && !f.Deleted && strings.EqualFold(f.Name, name) {
				cur = f
				break
			}
		}
		if cur == nil {
			if cur, err = s.b.CreateFolder(r.Context(), t.PublicStoreID, parent, name, want); err != nil {
				return err
			}
			created = i == len(names)-1
		} else if i == len(names)-1 && cur.Type != typ {
			return errorf(http.StatusConflict, "public folder %q exists as a %s folder", in.Path, cur.Type)
		}
		parent = cur.ID
	}
	subjects := slices.Sorted(maps.Keys(in.ACL))
	for _, subj := range subjects {
		if err := s.b.SetACL(r.Context(), cur.ID, subj, in.ACL[subj]); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, PublicFolder{ID: cur.ID, StoreID: t.PublicStoreID, Path: strings.Join(names, "/"), Type: string(cur.Type), Created: created})
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
