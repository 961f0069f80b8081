package jmapserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// errTooBig is returned by the upload reader past maxSizeUpload.
var errTooBig = errors.New("upload larger than maxSizeUpload")

type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, errTooBig
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// upload stores a blob (RFC 8620 §6.1). The blob is usable by its
// account for UploadTTL.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	acctID := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/jmap/upload/"), "/")
	st, err := s.o.Store.UserStore(r.Context(), p.Login)
	if err != nil {
		s.internalError(w, r, "upload: user store", err)
		return
	}
	n, ok := jmap.ParseID('A', acctID)
	if ok && n != st.ID {
		// A shared account the user may write to (accounts.go): what is
		// uploaded there may be imported or attached in it; the store
		// checks the insert right then.
		shared, err := (&call{ctx: r.Context(), s: s, p: p, acct: st}).sharedAccounts()
		if err != nil {
			s.internalError(w, r, "upload: shared accounts", err)
			return
		}
		ok = slices.ContainsFunc(shared, func(a *sharedAccount) bool { return a.st.ID == n && !a.readOnly() })
	} else if ok {
		n = st.ID
	}
	if !ok {
		problem(w, &jmap.Problem{Type: "about:blank", Status: http.StatusNotFound, Detail: "no such account"})
		return
	}
	if s.o.Blobs == nil {
		problem(w, &jmap.Problem{Type: "about:blank", Status: http.StatusServiceUnavailable, Detail: "uploads are not available"})
		return
	}
	if r.ContentLength > s.o.MaxSizeUpload {
		problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeUpload",
			Detail: fmt.Sprintf("at most %d bytes", s.o.MaxSizeUpload)})
		return
	}
	if !s.acquire(s.uploading, p.Login, s.o.MaxConcurrentUpload) {
		problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentUpload",
			Detail: fmt.Sprintf("at most %d concurrent uploads", s.o.MaxConcurrentUpload)})
		return
	}
	defer s.release(s.uploading, p.Login)
	id, size, err := s.o.Blobs.Put(r.Context(), &capReader{r: r.Body, left: s.o.MaxSizeUpload})
	if errors.Is(err, errTooBig) {
		problem(w, &jmap.Problem{Type: jmap.ProblemLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeUpload",
			Detail: fmt.Sprintf("at most %d bytes", s.o.MaxSizeUpload)})
		return
	}
	if err != nil {
		s.internalError(w, r, "upload: put blob", err)
		return
	}
	typ := uploadType(r.Header.Get("Content-Type"))
	s.rememberUpload(n, id, upload{typ: typ, size: size, expires: s.o.Now().Add(s.o.UploadTTL)})
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, map[string]any{"accountId": acctID, "blobId": "G" + string(id), "type": typ, "size": size})
}

// maxUploadTypeBytes bounds the media type kept with an upload: the
// index holds it for UploadTTL, and a header may be up to a megabyte.
const maxUploadTypeBytes = 255

// uploadType is the media type an upload is kept with: the request's
// Content-Type when it is one, else application/octet-stream.
func uploadType(h string) string {
	if h == "" || len(h) > maxUploadTypeBytes {
		return "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(h); err != nil {
		return "application/octet-stream"
	}
	return h
}

// maxUploadsPerAccount bounds the in-memory upload index of an account.
const maxUploadsPerAccount = 10000

func (s *Server) rememberUpload(storeID int64, id blob.ID, u upload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.uploads[storeID]
	if m == nil {
		m = map[blob.ID]upload{}
		s.uploads[storeID] = m
	}
	now := s.o.Now()
	if len(m) >= maxUploadsPerAccount {
		for k, e := range m {
			if !now.Before(e.expires) || len(m) >= maxUploadsPerAccount {
				delete(m, k)
			}
		}
	}
	m[id] = u
}

func (s *Server) uploaded(storeID int64, id blob.ID) (upload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[storeID][id]
	if ok && !s.o.Now().Before(u.expires) {
		delete(s.uploads[storeID], id)
		return upload{}, false
	}
	return u, ok
}

