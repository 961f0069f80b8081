package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// Bounds on what the HTML view reads.
const (
	maxMessage  = 50 << 20 // bytes of a message parsed
	maxHTMLBody = 2 << 20  // decoded bytes of its HTML body
)

// HTMLCSP is the policy of the sanitised HTML document itself, should
// anything load it as a page: nothing runs, nothing loads.
const HTMLCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"

// html serves GET /web/api/html/{emailId}: the HTML body of a message of
// the user's own mailbox, its archive, or a folder another user or the
// public folders share with it (the folders JMAP shows as shared
// accounts), sanitised by Sanitize. This is where HTML mail
// is sanitised on the server; the app runs DOMPurify over the result and
// shows it in a sandboxed iframe. 404 when the message has no HTML body,
// or is not the user's (existence does not leak).
func (s *Server) html(w http.ResponseWriter, r *http.Request) {
	s.authed(w, r, func(w http.ResponseWriter, r *http.Request) {
		id, ok := jmap.ParseID('E', strings.TrimPrefix(r.URL.Path, "/web/api/html/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := s.htmlBody(r, id)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
			http.NotFound(w, r)
			return
		case err != nil:
			s.log.Error("web html body", "user", store.PrincipalFrom(r.Context()).Login, "email", id, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", HTMLCSP)
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Content-Type", "text/html; charset=utf-8")
		// Not kept in the browser's cache: a message read on a shared
		// computer must not outlive the sign-out there.
		h.Set("Cache-Control", "no-store")
		io.WriteString(w, Sanitize(body))
	})
}

// inArchive reports whether storeID is the principal's archive store
// (store.Archives), whose messages the web client shows too. A user
// without an archive has none; any other failure is the caller's
// temporary error, not "no such message".
func (s *Server) inArchive(r *http.Request, storeID int64) (bool, error) {
	a, err := s.o.Store.UserArchive(r.Context(), store.PrincipalFrom(r.Context()).Login)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("archive store: %w", err)
	}
	return a.ID == storeID, nil
}

// sharedWith reports whether folderID is shared with the principal with
// the read right through an ACL entry (store.SharedFolders: naming the
// user, one of its groups or anyone), as for JMAP's shared accounts. An
// administrator's wider access does not count: the web client shows what
// is shared, as the other clients do.
func (s *Server) sharedWith(r *http.Request, folderID int64) (bool, error) {
	sfs, err := s.o.Store.SharedFolders(r.Context())
	if err != nil {
		return false, fmt.Errorf("shared folders: %w", err)
	}
	for _, sf := range sfs {
		if sf.Folder != nil && sf.Folder.ID == folderID && strings.ContainsRune(sf.Rights, store.RightRead) {
			return true, nil
		}
	}
	return false, nil
}

// htmlBody returns the decoded HTML body of message id of the
// principal's own store or archive store.
func (s *Server) htmlBody(r *http.Request, id int64) (string, error) {
	ctx := r.Context()
	p := store.PrincipalFrom(ctx)
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		return "", fmt.Errorf("user store: %w", err)
	}
	it, err := s.o.Store.GetItem(ctx, id)
	if err != nil {
		return "", fmt.Errorf("item %d: %w", id, err)
	}
	if it.Deleted {
		return "", fmt.Errorf("item %d: %w", id, store.ErrNotFound)
	}
	if it.StoreID != st.ID {
		ok, err := s.inArchive(r, it.StoreID)
		if err != nil {
			return "", err
		}
		if !ok {
			ok, err = s.sharedWith(r, it.FolderID)
		}
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("item %d: %w", id, store.ErrNotFound)
		}
	}
	rc, err := s.o.Store.OpenItem(ctx, id)
	if err != nil {
		return "", fmt.Errorf("open item %d: %w", id, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxMessage))
	if err != nil {
		return "", fmt.Errorf("read item %d: %w", id, err)
	}
	root, err := mime.Parse(raw, mime.Limits{})
	var le *mime.LimitError
	if err != nil && !errors.As(err, &le) {
		return "", fmt.Errorf("parse item %d: %w", id, err)
	}
	part := htmlPart(root)
	if part == nil {
		return "", fmt.Errorf("item %d has no HTML body: %w", id, store.ErrNotFound)
	}
	b, err := io.ReadAll(io.LimitReader(part.DecodedBody(bytes.NewReader(raw)), maxHTMLBody))
	if err != nil {
		return "", fmt.Errorf("decode item %d: %w", id, err)
	}
	text, _ := mime.DecodeCharset(part.Charset(), b)
	return text, nil
}

// htmlPart is the message's HTML body: the first text/html part that is
// not an attachment, in document order (RFC 8621 §4.1.4 picks the same
// part for the common multipart/alternative and multipart/related
// shapes).
func htmlPart(root *mime.Part) *mime.Part {
	if root == nil {
		return nil
	}
	var found *mime.Part
	root.Walk(func(q *mime.Part) bool {
		if q.MediaType == "text" && q.SubType == "html" && q.Disposition != "attachment" {
			found = q
			return false
		}
		return true
	})
	return found
}
