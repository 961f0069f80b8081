package davserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// etag is the strong entity tag of an item: its content hash (the blob
// id), quoted (RFC 9110 §8.8.3).
func etag(it *store.Item) string { return `"` + string(it.Blob) + `"` }

func contentType(f *store.Folder) string {
	switch {
	case isCalendar(f), groupware.IsScheduleInbox(f):
		return "text/calendar; charset=utf-8"
	case isAddressBook(f):
		return "text/vcard; charset=utf-8"
	}
	return "application/octet-stream"
}

// checkConditions applies If-Match and If-None-Match (RFC 9110 §13.1) to
// the current state of a resource (it nil: it does not exist).
func checkConditions(r *http.Request, it *store.Item) error {
	if im := r.Header.Get("If-Match"); im != "" {
		if it == nil {
			return errStatus(http.StatusPreconditionFailed, "resource does not exist")
		}
		if strings.TrimSpace(im) != "*" && !etagListHas(im, etag(it)) {
			return errStatus(http.StatusPreconditionFailed, "entity tag does not match")
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && it != nil {
		if strings.TrimSpace(inm) == "*" || etagListHas(inm, etag(it)) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return errStatus(http.StatusNotModified, "")
			}
			return errStatus(http.StatusPreconditionFailed, "resource exists")
		}
	}
	return nil
}

func etagListHas(list, tag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag {
			return true
		}
	}
	return false
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) error {
	res, err := s.resolve(r.Context(), r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if !res.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	switch res.kind {
	case resObject:
	case resFolder:
		return s.export(w, r, res)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "Roost CalDAV/CardDAV. Use a calendar or contacts client.\n")
		return nil
	}
	it := res.item
	if err := checkConditions(r, it); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.code == http.StatusNotModified {
			w.Header().Set("ETag", etag(it))
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return err
	}
	h := w.Header()
	if isCalendar(res.folder) && it.Size <= s.o.MaxBodyBytes {
		// RFC 6638 §3.2.10: a scheduling object resource has a
		// Schedule-Tag. Larger objects (imported, or stored before the
		// limit was lowered) are streamed without: readItem stops at
		// the limit.
		body, err := s.readItem(r.Context(), it)
		if err != nil {
			return err
		}
		tag, err := s.scheduleTag(r.Context(), res, body, nil)
		if err != nil {
			return err
		}
		if tag != "" {
			h.Set("Schedule-Tag", tag)
		}
		h.Set("Content-Type", contentType(res.folder))
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("ETag", etag(it))
		h.Set("Last-Modified", it.InternalDate.UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return nil
	}
	rc, err := s.o.Store.OpenItem(r.Context(), it.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	h.Set("Content-Type", contentType(res.folder))
	h.Set("Content-Length", strconv.FormatInt(it.Size, 10))
	h.Set("ETag", etag(it))
	h.Set("Last-Modified", it.InternalDate.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.log.Warn("DAV GET copy failed", "path", r.URL.Path, "err", err)
	}
	return nil
}

// readBody reads a resource body within MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			if isCalendarPath(r.URL.Path) {
				return nil, precondition(http.StatusRequestEntityTooLarge, "<C:max-resource-size/>", "resource too large")
			}
			return nil, errTooLarge
		}
		return nil, errStatus(http.StatusBadRequest, "reading body: "+err.Error())
	}
	return body, nil
}

func isCalendarPath(p string) bool { return strings.Contains(p, "/"+spaceCal+"/") }

// prepared is a validated resource body with its object index.
type prepared struct {
	body  []byte
	uid   string
	start time.Time
	end   time.Time
	cal   *ical.Component
	kind  string
}