// openBlob opens a blob of the account by its JMAP id; ok is false when
// the account has no such blob (a store error is returned as err).
func (s *Server) openBlob(ctx context.Context, storeID int64, blobID string) (rc io.ReadCloser, size int64, typ string, err error) {
	switch {
	case strings.HasPrefix(blobID, "G"):
		id := blob.ID(blobID[1:])
		if !blob.Valid(string(id)) {
			return nil, 0, "", store.ErrNotFound
		}
		u, ok := s.uploaded(storeID, id)
		if !ok || s.o.Blobs == nil {
			return nil, 0, "", store.ErrNotFound
		}
		rc, err := s.o.Blobs.Open(ctx, id)
		if errors.Is(err, blob.ErrNotFound) {
			return nil, 0, "", store.ErrNotFound
		}
		return rc, u.size, u.typ, err
	case strings.HasPrefix(blobID, "s"): // a Sieve script (sieve.go)
		return s.openSieveBlob(ctx, blobID)
	case strings.HasPrefix(blobID, "Q"): // a part of an upload (emailcopy.go)
		return s.openUploadPart(ctx, storeID, blobID)
	case strings.HasPrefix(blobID, "m"):
		n, ok := jmap.ParseID('m', blobID)
		if !ok {
			return nil, 0, "", store.ErrNotFound
		}
		it, err := s.itemOf(ctx, storeID, n)
		if err != nil {
			return nil, 0, "", err
		}
		rc, err := s.o.Store.OpenItem(ctx, it.ID)
		return rc, it.Size, "message/rfc822", err
	case strings.HasPrefix(blobID, "p"):
		itemID, path, ok := parsePartBlobID(blobID)
		if !ok {
			return nil, 0, "", store.ErrNotFound
		}
		it, err := s.itemOf(ctx, storeID, itemID)
		if err != nil {
			return nil, 0, "", err
		}
		msg, err := s.loadMessage(ctx, it)
		if err != nil {
			return nil, 0, "", err
		}
		part, ok := msg.root.Section(path)
		if !ok {
			return nil, 0, "", store.ErrNotFound
		}
		data, err := io.ReadAll(part.DecodedBody(msg.raw))
		if err != nil {
			return nil, 0, "", fmt.Errorf("decode part: %w", err)
		}
		return io.NopCloser(strings.NewReader(string(data))), int64(len(data)), part.MediaType + "/" + part.SubType, nil
	}
	return nil, 0, "", store.ErrNotFound
}

func partBlobID(itemID int64, path []int) string {
	var b strings.Builder
	b.WriteString("p")
	b.WriteString(strconv.FormatInt(itemID, 10))
	for _, n := range path {
		b.WriteByte('_')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

func parsePartBlobID(s string) (int64, []int, bool) {
	f := strings.Split(s[1:], "_")
	if len(f) < 2 || len(f) > 1+pmimeMaxDepth {
		return 0, nil, false
	}
	id, ok := jmap.ParseID('p', "p"+f[0])
	if !ok {
		return 0, nil, false
	}
	var path []int
	for _, x := range f[1:] {
		n, err := strconv.Atoi(x)
		if err != nil || n <= 0 || n > 100000 || strconv.Itoa(n) != x {
			return 0, nil, false
		}
		path = append(path, n)
	}
	return id, path, true
}

const pmimeMaxDepth = 64

// DownloadCSP is the Content-Security-Policy of every download: sandbox
// (an opaque origin, no scripts, forms, popups or plugins), nothing
// fetched, framed only by this origin.
const DownloadCSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"

// previewTypes are the types a download shows inline when asked
// (?disposition=inline, a server extension of the download URL): images
// a browser renders without script and PDF, which browsers show in
// their own viewer. Not HTML, not SVG: they stay attachments (and
// sandboxed even when opened).
var previewTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

func previewable(typ string) bool {
	mt, _, err := mime.ParseMediaType(typ)
	return err == nil && slices.Contains(previewTypes, mt)
}

// download serves a blob (RFC 8620 §6.2). With ?disposition=inline a
// previewable type is served inline (the web client's preview), every
// other attachment; every download is sandboxed (DownloadCSP).
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	f := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/jmap/download/"), "/", 3)
	if len(f) < 2 {
		http.NotFound(w, r)
		return
	}
	st, err := s.o.Store.UserStore(r.Context(), p.Login)
	if err != nil {
		s.internalError(w, r, "download: user store", err)
		return
	}
	n, ok := jmap.ParseID('A', f[0])
	if !ok {
		http.NotFound(w, r)
		return
	}
	if n != st.ID {
		// A shared account (accounts.go): its messages and their parts,
		// which the store lets the user read.
		if !strings.HasPrefix(f[1], "m") && !strings.HasPrefix(f[1], "p") {
			http.NotFound(w, r)
			return
		}
		shared, err := (&call{ctx: r.Context(), s: s, p: p, acct: st}).sharedAccounts()
		if err != nil {
			s.internalError(w, r, "download: shared accounts", err)
			return
		}
		if !slices.ContainsFunc(shared, func(a *sharedAccount) bool { return a.st.ID == n }) {
			http.NotFound(w, r)
			return
		}
	}
	rc, size, typ, err := s.openBlob(r.Context(), n, f[1])
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.internalError(w, r, "download", err)
		return
	}
	defer rc.Close()
	if t := r.URL.Query().Get("type"); t != "" {
		if _, _, err := mime.ParseMediaType(t); err == nil {
			typ = t
		}
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "private, immutable, max-age=31536000")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// A blob is someone else's content on this origin: whatever the
	// browser makes of it (HTML, SVG, a PDF in its viewer) runs in an
	// opaque origin with no script, no form, no plugin and nothing
	// loaded, and only this origin may frame it (the web client's
	// preview).
	w.Header().Set("Content-Security-Policy", DownloadCSP)
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	if len(f) == 3 && f[2] != "" {
		disp := "attachment"
		if r.URL.Query().Get("disposition") == "inline" && previewable(typ) {
			disp = "inline"
		}
		w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f[2]}))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Info("JMAP download interrupted", "user", p.Login, "err", err)
	}
}
