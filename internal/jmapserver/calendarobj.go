package jmapserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// Calendars and address books are the very folders CalDAV and CardDAV
// serve, and events and cards their stored objects: there is no second
// store. An object keeps its id across edits (a store ReplaceItem gives
// the item a new item id but keeps its resource name), so ids derive
// from the folder and the resource name:
//
//	V<folder>_<base64url(name)>   CalendarEvent
//	K<folder>_<base64url(name)>   ContactCard
//	V<folder>h<sha256(name)[:16]> (either kind) for names too long to fit
//
// An expanded instance (CalendarEvent/query with expandRecurrences) is
// W instead of V, with "_<recurrence id as YYYYMMDDThhmmss>" appended.

// Capabilities of RFC 9610 and the JMAP Calendars draft.
const (
	CapContacts  = "urn:ietf:params:jmap:contacts"
	CapCalendars = "urn:ietf:params:jmap:calendars"
)

// maxGroupwareObjects bounds the objects one /query or /get without ids
// reads and converts from the store.
const maxGroupwareObjects = 10000

// maxObjectBytes bounds a calendar object or vCard read or written, as
// CalDAV's default max-resource-size.
const maxObjectBytes = 10 << 20

// maxNameInID is the longest resource name kept readable in an id.
const maxNameInID = 160

