package adminapi

import (
	"errors"
	"net/http"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

func (s *Server) loginFormat() string {
	if s.o.LoginFormat == nil {
		return "%u"
	}
	return s.o.LoginFormat()
}

func adminLevel(v *int) (*store.AdminLevel, error) {
	if v == nil {
		return nil, nil
	}
	if *v < int(store.AdminNone) || *v > int(store.AdminSystem) {
		return nil, badRequest("admin: %d is not an admin level: use 0 (none), 1 (tenant) or 2 (system)", *v)
	}
	l := store.AdminLevel(*v)
	return &l, nil
}

func (s *Server) hashPassword(pw *string) (*string, error) {
	if pw == nil {
		return nil, nil
	}
	p := auth.DefaultParams
	if s.o.PasswordParams != nil {
		p = s.o.PasswordParams()
	}
	h, err := auth.HashPasswordWith(*pw, p)
	if err != nil {
		return nil, badRequest("password: %v", err)
	}
	return &h, nil
}

// userReply is a user with its store's size and effective quota, as far
// as the principal may see them.
func (s *Server) userReply(r *http.Request, u *store.User) (User, error) {
	out := s.userOf(u)
	if u.StoreID == 0 {
		return out, nil
	}
	q, err := s.b.StoreQuota(r.Context(), u.StoreID)
	switch {
	case err == nil:
		out.Store = &UserStore{ID: q.StoreID, Size: q.Size, SizeHuman: HumanSize(q.Size), Messages: q.Messages,
			Quota: EffectiveQuota{Source: q.Source, Warn: q.Quota.Warn, Soft: q.Quota.Soft, Hard: q.Quota.Hard}}
	case errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrNotFound):
		// Seen but not administered: no store details.
	default:
		return User{}, err
	}
	return out, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	us, err := s.b.ListUsers(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	out := make([]User, 0, len(us))
	for _, u := range us {
		out = append(out, s.userOf(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) showUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.b.GetUser(r.Context(), r.PathValue("login"))
	if err != nil {
		return err
	}
	out, err := s.userReply(r, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in UserCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Login == "" {
		return badRequest("login missing")
	}
	lvl, err := adminLevel(in.Admin)
	if err != nil {
		return err
	}
	name, err := s.defaultTenant(r, in.Tenant)
	if err != nil {
		return err
	}
	// Resolve the tenant first, so a missing tenant is reported as such
	// and not as a login that does not match loginname_format.
	t, err := s.b.GetTenant(r.Context(), name)
	if err != nil {
		return err
	}
	if err := directory.CheckLogin(s.loginFormat(), in.Login, t.Name); err != nil {
		return badRequest("%v", err)
	}
	hash, err := s.hashPassword(in.Password)
	if err != nil {
		return err
	}
	nu := store.User{Login: in.Login, Email: in.Email, FullName: in.FullName, Aliases: in.Aliases, Active: true}
	if in.Active != nil {
		nu.Active = *in.Active
	}
	if lvl != nil {
		nu.Admin = *lvl
	}
	if hash != nil {
		nu.PasswordHash = *hash
	}
	u, err := s.b.CreateUser(r.Context(), t.Name, nu)
	if err != nil {
		return err
	}
	out, err := s.userReply(r, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	login := r.PathValue("login")
	var in UserUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u := store.UserUpdate{
		Email: in.Email, FullName: in.FullName, Active: in.Active,
		AliasAdd: in.AliasAdd, AliasRemove: in.AliasRemove, QuotaOverride: in.QuotaOverride,
		EnableFeature: in.EnableFeature, DisableFeat: in.DisableFeature,
		SendAsAdd: in.SendAsAdd, SendAsRemove: in.SendAsRemove,
		AutoAccept: in.AutoAccept, DeclConflict: in.DeclineConflict, DeclRecurring: in.DeclineRecurring,
		HomeNode: in.HomeNode,
	}
	var err error
	if u.Admin, err = adminLevel(in.Admin); err != nil {
		return err
	}
	if u.QuotaWarn, err = parseMB("quota_warn_mb", in.QuotaWarnMB); err != nil {
		return err
	}
	if u.QuotaSoft, err = parseMB("quota_soft_mb", in.QuotaSoftMB); err != nil {
		return err
	}
	if u.QuotaHard, err = parseMB("quota_hard_mb", in.QuotaHardMB); err != nil {
		return err
	}
	if in.Capacity != nil && *in.Capacity < 0 {
		return badRequest("capacity: %d is negative", *in.Capacity)
	}
	u.Capacity = in.Capacity
	if in.Rename != nil {
		cur, err := s.b.GetUser(r.Context(), login)
		if err != nil {
			return err
		}
		if err := directory.CheckLogin(s.loginFormat(), *in.Rename, cur.Tenant); err != nil {
			return badRequest("%v", err)
		}
		u.Rename = in.Rename
	}
	if u.PasswordHash, err = s.hashPassword(in.Password); err != nil {
		return err
	}
	nu, err := s.b.UpdateUser(r.Context(), login, u)
	if err != nil {
		return err
	}
	out, err := s.userReply(r, nu)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.DeleteUser(r.Context(), r.PathValue("login")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
