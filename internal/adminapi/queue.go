package adminapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// QueuedMessage is a message of the outbound queue (GET /v1/queue…).
type QueuedMessage struct {
	ID          int64            `json:"id"`
	Tenant      string           `json:"tenant,omitempty"`
	Sender      string           `json:"sender,omitempty"`
	From        string           `json:"from"` // "" is the null sender <>
	Recipients  []QueueRecipient `json:"recipients"`
	Size        int64            `json:"size"`
	Attempts    int              `json:"attempts"`
	LastError   string           `json:"last_error,omitempty"`
	Created     time.Time        `json:"created"`
	NextAttempt time.Time        `json:"next_attempt"`
	Expires     time.Time        `json:"expires"`
}

// QueueRecipient is one recipient of a queued message.
type QueueRecipient struct {
	Addr  string `json:"addr"`
	State string `json:"state"` // pending, sent, failed
	Error string `json:"error,omitempty"`
}

func queuedOf(m *store.QueuedMessage) QueuedMessage {
	out := QueuedMessage{ID: m.ID, Tenant: m.Tenant, Sender: m.Sender, From: m.From, Size: m.Size, Attempts: m.Attempts,
		LastError: m.LastError, Created: m.Created, NextAttempt: m.NextAttempt, Expires: m.Expires,
		Recipients: []QueueRecipient{}}
	for _, r := range m.Recipients {
		out.Recipients = append(out.Recipients, QueueRecipient{Addr: r.Addr, State: r.State, Error: r.Error})
	}
	return out
}

func queueID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("queue id %q is not a number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) listQueue(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.b.ListQueue(r.Context())
	if err != nil {
		return err
	}
	out := make([]QueuedMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, queuedOf(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) showQueued(w http.ResponseWriter, r *http.Request) error {
	id, err := queueID(r)
	if err != nil {
		return err
	}
	m, err := s.b.GetQueued(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queuedOf(m))
	return nil
}

func (s *Server) retryQueued(w http.ResponseWriter, r *http.Request) error {
	id, err := queueID(r)
	if err != nil {
		return err
	}
	if err := s.b.RetryQueued(r.Context(), id); err != nil {
		return err
	}
	m, err := s.b.GetQueued(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queuedOf(m))
	return nil
}

func (s *Server) deleteQueued(w http.ResponseWriter, r *http.Request) error {
	id, err := queueID(r)
	if err != nil {
		return err
	}
	if err := s.b.DeleteQueued(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
