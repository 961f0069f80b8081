package adminapi

import (
	"net/http"
	"time"

	"github.com/roost-mail/roost/internal/mail"
)

// OOF is a user's out-of-office setting (GET/PATCH /v1/users/{login}/oof).
type OOF struct {
	Enabled bool       `json:"enabled"`
	Subject string     `json:"subject"`
	Message string     `json:"message"`
	From    *time.Time `json:"from,omitempty"`  // replies start then (absent: now)
	Until   *time.Time `json:"until,omitempty"` // replies stop then (absent: until switched off)
}

// OOFUpdate is the body of PATCH /v1/users/{login}/oof: absent fields stay;
// a zero time ("0001-01-01T00:00:00Z") clears From or Until.
type OOFUpdate struct {
	Enabled *bool      `json:"enabled"`
	Subject *string    `json:"subject"`
	Message *string    `json:"message"`
	From    *time.Time `json:"from"`
	Until   *time.Time `json:"until"`
}

func oofOf(o mail.OOF) OOF {
	out := OOF{Enabled: o.Enabled, Subject: o.Subject, Message: o.Message}
	if !o.From.IsZero() {
		out.From = &o.From
	}
	if !o.Until.IsZero() {
		out.Until = &o.Until
	}
	return out
}

func (s *Server) showOOF(w http.ResponseWriter, r *http.Request) error {
	o, err := mail.GetOOF(r.Context(), s.b, r.PathValue("login"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, oofOf(o))
	return nil
}

func (s *Server) updateOOF(w http.ResponseWriter, r *http.Request) error {
	var in OOFUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	login := r.PathValue("login")
	o, err := mail.GetOOF(r.Context(), s.b, login)
	if err != nil {
		return err
	}
	if in.Enabled != nil {
		o.Enabled = *in.Enabled
	}
	if in.Subject != nil {
		o.Subject = *in.Subject
	}
	if in.Message != nil {
		o.Message = *in.Message
	}
	if in.From != nil {
		o.From = *in.From
	}
	if in.Until != nil {
		o.Until = *in.Until
	}
	if o.Enabled && o.Message == "" {
		return badRequest("out-of-office needs a message (--message-file)")
	}
	if err := mail.SetOOF(r.Context(), s.b, login, o); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, oofOf(o))
	return nil
}
