package adminapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"

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
	u, err := s.b.UserByAddress(ctx, rcpt)
	if err != nil {
		return err
	}
	st, err := s.b.UserStore(ctx, u.Login)
	if err != nil {
		return err
	}
	fs, err := s.b.ListFolders(ctx, st.ID)
	if err != nil {
		return err
	}
	var inbox *store.Folder
	for _, f := range fs {
		if f.Special == store.SpecialInbox {
			inbox = f
			break
		}
	}
	if inbox == nil {
		return fmt.Errorf("deliver to %q: store %d has no inbox", u.Login, st.ID)
	}
	body := bufio.NewReader(http.MaxBytesReader(w, r.Body, limit))
	if _, err := body.Peek(1); errors.Is(err, io.EOF) {
		return badRequest("empty message")
	} else if err != nil {
		return bodyError(err, limit)
	}
	it, err := s.b.AppendItem(ctx, inbox.ID, store.NewItem{Content: body})
	if err != nil {
		return bodyError(err, limit)
	}
	s.log.Info("delivered", "user", u.Login, "tenant", u.Tenant, "folder", inbox.ID, "uid", it.UID, "size", it.Size)
	writeJSON(w, http.StatusCreated, Delivery{User: u.Login, FolderID: inbox.ID, UID: it.UID, ItemID: it.ID})
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