func objectID(kind byte, folderID int64, name string) string {
	if len(name) > maxNameInID {
		sum := sha256.Sum256([]byte(name))
		return string(kind) + strconv.FormatInt(folderID, 10) + "h" + hex.EncodeToString(sum[:8])
	}
	return string(kind) + strconv.FormatInt(folderID, 10) + "_" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

// objRef is a parsed object id.
type objRef struct {
	folder int64
	name   string // "" when hash is set
	hash   string
	rid    string // expanded instance: recurrence id "20260105T100000"
}

func parseObjectID(kind byte, id string) (objRef, bool) {
	var r objRef
	instance := kind == 'V' && len(id) > 0 && id[0] == 'W'
	if len(id) < 3 || id[0] != kind && !instance || !jmap.ValidID(id) {
		return r, false
	}
	i := 1
	for i < len(id) && id[i] >= '0' && id[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(id[1:i], 10, 64)
	if err != nil || n <= 0 || i == len(id) || id[1] == '0' {
		return r, false
	}
	r.folder = n
	rest := id[i+1:]
	if instance {
		if len(rest) < 17 || rest[len(rest)-16] != '_' || !isRecurrenceStamp(rest[len(rest)-15:]) {
			return r, false
		}
		r.rid = rest[len(rest)-15:]
		rest = rest[:len(rest)-16]
	}
	switch id[i] {
	case '_':
		b, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(b) == 0 {
			return r, false
		}
		r.name = string(b)
	case 'h':
		if len(rest) != 16 {
			return r, false
		}
		r.hash = rest
	default:
		return r, false
	}
	return r, true
}

func isRecurrenceStamp(s string) bool {
	if len(s) != 15 || s[8] != 'T' {
		return false
	}
	for i := 0; i < 15; i++ {
		if i != 8 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// groupwareFolders lists the account's live folders of the given kind:
// calendars (calendar and task folders, not the schedule inbox) or
// address books.
func (c *call) groupwareFolders(st *store.Store, calendars bool) ([]*store.Folder, error) {
	if calendars {
		return c.foldersOf(st, isCalendarFolder)
	}
	return c.foldersOf(st, isAddressBookFolder)
}

// foldersOf lists the account's folders for which is holds.
func (c *call) foldersOf(st *store.Store, is func(*store.Folder) bool) ([]*store.Folder, error) {
	fs, err := c.s.o.Store.ListFolders(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("folders of store %d: %w", st.ID, err)
	}
	var out []*store.Folder
	for _, f := range fs {
		if is(f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func isCalendarFolder(f *store.Folder) bool {
	return f != nil && !f.Deleted && (f.Type == store.FolderCalendar || f.Type == store.FolderTasks) && !groupware.IsScheduleInbox(f)
}

// isTaskListFolder: a task list is a tasks folder (CalDAV serves it as a
// calendar collection of VTODOs).
func isTaskListFolder(f *store.Folder) bool {
	return f != nil && !f.Deleted && f.Type == store.FolderTasks && !groupware.IsScheduleInbox(f)
}

func isAddressBookFolder(f *store.Folder) bool {
	return f != nil && !f.Deleted && f.Type == store.FolderContacts
}

// folderOf returns a folder of the account by id, of the right kind;
// ErrNotFound otherwise (another account's folder is not found, never
// forbidden).
func (c *call) folderOf(st *store.Store, id int64, ok func(*store.Folder) bool) (*store.Folder, error) {
	f, err := c.s.o.Store.GetFolder(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) || err == nil && (f.StoreID != st.ID || !ok(f)) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("folder %d: %w", id, err)
	}
	return f, nil
}

// findObject resolves an object reference to its live item.
// eachObject calls fn with every named object of the folders (an
// /get without ids): at most MaxObjectsInGet in all, beyond which the
// request is requestTooLarge and the client must ask by ids. what names
// the objects in that error.
func (c *call) eachObject(folders []*store.Folder, what string, fn func(*store.Folder, *store.Item) error) error {
	n := 0
	for _, f := range folders {
		items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{})
		if err != nil {
			return fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
		if n += len(items); n > c.s.o.MaxObjectsInGet {
			return jmap.Errorf(jmap.ErrRequestTooLarge, "more than %d %s: ask by ids", c.s.o.MaxObjectsInGet, what)
		}
		for _, it := range items {
			if it.Name == "" {
				continue
			}
			if err := fn(f, it); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *call) findObject(st *store.Store, ref objRef, ok func(*store.Folder) bool) (*store.Folder, *store.Item, error) {
	f, err := c.folderOf(st, ref.folder, ok)
	if err != nil {
		return nil, nil, err
	}
	q := store.ObjectQuery{Limit: 2}
	if ref.name != "" {
		q.Names = []string{ref.name}
	}
	items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, q)
	if err != nil {
		return nil, nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
	}
	if ref.hash != "" {
		if items, err = c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{}); err != nil {
			return nil, nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
	}
	for _, it := range items {
		if it.Name == "" {
			continue
		}
		if ref.name != "" && it.Name == ref.name {
			return f, it, nil
		}
		if ref.hash != "" && len(it.Name) > maxNameInID {
			sum := sha256.Sum256([]byte(it.Name))
			if hex.EncodeToString(sum[:8]) == ref.hash {
				return f, it, nil
			}
		}
	}
	return nil, nil, store.ErrNotFound
}

// readObject returns an item's content, bounded.
func (c *call) readObject(it *store.Item) ([]byte, error) {
	rc, err := c.s.o.Store.OpenItem(c.ctx, it.ID)
	if err != nil {
		return nil, fmt.Errorf("open item %d: %w", it.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", it.ID, err)
	}
	return b, nil
}

// DAV collection properties, kept where CalDAV/CardDAV keep them (dead
// and live properties under "{namespace}local", XML content).
const (
	propCalColor = "{http://apple.com/ns/ical/}calendar-color"
	propCalDesc  = "{urn:ietf:params:xml:ns:caldav}calendar-description"
	propAbDesc   = "{urn:ietf:params:xml:ns:carddav}addressbook-description"
	propOrder    = "{http://apple.com/ns/ical/}calendar-order"
)

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func fromXMLText(s string) string { return strings.TrimSpace(html.UnescapeString(s)) }

// groupwareChanges is /changes of folders (calendars, address books) or
// of the objects in them, from the store's one journal.
func (c *call) groupwareChanges(raw []byte, folders bool, kind byte, want func(store.FolderType) bool) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	since, max, err := a.check()
	if err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	created, updated, destroyed, newState, more, err := c.journalDiff(st, since, max, func(ch store.Change) (string, store.ChangeKind) {
		t, ok := types[ch.FolderID]
		if !ok || !want(t) {
			return "", ""
		}
		if folders {
			if ch.ItemID != 0 {
				return "", ""
			}
			return jmap.FormatID(kind, ch.FolderID), ch.Kind
		}
		if ch.ItemID == 0 || ch.Name == "" {
			return "", ""
		}
		return objectID(kind, ch.FolderID, ch.Name), ch.Kind
	})
	if err != nil {
		return nil, err
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: jmap.FormatState(newState),
		HasMoreChanges: more, Created: created, Updated: updated, Destroyed: destroyed}, nil
}

// rightsOf turns RFC 4314 rights letters into a predicate.
func rightsOf(r string) func(letters string) bool {
	return func(letters string) bool {
		for _, l := range letters {
			if !strings.ContainsRune(r, l) {
				return false
			}
		}
		return true
	}
}

// pageChanges is page for a query /queryChanges can follow from its
// queryState (canCalculateChanges).
func pageChanges(c *call, a queryArgs, ids []string, st *store.Store) (any, error) {
	res, err := page(c, a, ids, jmap.FormatState(st.ModSeq))
	if err != nil {
		return nil, err
	}
	if r, ok := res.(queryResponse); ok {
		r.CanCalculateChanges = true
		return r, nil
	}
	return res, nil
}

// queryChangesArgs are the arguments of a /queryChanges (RFC 8620 §5.6).
type queryChangesArgs struct {
	AccountID       string          `json:"accountId"`
	Filter          json.RawMessage `json:"filter"`
	Sort            []comparator    `json:"sort"`
	SinceQueryState string          `json:"sinceQueryState"`
	MaxChanges      *int            `json:"maxChanges"`
	UpToID          *string         `json:"upToId"`
	CalculateTotal  bool            `json:"calculateTotal"`
}

type addedItem struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

type queryChangesResponse struct {
	AccountID     string      `json:"accountId"`
	OldQueryState string      `json:"oldQueryState"`
	NewQueryState string      `json:"newQueryState"`
	Total         *int        `json:"total,omitempty"`
	Removed       []string    `json:"removed"`
	Added         []addedItem `json:"added"`
}

// queryChanges answers a /queryChanges of calendar events or contact
// cards. Their filters and sorts depend on each object alone, so the
// changes of a query follow from the journal: every object created,
// changed or destroyed since the old state is removed, and added back at
// its index if it matches now (RFC 8620 §5.6 allows reporting an id
// removed that was not in the old results). upToId is ignored: the
// sorts are on mutable properties.
func (c *call) queryChanges(a *queryChangesArgs, kind byte, want func(store.FolderType) bool,
	run func() ([]string, *store.Store, error)) (any, error) {
	if a.MaxChanges != nil && *a.MaxChanges <= 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "maxChanges must be positive")
	}
	since, ok := jmap.ParseState(a.SinceQueryState)
	if !ok {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "unknown query state %q", a.SinceQueryState)
	}
	ids, st, err := run()
	if err != nil {
		return nil, err
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	created, updated, destroyed, _, more, err := c.journalDiff(st, since, 5000, func(ch store.Change) (string, store.ChangeKind) {
		t, ok := types[ch.FolderID]
		if !ok || !want(t) || ch.ItemID == 0 || ch.Name == "" {
			return "", ""
		}
		return objectID(kind, ch.FolderID, ch.Name), ch.Kind
	})
	if err != nil {
		return nil, err
	}
	if more {
		return nil, jmap.Errorf(jmap.ErrCannotCalculateChanges, "too many changes since %s", a.SinceQueryState)
	}
	changed := map[string]bool{}
	res := queryChangesResponse{AccountID: a.AccountID, OldQueryState: a.SinceQueryState,
		NewQueryState: jmap.FormatState(st.ModSeq), Removed: []string{}, Added: []addedItem{}}
	for _, l := range [][]string{created, updated, destroyed} {
		for _, id := range l {
			changed[id] = true
			res.Removed = append(res.Removed, id)
		}
	}
	for i, id := range ids {
		if changed[id] {
			res.Added = append(res.Added, addedItem{ID: id, Index: i})
		}
	}
	if a.MaxChanges != nil && len(res.Removed)+len(res.Added) > *a.MaxChanges {
		return nil, jmap.Errorf(jmap.ErrTooManyChanges, "more than %d changes", *a.MaxChanges)
	}
	if a.CalculateTotal {
		n := len(ids)
		res.Total = &n
	}
	return res, nil
}
