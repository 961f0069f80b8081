package adminapi

import (
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// Device is a user's mobile (ActiveSync) device, as listed by
// GET /v1/devices and GET /v1/users/{login}/devices.
type Device = mail.DeviceStatus

// DeviceWipe is the body of POST /v1/users/{login}/devices/{id}/wipe.
type DeviceWipe struct {
	// AccountOnly wipes only the account's data from the device (16.1
	// devices; older ones are refused instead of erased).
	AccountOnly bool `json:"account_only"`
}

// listDevices is GET /v1/devices (every user's devices the caller may
// administer; ?tenant= narrows) and GET /v1/users/{login}/devices.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	logins := []string{r.PathValue("login")}
	if logins[0] == "" {
		us, err := s.b.ListUsers(r.Context(), r.URL.Query().Get("tenant"))
		if err != nil {
			return err
		}
		logins = logins[:0]
		for _, u := range us {
			if u.StoreID != 0 {
				logins = append(logins, u.Login)
			}
		}
	} else if _, err := s.b.GetUser(r.Context(), logins[0]); err != nil {
		return err
	}
	out := []Device{}
	for _, l := range logins {
		ds, err := mail.Devices(r.Context(), s.b, l)
		if err != nil {
			return err
		}
		out = append(out, ds...)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// wipeDevice is POST /v1/users/{login}/devices/{id}/wipe: the device is
// wiped through Provision at its next request.
func (s *Server) wipeDevice(w http.ResponseWriter, r *http.Request) error {
	var in DeviceWipe
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	login, id := r.PathValue("login"), r.PathValue("id")
	if _, err := s.b.GetUser(r.Context(), login); err != nil {
		return err
	}
	by := ""
	if p := store.PrincipalFrom(r.Context()); p != nil {
		by = p.Login
		if p.System {
			by = "SYSTEM"
		}
	}
	if _, err := mail.RequestWipe(r.Context(), s.b, login, id, in.AccountOnly, by, time.Now()); err != nil {
		return err
	}
	ds, err := mail.Devices(r.Context(), s.b, login)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.ID == id {
			writeJSON(w, http.StatusOK, d)
			return nil
		}
	}
	return store.ErrNotFound
}

// removeDevice is DELETE /v1/users/{login}/devices/{id}.
func (s *Server) removeDevice(w http.ResponseWriter, r *http.Request) error {
	login := r.PathValue("login")
	if _, err := s.b.GetUser(r.Context(), login); err != nil {
		return err
	}
	if err := mail.RemoveDevice(r.Context(), s.b, login, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
