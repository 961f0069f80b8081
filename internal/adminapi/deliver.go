package adminapi

import (
	"bufio"
	"cmp"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

func (s *Server) maxMessage() int64 {
	if s.o.MaxMessageBytes != nil {
		if n := s.o.MaxMessageBytes(); n > 0 {
			return n
		}
	}
	return DefaultMaxMessageBytes
}

// deliver stores the RFC 5322 message in the body in the Inbox of the user
// owning ?rcpt= (pipe delivery: `roost deliver ADDR < message`). Only the
// system principal delivers, as an MTA would over LMTP. The reply comes
// after AppendItem returned, so a 2xx means the message is durable.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if p := store.PrincipalFrom(ctx); !p.System {
		return errorf(http.StatusForbidden, "delivery needs the system identity (the admin socket)")
	}
	rcpt := r.URL.Query().Get("rcpt")
	if rcpt == "" {
		return badRequest("rcpt missing: POST /v1/deliver?rcpt=ADDRESS")
	}
	limit := s.maxMessage()
	if r.ContentLength > limit {
		return errorf(http.StatusRequestEntityTooLarge, "message of %d bytes is larger than the limit of %d bytes", r.ContentLength, limit)
	}
	users, err := s.b.Recipients(ctx, rcpt)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// A group's contact members: the message goes out to them first.
	contacts, cerr := s.b.RecipientContacts(ctx, rcpt)
	if cerr != nil {
		return cerr
	}
	if err != nil && len(contacts) == 0 {
		return err
	}
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, limit))
	if _, err := body.Peek(1); errors.Is(err, io.EOF) {
		return badRequest("empty message")
	} else if err != nil {
		return bodyError(err, limit)
	}
	// The body can be read once: spool it when it is read more than once
	// (several users, or contacts too).
	open := func() (io.ReadCloser, error) { return io.NopCloser(body), nil }
	if len(users) > 1 || len(contacts) > 0 {
		f, err := os.CreateTemp("", "roost-deliver-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := io.Copy(f, body); err != nil {
			return bodyError(err, limit)
		}
		open = func() (io.ReadCloser, error) { return os.Open(f.Name()) }
	}
	var out *Delivery
	var firstErr error
	del := s.o.Deliverer
	if del == nil {
		del = &mail.Deliverer{Store: s.b, Log: s.log}
	}
	if len(contacts) > 0 {
		var fromp *string
		if from, ok := r.URL.Query()["from"]; ok {
			fromp = &from[0]
		}
		// A refused forward fails the delivery before any user has a
		// copy: the MTA's retry duplicates nothing.
		sent, err := del.Forward(ctx, fromp, rcpt, contacts, open)
		if err != nil {
			return err
		}
		if len(users) == 0 {
			writeJSON(w, http.StatusCreated, &Delivery{Forwarded: sent})
			return nil
		}
		contacts = sent
	}
	var results []mail.Result
	if from, ok := r.URL.Query()["from"]; ok {
		// The envelope sender the MTA knows ("" is the null sender).
		results = del.DeliverMessage(ctx, from[0], []mail.Recipient{{Addr: rcpt, Users: users}}, open)
	} else {
		// Pipe delivery: the sender comes from the Return-Path field.
		results = del.Deliver(ctx, users, open)
	}
	for _, res := range results {
		var rej *mail.RejectError
		if errors.As(res.Err, &rej) {
			firstErr = cmp.Or(firstErr, errorf(http.StatusUnprocessableEntity, "%s", rej.Error()))
			continue
		}
		if res.Err != nil {
			firstErr = cmp.Or(firstErr, res.Err)
			continue
		}
		// FolderID 0 without an error: the user's filter discarded or
		// redirected the message, which is a completed delivery.
		d := Delivery{User: res.User.Login, FolderID: res.FolderID, UID: res.UID, ItemID: res.ItemID}
		if out == nil {
			out = &d
		} else {
			out.Others = append(out.Others, d)
		}
	}
	// As over LMTP: a group address succeeds when anyone got the message
	// (a retry would duplicate it for the others); the log has the rest.
	if out == nil {
		return bodyError(firstErr, limit)
	}
	out.Forwarded = contacts
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// bodyError turns a body that hit the limit into a 413 naming the limit.
func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "message larger than the limit of %d bytes", limit)
	}
	return err
}
