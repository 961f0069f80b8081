package adminapi

import (
	"net/http"

	"github.com/roost-mail/roost/internal/store"
)

// GET /v1/search/status[?login=LOGIN] reports where the full-text index
// of one user's store, or of every store, stands; POST /v1/search/reindex
// with {"login": L} or {"all": true} empties those indexes and rewinds
// their cursors, so that the indexer of the node running the jobs role
// rebuilds them from the change journal. Rebuilding survives restarts:
// it resumes from the cursor.

func (s *Server) searchStatuses(r *http.Request, login string) ([]store.IndexStatus, error) {
	ctx := r.Context()
	if login == "" {
		return s.b.IndexStatuses(ctx, 0, false)
	}
	st, err := s.b.UserStore(ctx, login)
	if err != nil {
		return nil, err
	}
	return s.b.IndexStatuses(ctx, st.ID, false)
}

func (s *Server) searchReply(r *http.Request, sts []store.IndexStatus, all bool) (*SearchStatus, error) {
	out := &SearchStatus{Enabled: s.o.SearchEnabled == nil || s.o.SearchEnabled(), Stores: []SearchStore{}}
	for _, st := range sts {
		out.Backlog += st.Backlog
		out.Docs += st.Docs
		out.TextBytes += st.Bytes
		out.Stores = append(out.Stores, SearchStore{StoreID: st.StoreID, Owner: st.Owner, IndexedTo: st.IndexedTo,
			ModSeq: st.ModSeq, Backlog: st.Backlog, Docs: st.Docs, TextBytes: st.Bytes})
	}
	if all {
		n, err := s.b.IndexSize(r.Context())
		if err != nil {
			return nil, err
		}
		out.IndexBytes = &n
	}
	return out, nil
}

func (s *Server) searchStatus(w http.ResponseWriter, r *http.Request) error {
	login := r.URL.Query().Get("login")
	sts, err := s.searchStatuses(r, login)
	if err != nil {
		return err
	}
	out, err := s.searchReply(r, sts, login == "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) searchReindex(w http.ResponseWriter, r *http.Request) error {
	var in SearchReindex
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if (in.Login == "") == !in.All {
		return badRequest("name a login or all, not both")
	}
	if s.o.SearchEnabled != nil && !s.o.SearchEnabled() {
		return errorf(http.StatusConflict, "search_index is off: there is no index to rebuild")
	}
	sts, err := s.searchStatuses(r, in.Login)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if err := s.b.ResetIndex(r.Context(), st.StoreID); err != nil {
			return err
		}
	}
	if s.o.OnReindex != nil {
		s.o.OnReindex()
	}
	if sts, err = s.searchStatuses(r, in.Login); err != nil {
		return err
	}
	out, err := s.searchReply(r, sts, in.All)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
