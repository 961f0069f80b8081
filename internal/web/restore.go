package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// Bounds of the restore endpoints: items listed per page (and the
// default), ids restored per request, and the header bytes read of each
// listed item for its subject, sender and date.
const (
	maxDeletedPage     = 200
	defaultDeletedPage = 50
	maxRestoreItems    = 100
	maxRestoreBody     = 16 << 10
	maxSummaryHeader   = 32 << 10
	maxSummaryFields   = 200
	maxSummarySubject  = 500
	// maxSummaryObject bounds the bytes of a deleted event, task or
	// contact read for its title, start or name; a bigger or broken
	// object shows its resource name only.
	maxSummaryObject = 256 << 10
)

// Folder kinds of the restore endpoints, by the JMAP id prefix of the
// folder: Mailbox M…, Calendar C…, AddressBook B…, TaskList L….
const (
	kindMail     = "mail"
	kindCalendar = "calendar"
	kindContacts = "contacts"
	kindTasks    = "tasks"
)

// parseFolderID reads a folder's JMAP id of any restorable kind.
func parseFolderID(v string) (id int64, kind string, ok bool) {
	for _, k := range []struct {
		prefix byte
		kind   string
	}{{'M', kindMail}, {'C', kindCalendar}, {'B', kindContacts}, {'L', kindTasks}} {
		if id, ok := jmap.ParseID(k.prefix, v); ok {
			return id, k.kind, true
		}
	}
	return 0, "", false
}

// deletedItem is one row of GET /web/api/deleted.
type deletedItem struct {
	// ID is the JMAP Email id a message had (and gets back), E…; an
	// event, task or contact is I… (its item; it gets back the JMAP id
	// of its resource name).
	ID        string `json:"id"`
	Kind      string `json:"kind"`            // mail, calendar, contacts or tasks
	Subject   string `json:"subject"`         // mail; an event's or task's title; a contact's name
	From      string `json:"from,omitempty"`  // mail
	Name      string `json:"name,omitempty"`  // an event's, task's or contact's resource name
	Start     string `json:"start,omitempty"` // an event's start (a task's due): RFC 3339, or YYYY-MM-DD for a date; times in a zone or floating as written, without offset
	Date      string `json:"date,omitempty"`  // mail: RFC 3339, from the Date header (else the internal date)
	DeletedAt string `json:"deletedAt"`
	Size      int64  `json:"size"`
}

// deletedFolder is one row of GET /web/api/deleted-folders.
type deletedFolder struct {
	ID        string `json:"id"` // the JMAP Mailbox, Calendar, AddressBook or TaskList id it had (and gets back)
	Name      string `json:"name"`
	ParentID  string `json:"parentId,omitempty"`
	DeletedAt string `json:"deletedAt"`
	Kind      string `json:"kind"` // mail, calendar, contacts or tasks
}

// storeRefusal answers an error of the store: a folder or item that does
// not exist or that the user may not see 404, one they see but may not
// change 403, a request the store refuses as invalid 400, a live item of
// the same name 409, a full mailbox 507; anything else is a temporary
// failure (503), never "not found".
func (s *Server) storeRefusal(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		refuse(w, http.StatusNotFound, "notFound", "no such folder or item")
	case errors.Is(err, store.ErrPermission):
		refuse(w, http.StatusForbidden, "forbidden", "not allowed")
	case errors.Is(err, store.ErrInvalid):
		refuse(w, http.StatusBadRequest, "invalid", "cannot be restored")
	case errors.Is(err, store.ErrConflict):
		refuse(w, http.StatusConflict, "conflict", "an item of the same name exists")
	case errors.Is(err, store.ErrOverQuota):
		refuse(w, http.StatusInsufficientStorage, "overQuota", "the mailbox is full")
	default:
		s.log.Error("web "+what, "user", store.PrincipalFrom(r.Context()).Login, "err", err)
		w.Header().Set("Retry-After", "10")
		refuse(w, http.StatusServiceUnavailable, "unavailable", "temporarily unavailable")
	}
}

