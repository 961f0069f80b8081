package adminapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// Import and export of a user's calendars and address books
// (`roost admin calendar|contacts import|export`, kopano-ical style):
//
//	POST /v1/users/{login}/calendars/{folder}/import   body text/calendar
//	GET  /v1/users/{login}/calendars/{folder}/export
//	POST /v1/users/{login}/contacts/{folder}/import    body text/vcard
//	GET  /v1/users/{login}/contacts/{folder}/export
//
// {folder} is a folder path in the user's store ("Calendar",
// "Projects/Deadlines") or a role: "calendar", "tasks" or "contacts" name
// the user's special folder whatever its localised name. Import creates a
// missing folder with the right type (a role falls back to a folder of
// that name before creating one). Objects are stored one resource per UID
// through groupware.ImportCalendar/ImportContacts: an object whose UID is
// already in the folder replaces it, so importing a file twice does not
// duplicate. A calendar folder takes only the components the CalDAV
// server advertises for it (the default calendar events, the tasks folder
// tasks); the others are skipped and listed in the reply. The whole file
// is parsed and validated before anything is stored; a store failure part-way (quota) leaves what was stored and the
// error says how many objects that was.

// maxImportBytes caps an import body even when the maximum message size
// is larger: the file is held in memory and parsed whole.
const maxImportBytes = 64 << 20

// ImportResult is the reply to an import.
type ImportResult struct {
	User     string `json:"user"`
	Folder   string `json:"folder"` // the folder's name
	FolderID int64  `json:"folder_id"`
	Created  bool   `json:"created"` // the import created the folder
	Events   int    `json:"events"`
	Tasks    int    `json:"tasks"`
	Journals int    `json:"journals"`
	Contacts int    `json:"contacts"`
	// Skipped lists the objects the folder does not take (events for
	// the tasks folder, tasks for the default calendar).
	Skipped []SkippedObject `json:"skipped,omitempty"`
}

// SkippedObject is an object an import left out.
type SkippedObject struct {
	UID  string `json:"uid"`
	Kind string `json:"kind"` // VEVENT, VTODO, VJOURNAL
}

// Export replies carry the counts in these header fields, since the body
// is the file itself.
const (
	HeaderFolder   = "Roost-Folder"
	HeaderEvents   = "Roost-Events"
	HeaderTasks    = "Roost-Tasks"
	HeaderJournals = "Roost-Journals"
	HeaderContacts = "Roost-Contacts"
)

// collection says which kind of folder an endpoint works on.
type collection struct {
	what  string // "a calendar" or "an address book", for messages
	types []store.FolderType
	// roles are the special folders the endpoint accepts by name, with
	// the type a missing one is created with and its default name.
	roles map[string]roleFolder
	def   store.FolderType // type of a missing folder named by path
}

type roleFolder struct {
	typ  store.FolderType
	name string
}

var (
	calendars = collection{what: "a calendar", types: []store.FolderType{store.FolderCalendar, store.FolderTasks},
		roles: map[string]roleFolder{
			store.SpecialCalendar: {store.FolderCalendar, "Calendar"},
			store.SpecialTasks:    {store.FolderTasks, "Tasks"},
		}, def: store.FolderCalendar}
	addressBooks = collection{what: "an address book", types: []store.FolderType{store.FolderContacts},
		roles: map[string]roleFolder{store.SpecialContacts: {store.FolderContacts, "Contacts"}}, def: store.FolderContacts}
)

func (s *Server) importCalendar(w http.ResponseWriter, r *http.Request) error {
	return s.importObjects(w, r, calendars)
}

func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) error {
	return s.importObjects(w, r, addressBooks)
}

func (s *Server) exportCalendar(w http.ResponseWriter, r *http.Request) error {
	return s.exportObjects(w, r, calendars)
}

func (s *Server) exportContacts(w http.ResponseWriter, r *http.Request) error {
	return s.exportObjects(w, r, addressBooks)
}

func (s *Server) importLimit() int64 {
	return min(s.maxMessage(), maxImportBytes)
}