// prepare validates a body for folder f (RFC 4791 §5.3.2.1, RFC 6352
// §6.3.2.1) and computes its index.
func (s *Server) prepare(ctx context.Context, f *store.Folder, body []byte) (*prepared, error) {
	p := &prepared{body: body}
	switch {
	case isCalendar(f):
		cal, err := ical.Decode(body, ical.Limits{MaxBytes: int(s.o.MaxBodyBytes)})
		if err != nil {
			return nil, precondition(http.StatusForbidden, "<C:valid-calendar-data/>", err.Error())
		}
		if k := onlyComponent(cal); k != "" {
			// A VFREEBUSY (or other) object, which no calendar here
			// holds: RFC 4791 §5.3.2.1 supported-calendar-component.
			comps, err := s.supportedComponents(ctx, f)
			if err != nil {
				return nil, err
			}
			if !containsFold(comps, k) {
				return nil, precondition(http.StatusForbidden, "<C:supported-calendar-component/>", k+" not supported by this calendar")
			}
		}
		if err := groupware.ValidateCalendar(cal); err != nil {
			// RFC 4791 §5.3.2.1: data that is not valid iCalendar is
			// valid-calendar-data; valid iCalendar breaking §4.1 is
			// valid-calendar-object-resource.
			if errors.Is(err, ical.ErrInvalidData) {
				return nil, precondition(http.StatusForbidden, "<C:valid-calendar-data/>", err.Error())
			}
			return nil, precondition(http.StatusForbidden, "<C:valid-calendar-object-resource/>", err.Error())
		}
		if notes := ical.Normalize(cal); len(notes) > 0 {
			// Stored as sent (its ETag stays the client's); read as noted.
			s.log.InfoContext(ctx, "DAV calendar object stored with liberties", "folder", f.ID, "notes", notes)
		}
		kind := groupware.Kind(cal)
		comps, err := s.supportedComponents(ctx, f)
		if err != nil {
			return nil, err
		}
		if !containsFold(comps, kind) {
			return nil, precondition(http.StatusForbidden, "<C:supported-calendar-component/>", kind+" not supported by this calendar")
		}
		ix, err := groupware.IndexCalendar(cal, s.zones.Zones(cal))
		if err != nil {
			return nil, precondition(http.StatusForbidden, "<C:valid-calendar-object-resource/>", err.Error())
		}
		p.uid, p.start, p.end, p.cal, p.kind = ix.UID, ix.Start, ix.End, cal, kind
	case isAddressBook(f):
		cards, err := vcard.Decode(body, vcard.Limits{MaxBytes: int(s.o.MaxBodyBytes)})
		if err != nil {
			return nil, precondition(http.StatusForbidden, "<CR:valid-address-data/>", err.Error())
		}
		if len(cards) != 1 {
			return nil, precondition(http.StatusForbidden, "<CR:valid-address-data/>", "want exactly one vCard")
		}
		if cards[0].UID() == "" {
			return nil, precondition(http.StatusForbidden, "<CR:valid-address-data/>", "vCard without UID")
		}
		if v := cards[0].Version(); v != "3.0" && v != "4.0" {
			return nil, precondition(http.StatusForbidden, "<CR:supported-address-data/>", "vCard version "+v)
		}
		p.uid = cards[0].UID()
	}
	return p, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (s *Server) put(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	switch {
	case res.parentMissing:
		return errStatus(http.StatusConflict, "parent collection does not exist")
	case res.kind == resFolder && !res.exists:
		return errStatus(http.StatusConflict, "resources can only be created in a collection")
	case res.kind != resObject:
		return errStatus(http.StatusMethodNotAllowed, "not a resource")
	case groupware.IsScheduleInbox(res.folder):
		// RFC 6638 §2.2: only the server puts messages into the inbox.
		return errStatus(http.StatusForbidden, "the schedule inbox is written by the server")
	}
	if r.Header.Get("Content-Range") != "" {
		return errStatus(http.StatusBadRequest, "Content-Range is not supported on PUT")
	}
	if err := checkConditions(r, res.item); err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	p, err := s.prepare(ctx, res.folder, body)
	if he := (*httpError)(nil); errors.As(err, &he) && (he.cond == "<C:valid-calendar-data/>" || he.cond == "<CR:valid-address-data/>") && unsupportedMedia(r, res.folder) {
		// RFC 4791 §5.3.2.1 supported-calendar-data, RFC 6352 §6.3.2.1
		// supported-address-data: data of another media type. Only data
		// that does not parse is refused for its label: iCalendar sent
		// as text/plain is stored (liberal in what is accepted).
		if isCalendar(res.folder) {
			return precondition(http.StatusForbidden, "<C:supported-calendar-data/>", "not text/calendar")
		}
		return precondition(http.StatusForbidden, "<CR:supported-address-data/>", "not text/vcard")
	}
	if err != nil {
		return err
	}
	if p.uid != "" && (isCalendar(res.folder) || isAddressBook(res.folder)) {
		if err := s.checkUID(ctx, res, p.uid); err != nil {
			return err
		}
	}
	// Scheduling is planned before the body is stored: the old version
	// decides who is invited and who is cancelled, and a store failure
	// here must fail the request (not re-invite everyone and cancel no
	// one), leaving nothing stored so that the client's retry schedules.
	var sched *groupware.Change
	if isCalendar(res.folder) && p.cal != nil {
		var oldBody []byte
		if res.item != nil {
			if oldBody, err = s.readItem(ctx, res.item); err != nil {
				return itemGone(err)
			}
		}
		if err := s.checkScheduleTag(ctx, r, res, oldBody); err != nil {
			return err
		}
		// An unchanged body (a sync client re-uploading) schedules nothing.
		if !bytes.Equal(oldBody, body) && !groupware.Unchanged(oldBody, p.cal) {
			owner, err := s.folderStore(ctx, res)
			if err != nil {
				return err
			}
			sched, err = s.sched.PlanPut(ctx, groupware.PutEvent{Owner: owner, Folder: res.folder, Name: res.name, Old: oldBody, New: p.cal})
			if errors.Is(err, groupware.ErrTooManyAttendees) {
				return precondition(http.StatusForbidden, "<C:max-attendees-per-instance/>", err.Error())
			}
			if err != nil {
				return err
			}
		}
	}
	it, created, err := s.store(ctx, res, p)
	if err != nil {
		return err
	}
	rewritten := sched.Run(ctx)
	if isCalendar(res.folder) && p.cal != nil {
		// The Schedule-Tag survives the server's own rewrites (RFC 6638
		// §3.2.10), so a client that got no ETag can still write with
		// If-Schedule-Tag-Match.
		if tag, err := s.scheduleTag(ctx, res, nil, p.cal); err == nil && tag != "" {
			w.Header().Set("Schedule-Tag", tag)
		}
	}
	if !rewritten {
		// RFC 4791 §5.3.4: an ETag only when the stored data is what the
		// client sent.
		w.Header().Set("ETag", etag(it))
	}
	if created {
		w.Header().Set("Location", s.objectHref(res, res.folder, res.name))
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// checkUID enforces one UID per collection (RFC 4791 §5.3.2.1
// no-uid-conflict, RFC 6352 §6.3.2.1 no-uid-conflict).
func (s *Server) checkUID(ctx context.Context, res *resource, uid string) error {
	cond := "no-uid-conflict"
	pfx := "C"
	if isAddressBook(res.folder) {
		pfx = "CR"
	}
	if res.item != nil && res.item.ObjectUID != "" && res.item.ObjectUID != uid {
		return precondition(http.StatusConflict, "<"+pfx+":"+cond+"><D:href>"+escapeString(s.objectHref(res, res.folder, res.name))+"</D:href></"+pfx+":"+cond+">", "the UID of a resource cannot change")
	}
	others, err := s.o.Store.ListObjects(ctx, res.folder.ID, store.ObjectQuery{ObjectUID: uid, Limit: 2})
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.Name != res.name {
			return precondition(http.StatusConflict, "<"+pfx+":"+cond+"><D:href>"+escapeString(s.objectHref(res, res.folder, o.Name))+"</D:href></"+pfx+":"+cond+">", "another resource has this UID")
		}
	}
	return nil
}

// store writes a prepared body as res (append or replace).
func (s *Server) store(ctx context.Context, res *resource, p *prepared) (*store.Item, bool, error) {
	ni := store.NewItem{Content: bytes.NewReader(p.body), Name: res.name, ObjectUID: p.uid, Start: p.start, End: p.end,
		InternalDate: s.o.Now()}
	if res.item != nil {
		it, err := s.o.Store.ReplaceItem(ctx, res.item.ID, ni)
		if errors.Is(err, store.ErrNotFound) {
			// Changed or deleted since we looked (RFC 9110 §13.1.1).
			return nil, false, errStatus(http.StatusPreconditionFailed, "resource changed concurrently")
		}
		return it, false, err
	}
	it, err := s.o.Store.AppendItem(ctx, res.folder.ID, ni)
	if errors.Is(err, store.ErrConflict) {
		return nil, false, errStatus(http.StatusPreconditionFailed, "resource created concurrently")
	}
	return it, true, err
}

// scheduleTag returns the Schedule-Tag of a calendar object of res's
// folder, given as content or parsed; "" for one that is not a
// scheduling object resource.
func (s *Server) scheduleTag(ctx context.Context, res *resource, body []byte, cal *ical.Component) (string, error) {
	if cal == nil {
		var err error
		if cal, err = ical.Decode(body, ical.Limits{MaxBytes: int(s.o.MaxBodyBytes) + 1}); err != nil {
			return "", nil // stored before validation was stricter: no tag
		}
	}
	if _, org := groupware.Organizer(cal); org == "" {
		return "", nil
	}
	if res.ownerAddrs == nil {
		st, err := s.folderStore(ctx, res)
		if err != nil {
			return "", err
		}
		addrs, err := s.sched.OwnerAddresses(ctx, st)
		if err != nil {
			return "", err
		}
		res.ownerAddrs = append([]string{}, addrs...)
	}
	return groupware.ScheduleTag(cal, res.ownerAddrs), nil
}

// checkScheduleTag applies If-Schedule-Tag-Match (RFC 6638 §8.3) to the
// current content of a calendar object (nil: it does not exist).
func (s *Server) checkScheduleTag(ctx context.Context, r *http.Request, res *resource, old []byte) error {
	want := r.Header.Get("If-Schedule-Tag-Match")
	if want == "" {
		return nil
	}
	if old == nil {
		return errStatus(http.StatusPreconditionFailed, "resource does not exist")
	}
	tag, err := s.scheduleTag(ctx, res, old, nil)
	if err != nil {
		return err
	}
	if tag == "" || strings.TrimSpace(want) != tag {
		return errStatus(http.StatusPreconditionFailed, "schedule tag does not match")
	}
	return nil
}

// folderStore returns the store a resolved resource's folder is in.
func (s *Server) folderStore(ctx context.Context, res *resource) (*store.Store, error) {
	if res.st != nil && res.st.ID == res.folder.StoreID {
		return res.st, nil
	}
	st, err := s.o.Store.GetStore(store.SystemContext(ctx), res.folder.StoreID)
	if err != nil {
		return nil, fmt.Errorf("store %d of folder %d: %w", res.folder.StoreID, res.folder.ID, err)
	}
	return st, nil
}

// itemGone maps the failure to read a resource being replaced or deleted:
// gone since it was resolved is a concurrent change (412); anything else
// is the server's failure.
func itemGone(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errStatus(http.StatusPreconditionFailed, "resource changed concurrently")
	}
	return err
}

// readItem returns an item's content, bounded by MaxBodyBytes.
func (s *Server) readItem(ctx context.Context, it *store.Item) ([]byte, error) {
	rc, err := s.o.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, s.o.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", it.ID, err)
	}
	return b, nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if strings.Contains(r.URL.RawQuery, "#") || r.URL.Fragment != "" {
		return errStatus(http.StatusBadRequest, "fragment in request URI")
	}
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if !res.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	switch res.kind {
	case resObject:
		if err := checkConditions(r, res.item); err != nil {
			return err
		}
		// As for PUT: plan the cancellations before deleting, failing the
		// request when the old body or the directory cannot be read.
		var sched *groupware.Change
		if isCalendar(res.folder) {
			oldBody, err := s.readItem(ctx, res.item)
			if err != nil {
				return itemGone(err)
			}
			if err := s.checkScheduleTag(ctx, r, res, oldBody); err != nil {
				return err
			}
			owner, err := s.folderStore(ctx, res)
			if err != nil {
				return err
			}
			if sched, err = s.sched.PlanDelete(ctx, groupware.DeleteEvent{Owner: owner, Folder: res.folder, Old: oldBody}); err != nil {
				return err
			}
		}
		if _, err := s.o.Store.DeleteItems(ctx, res.folder.ID, []uint32{res.item.UID}); err != nil {
			return err
		}
		s.dropItemProps(ctx, res.folder.ID, res.name)
		sched.Run(ctx)
	case resFolder:
		if r.Header.Get("If-Match") != "" {
			return errStatus(http.StatusPreconditionFailed, "collections have no entity tag")
		}
		if res.folder.Special != "" && res.folder.StoreID == storeIDOf(res) {
			return precondition(http.StatusForbidden, "<D:cannot-modify-protected-property/>", "a default collection cannot be deleted")
		}
		if err := s.o.Store.DeleteFolder(ctx, res.folder.ID); err != nil {
			return err
		}
	default:
		return errStatus(http.StatusForbidden, "cannot delete this")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unsupportedMedia reports whether a PUT into folder f names a media type
// other than the folder's (text/calendar, text/vcard or text/x-vcard);
// no Content-Type and application/octet-stream name none.
func unsupportedMedia(r *http.Request, f *store.Folder) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/octet-stream":
		return false
	case isCalendar(f):
		return mt != "text/calendar"
	case isAddressBook(f):
		return mt != "text/vcard" && mt != "text/x-vcard" && mt != "text/directory"
	}
	return false
}

// onlyComponent is the name of the calendar component an object holds
// when that is not a VEVENT, VTODO or VJOURNAL (VFREEBUSY, VAVAILABILITY,
// X- components), and "" otherwise. VTIMEZONE does not count.
func onlyComponent(cal *ical.Component) string {
	other := ""
	for _, c := range cal.Children {
		switch c.Name {
		case ical.VEvent, ical.VTodo, ical.VJournal:
			return ""
		case ical.VTimezone:
		default:
			if other == "" {
				other = c.Name
			}
		}
	}
	return other
}
