package adminapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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
	if err != nil {
		return err
	}
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, limit))
	if _, err := body.Peek(1); errors.Is(err, io.EOF) {
		return badRequest("empty message")
	} else if err != nil {
		return bodyError(err, limit)
	}
	// The body can be read once: spool it when several users get it.
	if len(users) > 1 {
		f, err := os.CreateTemp("", "roost-deliver-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := io.Copy(f, body); err != nil {
			return bodyError(err, limit)
		}
		var out Delivery
		for i, u := range users {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			d, err := s.deliverTo(ctx, u, f)
			if err != nil {
				return err
			}
			if i == 0 {
				out = d
			} else {
				out.Others = append(out.Others, d)
			}
		}
		writeJSON(w, http.StatusCreated, out)
		return nil
	}
	d, err := s.deliverTo(ctx, users[0], body)
	if err != nil {
		return bodyError(err, limit)
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// deliverTo appends a message to a user's Inbox; it returns once the store
// committed it.
func (s *Server) deliverTo(ctx context.Context, u *store.User, content io.Reader) (Delivery, error) {
	inbox, err := mail.Inbox(ctx, s.b, u.Login)
	if err != nil {
		return Delivery{}, fmt.Errorf("deliver to %q: %w", u.Login, err)
	}
	it, err := s.b.AppendItem(ctx, inbox, store.NewItem{Content: content})
	if err != nil {
		return Delivery{}, err
	}
	s.log.Info("delivered", "user", u.Login, "tenant", u.Tenant, "folder", inbox, "uid", it.UID, "size", it.Size)
	return Delivery{User: u.Login, FolderID: inbox, UID: it.UID, ItemID: it.ID}, nil
}

// bodyError turns a body that hit the limit into a 413 naming the limit.
func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errorf(http.StatusRequestEntityTooLarge, "message larger than the limit of %d bytes", limit)
	}
	return err
}