func (s *Server) importObjects(w http.ResponseWriter, r *http.Request, col collection) error {
	ctx := r.Context()
	login, name := r.PathValue("login"), r.PathValue("folder")
	limit := s.importLimit()
	if r.ContentLength > limit {
		return errorf(http.StatusRequestEntityTooLarge, "file of %d bytes is larger than the limit of %d bytes", r.ContentLength, limit)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "file larger than the limit of %d bytes", limit)
		}
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("empty file")
	}
	// Parse and validate everything before storing anything.
	res := ImportResult{User: login}
	var objs []*ical.Component
	total := 0
	if col.def == store.FolderContacts {
		cards, err := vcard.Decode(data, vcard.Limits{MaxBytes: maxImportBytes, MaxCards: 1 << 20, MaxLines: 1 << 24})
		if err != nil {
			return badRequest("not a vCard file: %v", err)
		}
		res.Contacts, total = len(cards), len(cards)
	} else {
		objs, err = groupware.SplitCalendar(data)
		if err != nil {
			return badRequest("not an iCalendar file: %v", err)
		}
		for _, obj := range objs {
			if err := groupware.ValidateCalendar(obj); err != nil {
				return badRequest("%s: %v", objectName(obj), err)
			}
			if _, err := groupware.IndexCalendar(obj, (*ical.ZoneCache)(nil).Zones(obj)); err != nil {
				return badRequest("%s: %v", objectName(obj), err)
			}
		}
		total = len(objs)
	}
	if total == 0 {
		return badRequest("the file holds no %s", map[bool]string{true: "vCard", false: "event, task or journal"}[col.def == store.FolderContacts])
	}
	loc, err := s.lookupFolder(r, login, name, col)
	if err != nil {
		return err
	}
	if col.def != store.FolderContacts {
		// A folder takes only the components it advertises to CalDAV
		// clients (supported-calendar-component-set, RFC 4791 §5.2.3):
		// the default calendar events, the tasks folder tasks. The rest
		// is skipped and reported, to be imported into the other folder.
		comps, err := s.folderComponents(r, loc)
		if err != nil {
			return err
		}
		var keep []*ical.Component
		for _, obj := range objs {
			k := objectKind(obj)
			if !slices.Contains(comps, k) {
				res.Skipped = append(res.Skipped, SkippedObject{UID: objectUID(obj), Kind: k})
				continue
			}
			keep = append(keep, obj)
			switch k {
			case ical.VEvent:
				res.Events++
			case ical.VTodo:
				res.Tasks++
			case ical.VJournal:
				res.Journals++
			}
		}
		if len(keep) == 0 {
			return badRequest("folder %s of %s holds only %s: nothing in the file to import there", loc.displayName(), login, strings.Join(comps, ", "))
		}
		var buf bytes.Buffer
		for _, obj := range keep {
			if err := ical.Encode(&buf, obj); err != nil {
				return fmt.Errorf("re-encode %s: %w", objectName(obj), err)
			}
		}
		data, total = buf.Bytes(), len(keep)
	}
	f, err := s.createFolder(r, loc)
	if err != nil {
		return err
	}
	res.Folder, res.FolderID, res.Created = f.Name, f.ID, loc.f == nil
	var n int
	if col.def == store.FolderContacts {
		n, err = groupware.ImportContacts(ctx, s.b, f.ID, data)
	} else {
		n, err = groupware.ImportCalendar(ctx, s.b, f.ID, data, nil)
	}
	if err != nil {
		return fmt.Errorf("import into %s of %s stopped after %d of %d objects: %w", f.Name, login, n, total, err)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) exportObjects(w http.ResponseWriter, r *http.Request, col collection) error {
	ctx := r.Context()
	login, name := r.PathValue("login"), r.PathValue("folder")
	loc, err := s.lookupFolder(r, login, name, col)
	if err != nil {
		return err
	}
	if loc.f == nil {
		return fmt.Errorf("folder %q of %s: %w", name, login, store.ErrNotFound)
	}
	f := loc.f
	// Buffered, so that a failure half-way is an error reply and not a
	// truncated file.
	var buf bytes.Buffer
	ctype := "text/calendar; charset=utf-8"
	if col.def == store.FolderContacts {
		ctype = "text/vcard; charset=utf-8"
		err = groupware.ExportContacts(ctx, s.b, f, &buf)
	} else {
		err = groupware.ExportCalendar(ctx, s.b, f, &buf)
	}
	if err != nil {
		return fmt.Errorf("export %s of %s: %w", f.Name, login, err)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderFolder, f.Name)
	if col.def == store.FolderContacts {
		cards, err := vcard.Decode(buf.Bytes(), vcard.Limits{MaxBytes: 1 << 40, MaxCards: 1 << 30, MaxLines: 1 << 40})
		if err != nil && buf.Len() > 0 {
			return fmt.Errorf("export %s of %s: re-reading the export: %w", f.Name, login, err)
		}
		h.Set(HeaderContacts, strconv.Itoa(len(cards)))
	} else {
		objs, err := groupware.SplitCalendar(buf.Bytes())
		if err != nil {
			return fmt.Errorf("export %s of %s: re-reading the export: %w", f.Name, login, err)
		}
		var ev, td, jo int
		for _, obj := range objs {
			switch objectKind(obj) {
			case ical.VEvent:
				ev++
			case ical.VTodo:
				td++
			case ical.VJournal:
				jo++
			}
		}
		h.Set(HeaderEvents, strconv.Itoa(ev))
		h.Set(HeaderTasks, strconv.Itoa(td))
		h.Set(HeaderJournals, strconv.Itoa(jo))
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, err = buf.WriteTo(w)
	if err != nil {
		s.log.Warn("export: client went away", "user", login, "folder", f.Name, "err", err)
	}
	return nil
}

// objectKind is the component name of a calendar object resource.
func objectKind(obj *ical.Component) string {
	for _, c := range obj.Children {
		switch c.Name {
		case ical.VEvent, ical.VTodo, ical.VJournal:
			return c.Name
		}
	}
	return ""
}

func objectUID(obj *ical.Component) string {
	for _, c := range obj.Children {
		if uid := c.UID(); uid != "" {
			return uid
		}
	}
	return ""
}

func objectName(obj *ical.Component) string {
	for _, c := range obj.Children {
		if uid := c.UID(); uid != "" {
			return fmt.Sprintf("%s %q", c.Name, uid)
		}
	}
	return "object"
}

// folderLoc is a folder found by lookupFolder, or where a missing one
// would be created.
type folderLoc struct {
	f       *store.Folder // nil: missing
	storeID int64
	parent  int64            // for a missing folder
	leaf    string           // its name
	typ     store.FolderType // its type
}

func (l folderLoc) displayName() string {
	if l.f != nil {
		return l.f.Name
	}
	return l.leaf
}

// lookupFolder finds the folder named by a path or role in the user's
// store and checks that it holds what col holds. A missing folder is
// not an error: loc.f is nil and loc says where to create it.
func (s *Server) lookupFolder(r *http.Request, login, name string, col collection) (folderLoc, error) {
	ctx := r.Context()
	if strings.TrimSpace(name) == "" {
		return folderLoc{}, badRequest("folder name missing")
	}
	st, err := s.b.UserStore(ctx, login)
	if err != nil {
		return folderLoc{}, err
	}
	fs, err := s.b.ListFolders(ctx, st.ID)
	if err != nil {
		return folderLoc{}, err
	}
	var live []*store.Folder
	for _, f := range fs {
		if !f.Deleted {
			live = append(live, f)
		}
	}
	path, typ := name, col.def
	if role, ok := col.roles[name]; ok {
		for _, f := range live {
			if f.Special == name {
				return folderLoc{f: f, storeID: st.ID}, nil
			}
		}
		// No folder has the role (a store made elsewhere): use or make
		// one of the default name.
		path, typ = role.name, role.typ
	}
	f, parent, err := findPath(live, path)
	if err != nil {
		return folderLoc{}, err
	}
	if f != nil && !slices.Contains(col.types, f.Type) {
		return folderLoc{}, badRequest("folder %q of %s is a %s folder, not %s", path, login, f.Type, col.what)
	}
	return folderLoc{f: f, storeID: st.ID, parent: parent, leaf: path[strings.LastIndex(path, "/")+1:], typ: typ}, nil
}

// createFolder returns the folder of loc, creating it if it is missing.
func (s *Server) createFolder(r *http.Request, loc folderLoc) (*store.Folder, error) {
	if loc.f != nil {
		return loc.f, nil
	}
	return s.b.CreateFolder(r.Context(), loc.storeID, loc.parent, loc.leaf, loc.typ)
}

// davComponents is the folder property in which the CalDAV server keeps
// a calendar's supported-calendar-component-set (internal/davserver
// keyComponents), as a comma-separated list.
const davComponents = "roost/components"

// folderComponents lists the components a calendar folder takes, as the
// CalDAV server advertises them: the property if set, else VTODO for a
// tasks folder, VEVENT for the default calendar and all three otherwise.
func (s *Server) folderComponents(r *http.Request, loc folderLoc) ([]string, error) {
	if loc.f == nil {
		if loc.typ == store.FolderTasks {
			return []string{ical.VTodo}, nil
		}
		return []string{ical.VEvent, ical.VTodo, ical.VJournal}, nil
	}
	props, err := s.b.FolderProps(r.Context(), loc.f.ID)
	if err != nil {
		return nil, err
	}
	if v := props[davComponents]; v != "" {
		return strings.Split(v, ","), nil
	}
	switch {
	case loc.f.Type == store.FolderTasks:
		return []string{ical.VTodo}, nil
	case loc.f.Special == store.SpecialCalendar:
		return []string{ical.VEvent}, nil
	}
	return []string{ical.VEvent, ical.VTodo, ical.VJournal}, nil
}

// findPath looks up "A/B/C" by names from the top of the folder tree. It
// returns the folder, or nil and the ID of the parent a missing last
// component would go under; a missing parent is ErrNotFound.
func findPath(fs []*store.Folder, path string) (*store.Folder, int64, error) {
	parts := strings.Split(path, "/")
	var parent int64
	for i, p := range parts {
		if p == "" {
			return nil, 0, badRequest("folder %q: empty name between slashes", path)
		}
		var found *store.Folder
		for _, f := range fs {
			if f.ParentID == parent && f.Name == p {
				found = f
				break
			}
		}
		if found == nil {
			if i < len(parts)-1 {
				return nil, 0, fmt.Errorf("folder %q: %w", strings.Join(parts[:i+1], "/"), store.ErrNotFound)
			}
			return nil, parent, nil
		}
		if i == len(parts)-1 {
			return found, parent, nil
		}
		parent = found.ID
	}
	return nil, parent, errors.New("unreachable")
}