// parseSince reads since=: a date (YYYY-MM-DD, midnight UTC) or an RFC
// 3339 time; "" is no bound.
func parseSince(v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	if len(v) > 40 {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// deleted answers GET /web/api/deleted?mailbox=M…&since=…&position=…&limit=…:
// the soft-deleted, not yet purged items of one folder (a JMAP Mailbox id,
// live or itself deleted), deleted at or after since, newest deletion
// first, a page of at most maxDeletedPage: {"total", "position",
// "items":[deletedItem]}. The store decides who may list them (the read
// and expunge rights on the folder): another user's folder is 404 (or
// 403 where the user may see it but not expunge). Only the page's items
// are opened, for their header.
func (s *Server) deleted(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	r = r.WithContext(store.WithPrincipal(r.Context(), p))
	q := r.URL.Query()
	fv := q.Get("mailbox")
	if fv == "" {
		fv = q.Get("folder")
	}
	folderID, kind, ok := parseFolderID(fv)
	if !ok {
		refuse(w, http.StatusBadRequest, "badRequest", "mailbox must be a Mailbox, Calendar, AddressBook or TaskList id")
		return
	}
	since, ok := parseSince(q.Get("since"))
	if !ok {
		refuse(w, http.StatusBadRequest, "badRequest", "since must be a date (YYYY-MM-DD) or an RFC 3339 time")
		return
	}
	pos, limit := 0, defaultDeletedPage
	if v := q.Get("position"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			refuse(w, http.StatusBadRequest, "badRequest", "position must be a non-negative number")
			return
		}
		pos = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxDeletedPage {
			refuse(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("limit must be 1 to %d", maxDeletedPage))
			return
		}
		limit = n
	}
	items, err := s.o.Store.ListDeletedItems(r.Context(), folderID)
	if err != nil {
		s.storeRefusal(w, r, "deleted items", err)
		return
	}
	var match []*store.Item
	for _, it := range items {
		if !it.DeletedAt.Before(since) {
			match = append(match, it)
		}
	}
	out := struct {
		Total    int           `json:"total"`
		Position int           `json:"position"`
		Items    []deletedItem `json:"items"`
	}{Total: len(match), Position: pos, Items: []deletedItem{}}
	if pos < len(match) {
		page := match[pos:min(pos+limit, len(match))]
		for _, it := range page {
			d, err := s.summary(r, it, kind)
			if err != nil {
				s.storeRefusal(w, r, "deleted item summary", err)
				return
			}
			out.Items = append(out.Items, d)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// summary reads a deleted message's subject, sender and date from its
// header (at most maxSummaryHeader bytes of it), or a deleted event's or
// task's title and start, or a contact's name (of at most
// maxSummaryObject bytes).
func (s *Server) summary(r *http.Request, it *store.Item, kind string) (deletedItem, error) {
	d := deletedItem{ID: jmap.FormatID('E', it.ID), Kind: kind, DeletedAt: it.DeletedAt.UTC().Format(time.RFC3339), Size: it.Size}
	if kind != kindMail {
		d.ID = jmap.FormatID('I', it.ID)
		d.Name = clip(it.Name, maxSummarySubject)
		if it.Size > maxSummaryObject {
			return d, nil
		}
	} else if !it.InternalDate.IsZero() {
		d.Date = it.InternalDate.UTC().Format(time.RFC3339)
	}
	rc, err := s.o.Store.OpenDeletedItem(r.Context(), it.ID)
	if errors.Is(err, store.ErrNotFound) {
		return d, nil // purged or restored since the list: no header to show
	}
	if err != nil {
		return d, fmt.Errorf("open deleted item %d: %w", it.ID, err)
	}
	defer rc.Close()
	if kind != kindMail {
		raw, err := io.ReadAll(io.LimitReader(rc, maxSummaryObject+1))
		if err != nil {
			return d, fmt.Errorf("read deleted item %d: %w", it.ID, err)
		}
		if len(raw) <= maxSummaryObject {
			d.Subject, d.Start = objectSummary(raw, kind)
		}
		return d, nil
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxSummaryHeader))
	if err != nil {
		return d, fmt.Errorf("read deleted item %d: %w", it.ID, err)
	}
	var date time.Time
	d.Subject, d.From, date = headerSummary(raw)
	if !date.IsZero() {
		d.Date = date.UTC().Format(time.RFC3339)
	}
	return d, nil
}

// headerSummary reads the subject, the first sender ("Name <addr>") and
// the date from the start of a message, untrusted: each text valid UTF-8
// of at most maxSummarySubject bytes (the address at most twice that);
// a date that does not parse is zero.
func headerSummary(raw []byte) (subject, from string, date time.Time) {
	if len(raw) > maxSummaryHeader {
		raw = raw[:maxSummaryHeader]
	}
	h, _ := mime.ParseHeader(raw, maxSummaryFields)
	subject = clip(mime.DecodeHeaderValue(h.Get("Subject")), maxSummarySubject)
	if as := mime.ParseAddressList(h.Get("From")); len(as) > 0 && as[0].Mailbox != "" {
		a := as[0]
		from = clip(a.Mailbox+"@"+a.Host, maxSummarySubject)
		if a.Name != "" {
			from = clip(mime.DecodeHeaderValue(a.Name), maxSummarySubject) + " <" + from + ">"
		}
	}
	if t, err := mailDate(h.Get("Date")); err == nil {
		date = t
	}
	return subject, from, date
}

// summaryICalLimits and summaryVCardLimits bound the parse of one deleted
// object for its summary.
var (
	summaryICalLimits  = ical.Limits{MaxBytes: maxSummaryObject, MaxLines: 5000, MaxLineBytes: 64 << 10, MaxDepth: 4, MaxComponents: 200, MaxProps: 200, MaxParams: 20}
	summaryVCardLimits = vcard.Limits{MaxBytes: maxSummaryObject, MaxLines: 5000, MaxLineBytes: 64 << 10, MaxCards: 1, MaxProps: 500, MaxParams: 20}
)

// objectSummary reads an event's or task's title and start (a task's
// due, else its start) or a contact's name from an untrusted iCalendar
// or vCard object of at most maxSummaryObject bytes; a broken object
// gives "", "" (the list then shows its resource name).
func objectSummary(raw []byte, kind string) (title, start string) {
	if len(raw) > maxSummaryObject {
		return "", ""
	}
	if kind == kindContacts {
		cards, err := vcard.Decode(raw, summaryVCardLimits)
		if err != nil || len(cards) == 0 {
			return "", ""
		}
		c := cards[0]
		name := strings.TrimSpace(c.FN())
		if name == "" {
			if n, ok := c.N(); ok {
				name = strings.TrimSpace(strings.Join(append(append([]string{}, n.Given...), n.Family...), " "))
			}
		}
		return clip(name, maxSummarySubject), ""
	}
	cal, err := ical.Decode(raw, summaryICalLimits)
	if err != nil {
		return "", ""
	}
	comp, props := "VEVENT", []string{"DTSTART"}
	if kind == kindTasks {
		comp, props = "VTODO", []string{"DUE", "DTSTART"}
	}
	var master *ical.Component
	for _, c := range cal.Sub(comp) {
		if c.Prop("RECURRENCE-ID") == nil {
			master = c
			break
		}
		if master == nil {
			master = c
		}
	}
	if master == nil {
		return "", ""
	}
	title = clip(strings.TrimSpace(master.Text("SUMMARY")), maxSummarySubject)
	for _, p := range props {
		dt, ok, err := master.DateTime(p)
		if !ok || err != nil {
			continue
		}
		switch {
		case dt.Date:
			start = dt.Wall.Format(time.DateOnly)
		case dt.UTC:
			start = dt.Wall.Format(time.RFC3339)
		default: // in its zone or floating: the wall time as written
			start = dt.Wall.Format("2006-01-02T15:04:05")
		}
		break
	}
	return title, start
}

// mailDate parses an RFC 5322 date, with or without the day name and
// the zone's comment.
func mailDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "("); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	for _, layout := range []string{time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04:05 -0700", time.RFC1123, "Mon, 2 Jan 2006 15:04:05 MST"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unparsed date")
}

// clip cuts s to at most n bytes on a rune boundary and makes it valid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// deletedFolders answers GET /web/api/deleted-folders: the user's own
// soft-deleted, not yet purged folders, newest deletion first, and how
// many days deleted items stay restorable: {"keepDays": n (0: not purged
// automatically), "folders": [deletedFolder]}. Only the owner restores a
// folder (store.RestoreFolder), so only the user's own store is listed.
func (s *Server) deletedFolders(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	ctx := store.WithPrincipal(r.Context(), p)
	r = r.WithContext(ctx)
	st, err := s.o.Store.UserStore(ctx, p.Login)
	if err != nil {
		s.storeRefusal(w, r, "deleted folders: user store", fmt.Errorf("user store: %w", err))
		return
	}
	fs, err := s.o.Store.ListDeletedFolders(ctx, st.ID)
	if err != nil {
		s.storeRefusal(w, r, "deleted folders", err)
		return
	}
	out := []deletedFolder{}
	prefix := map[store.FolderType]byte{store.FolderMail: 'M', store.FolderCalendar: 'C', store.FolderContacts: 'B', store.FolderTasks: 'L'}
	for _, f := range fs {
		k, ok := prefix[f.Type]
		if !f.Deleted || !ok {
			continue
		}
		d := deletedFolder{ID: jmap.FormatID(k, f.ID), Kind: string(f.Type), Name: f.Name, DeletedAt: f.DeletedAt.UTC().Format(time.RFC3339)}
		if f.ParentID != 0 {
			d.ParentID = jmap.FormatID(k, f.ParentID)
		}
		out = append(out, d)
	}
	keep := 0
	if s.o.KeepDeletedDays != nil {
		keep = max(s.o.KeepDeletedDays(), 0)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keepDays": keep, "folders": out})
}

// restore answers POST /web/api/restore with JSON {"items": [Email ids]}
// (at most maxRestoreItems, restored in one transaction into the folders
// they were deleted from, each with a new UID) or {"folder": Mailbox id}
// (the folder and what was deleted with it): 200 {"restored": n}. The
// store checks the rights (items: read, expunge and insert on the
// folder; folders: the owner only).
func (s *Server) restore(w http.ResponseWriter, r *http.Request) {
	p := s.cookieOnly(w, r)
	if p == nil {
		return
	}
	r = r.WithContext(store.WithPrincipal(r.Context(), p))
	var in struct {
		Items  []string `json:"items"`
		Folder string   `json:"folder"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRestoreBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		refuse(w, http.StatusBadRequest, "badRequest", "bad request")
		return
	}
	switch {
	case in.Folder != "" && len(in.Items) == 0:
		id, _, ok := parseFolderID(in.Folder)
		if !ok {
			refuse(w, http.StatusBadRequest, "badRequest", "folder must be a Mailbox, Calendar, AddressBook or TaskList id")
			return
		}
		if err := s.o.Store.RestoreFolder(r.Context(), id); err != nil {
			s.storeRefusal(w, r, "restore folder", err)
			return
		}
		s.log.Info("web restore folder", "user", p.Login, "folder", id)
		writeJSON(w, http.StatusOK, map[string]int{"restored": 1})
	case in.Folder == "" && len(in.Items) > 0:
		if len(in.Items) > maxRestoreItems {
			refuse(w, http.StatusBadRequest, "tooMany", fmt.Sprintf("at most %d items per request", maxRestoreItems))
			return
		}
		ids := make([]int64, 0, len(in.Items))
		for _, v := range in.Items {
			id, ok := jmap.ParseID('E', v)
			if !ok {
				id, ok = jmap.ParseID('I', v)
			}
			if !ok {
				refuse(w, http.StatusBadRequest, "badRequest", "items must be Email ids or the ids of listed deleted items")
				return
			}
			ids = append(ids, id)
		}
		if err := s.o.Store.RestoreItems(r.Context(), ids); err != nil {
			s.storeRefusal(w, r, "restore items", err)
			return
		}
		s.log.Info("web restore items", "user", p.Login, "items", len(ids))
		writeJSON(w, http.StatusOK, map[string]int{"restored": len(ids)})
	default:
		refuse(w, http.StatusBadRequest, "badRequest", "give items or a folder")
	}
}
