package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// The JMAP for Calendars (IETF draft) and JMAP for Contacts (RFC 9610)
// methods, capabilities and push types: they join the dispatch table
// (api.go) where it is built.
var groupwareMethods = map[string]method{
	"Calendar/get":               {CapCalendars, calendarGet},
	"Calendar/changes":           {CapCalendars, calendarChanges},
	"Calendar/set":               {CapCalendars, calendarSet},
	"CalendarEvent/get":          {CapCalendars, calendarEventGet},
	"CalendarEvent/changes":      {CapCalendars, calendarEventChanges},
	"CalendarEvent/query":        {CapCalendars, calendarEventQuery},
	"CalendarEvent/queryChanges": {CapCalendars, calendarEventQueryChanges},
	"CalendarEvent/set":          {CapCalendars, calendarEventSet},
	"ParticipantIdentity/get":    {CapCalendars, participantIdentityGet},
	"Principal/getAvailability":  {CapCalendars, principalGetAvailability},
	"AddressBook/get":            {CapContacts, addressBookGet},
	"AddressBook/changes":        {CapContacts, addressBookChanges},
	"AddressBook/set":            {CapContacts, addressBookSet},
	"ContactCard/get":            {CapContacts, contactCardGet},
	"ContactCard/changes":        {CapContacts, contactCardChanges},
	"ContactCard/query":          {CapContacts, contactCardQuery},
	"ContactCard/queryChanges":   {CapContacts, contactCardQueryChanges},
	"ContactCard/set":            {CapContacts, contactCardSet},
}

var groupwareCaps = []string{CapCalendars, CapContacts}

var groupwarePushTypes = []string{"Calendar", "CalendarEvent", "AddressBook", "ContactCard", "TaskList", "Task"}

// groupwareCapabilities adds the calendars and contacts capabilities to
// the session resource.
func (s *Server) groupwareCapabilities(caps, accountCaps map[string]any, primary map[string]string, acct string) {
	caps[CapCalendars] = map[string]any{}
	caps[CapContacts] = map[string]any{}
	accountCaps[CapCalendars] = map[string]any{
		"maxCalendarsPerEvent":     1, // an event is an object of one calendar folder
		"minDateTime":              "1900-01-01T00:00:00Z",
		"maxDateTime":              "2200-01-01T00:00:00Z",
		"maxExpandedQueryDuration": "P400D",
		"maxParticipantsPerEvent":  nil,
		"mayCreateCalendar":        true,
	}
	accountCaps[CapContacts] = map[string]any{
		"maxAddressBooksPerCard": 1,
		"mayCreateAddressBook":   true,
	}
	primary[CapCalendars] = acct
	caps[CapTasks] = map[string]any{}
	accountCaps[CapTasks] = tasksAccountCapability(true)
	primary[CapTasks] = acct
	primary[CapContacts] = acct
}

var calendarProperties = []string{"id", "name", "description", "color", "sortOrder", "isSubscribed", "isVisible", "isDefault",
	"includeInAvailability", "defaultAlertsWithTime", "defaultAlertsWithoutTime", "timeZone", "shareWith", "myRights"}

func (c *call) calendarObject(f *store.Folder, props []string) (map[string]any, error) {
	o := map[string]any{"id": jmap.FormatID('C', f.ID)}
	var fp map[string]string
	var rights string
	for _, p := range props {
		switch p {
		case "description", "color", "sortOrder":
			if fp == nil {
				m, err := c.s.o.Store.FolderProps(c.ctx, f.ID)
				if err != nil {
					return nil, fmt.Errorf("properties of folder %d: %w", f.ID, err)
				}
				fp = m
				if fp == nil {
					fp = map[string]string{}
				}
			}
		case "myRights":
			r, err := c.s.o.Store.MyRights(c.ctx, f.ID)
			if err != nil {
				return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
			}
			rights = r
		}
	}
	for _, p := range props {
		switch p {
		case "name":
			o[p] = f.Name
		case "description":
			if v := fromXMLText(fp[propCalDesc]); v != "" {
				o[p] = v
			} else {
				o[p] = nil
			}
		case "color":
			if v := fromXMLText(fp[propCalColor]); v != "" {
				o[p] = v
			} else {
				o[p] = nil
			}
		case "sortOrder":
			n, _ := strconv.Atoi(fromXMLText(fp[propOrder]))
			o[p] = n
		case "isSubscribed":
			o[p] = true // a user's own calendars; shared ones are not accounts yet
		case "isVisible":
			o[p] = true
		case "isDefault":
			o[p] = f.Special == store.SpecialCalendar // one per account; TaskList/get marks the tasks folder
		case "includeInAvailability":
			o[p] = "all"
		case "defaultAlertsWithTime", "defaultAlertsWithoutTime", "timeZone":
			o[p] = nil
		case "shareWith":
			v, err := c.shareWithOf(f, shareCalendar)
			if err != nil {
				return nil, err
			}
			o[p] = v
		case "myRights":
			has := rightsOf(rights)
			o[p] = map[string]bool{
				"mayReadFreeBusy":  has("l"),
				"mayReadItems":     has("lr"),
				"mayWriteAll":      has("itew"),
				"mayWriteOwn":      has("itew"),
				"mayUpdatePrivate": has("w"),
				"mayRSVP":          has("w"),
				"mayShare":         has("a"),
				"mayDelete":        has("x") && f.Special == "",
			}
		}
	}
	return o, nil
}

// folderGet is /get of calendars or address books.
func (c *call) folderGet(raw json.RawMessage, coll *collection, known []string,
	object func(*store.Folder, []string) (map[string]any, error)) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, known); err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	folders, err := c.foldersOf(st, coll.is)
	if err != nil {
		return nil, err
	}
	props := known
	if a.Properties != nil {
		props = *a.Properties
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	want := folders
	if a.IDs != nil {
		want = nil
		for _, id := range *a.IDs {
			i := slices.IndexFunc(folders, func(f *store.Folder) bool { return jmap.FormatID(coll.kind, f.ID) == id })
			if i < 0 {
				res.NotFound = append(res.NotFound, id)
				continue
			}
			want = append(want, folders[i])
		}
	}
	for _, f := range want {
		o, err := object(f, props)
		if err != nil {
			return nil, err
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

func calendarGet(c *call, raw json.RawMessage) (any, error) {
	return c.folderGet(raw, &calendarCollection, calendarProperties, c.calendarObject)
}

func calendarChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, true, 'C', func(t store.FolderType) bool {
		return t == store.FolderCalendar || t == store.FolderTasks
	})
}

// groupwareSetArgs are the arguments of Calendar/set, AddressBook/set,
// CalendarEvent/set and ContactCard/set.
type groupwareSetArgs struct {
	AccountID string                     `json:"accountId"`
	IfInState *string                    `json:"ifInState"`
	Create    map[string]json.RawMessage `json:"create"`
	Update    map[string]map[string]any  `json:"update"`
	Destroy   []string                   `json:"destroy"`
	// Calendar/set, AddressBook/set
	OnDestroyRemoveEvents   bool `json:"onDestroyRemoveEvents"`
	OnDestroyRemoveContents bool `json:"onDestroyRemoveContents"`
	OnDestroyRemoveTasks    bool `json:"onDestroyRemoveTasks"` // TaskList/set
	// CalendarEvent/set: send iTIP to the participants (the draft's
	// default is false).
	SendSchedulingMessages bool `json:"sendSchedulingMessages"`
}

func (g *groupwareSetArgs) core() *setArgs {
	return &setArgs{AccountID: g.AccountID, IfInState: g.IfInState, Create: g.Create, Update: g.Update, Destroy: g.Destroy}
}

// collection is what folderGet and folderSet need to know of a kind of
// groupware folder: calendars, task lists or address books.
type collection struct {
	kind        byte // id prefix
	typ         store.FolderType
	is          func(*store.Folder) bool
	descKey     string // the DAV property holding the description
	color       bool   // has a color
	share       shareKind
	hasContents string // SetError type of destroying a non-empty one
	role        bool   // has the server-set role property (task lists)
}

var (
	calendarCollection = collection{kind: 'C', typ: store.FolderCalendar, is: isCalendarFolder, descKey: propCalDesc,
		color: true, share: shareCalendar, hasContents: "calendarHasEvent"}
	addressBookCollection = collection{kind: 'B', typ: store.FolderContacts, is: isAddressBookFolder, descKey: propAbDesc,
		share: shareAddressBook, hasContents: "addressBookHasContents"}
)

// folderSet is /set of calendars, task lists or address books: create,
// rename, description/color, destroy (with or without its contents).
func (c *call) folderSet(raw json.RawMessage, coll *collection,
	object func(*store.Folder, []string) (map[string]any, error)) (any, error) {
	kind := coll.kind
	var ga groupwareSetArgs
	if err := parseArgs(raw, &ga); err != nil {
		return nil, err
	}
	a := ga.core()
	st, res, err := c.beginSet(a)
	if err != nil {
		return nil, err
	}
	typ, descKey, isKind := coll.typ, coll.descKey, coll.is
	// apply sets the writable properties of a folder.
	apply := func(f *store.Folder, m map[string]any) (*store.Folder, error) {
		props := map[string]*string{}
		for _, k := range sortedKeys(m) {
			v := m[k]
			if isShareWithKey(k) {
				if err := c.setShareWith(f, coll.share, k, v); err != nil {
					return nil, err
				}
				continue
			}
			switch k {
			case "name":
				name, ok := v.(string)
				if !ok || name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
					return nil, invalidProps("name must be a non-empty string without /", "name")
				}
				if name != f.Name {
					nf, err := c.s.o.Store.RenameFolder(c.ctx, f.ID, f.ParentID, name)
					if err != nil {
						return nil, err
					}
					f = nf
				}
			case "description", "color":
				key := descKey
				if k == "color" {
					if !coll.color {
						return nil, invalidProps("unknown property", k)
					}
					key = propCalColor
				}
				switch s := v.(type) {
				case nil:
					props[key] = nil
				case string:
					if len(s) > 4096 {
						return nil, invalidProps("too long", k)
					}
					x := xmlText(s)
					props[key] = &x
				default:
					return nil, invalidProps("not a string", k)
				}
			case "sortOrder":
				n, ok := v.(float64)
				if !ok || n < 0 || n != float64(int64(n)) || n > 1e9 {
					return nil, invalidProps("not an unsigned integer", k)
				}
				x := strconv.FormatInt(int64(n), 10)
				props[propOrder] = &x
			case "isSubscribed", "isVisible":
				if v != true {
					return nil, invalidProps("a user's own collections are always subscribed and visible", k)
				}
			case "role":
				if !coll.role {
					return nil, invalidProps("unknown property", k)
				}
				if cur, err := object(f, []string{k}); err != nil {
					return nil, err
				} else if fmt.Sprint(cur[k]) != fmt.Sprint(v) {
					return nil, invalidProps("cannot be set", k)
				}
			case "id", "myRights", "isDefault", "includeInAvailability", "defaultAlertsWithTime",
				"defaultAlertsWithoutTime", "timeZone":
				// server-set or not kept: accepted when unchanged
				if cur, err := object(f, []string{k}); err != nil {
					return nil, err
				} else if fmt.Sprint(cur[k]) != fmt.Sprint(v) && !(k == "includeInAvailability" || k == "timeZone" ||
					strings.HasPrefix(k, "defaultAlerts")) {
					return nil, invalidProps("cannot be set", k)
				}
			default:
				return nil, invalidProps("unknown property", k)
			}
		}
		if len(props) > 0 {
			if err := c.s.o.Store.SetFolderProps(c.ctx, f.ID, props); err != nil {
				return nil, err
			}
		}
		return f, nil
	}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		var m map[string]any
		if err := json.Unmarshal(a.Create[k], &m); err != nil || m == nil {
			return invalidProps("not an object")
		}
		name, _ := m["name"].(string)
		if name == "" {
			return invalidProps("name is required", "name")
		}
		f, err := c.s.o.Store.CreateFolder(c.ctx, st.ID, 0, name, typ)
		if err != nil {
			return err
		}
		if _, err := apply(f, m); err != nil {
			_ = c.s.o.Store.DeleteFolder(c.ctx, f.ID)
			return err
		}
		id := jmap.FormatID(kind, f.ID)
		c.created[k] = id
		o, err := object(f, []string{"id", "isDefault", "myRights", "sortOrder"})
		if err != nil {
			return err
		}
		res.Created[k] = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	find := func(id string) (*store.Folder, error) {
		n, ok := jmap.ParseID(kind, id)
		if !ok {
			return nil, store.ErrNotFound
		}
		return c.folderOf(st, n, isKind)
	}
	err = c.updateDestroy(a, res, func(id string, patch map[string]any) error {
		f, err := find(id)
		if err != nil {
			return err
		}
		_, err = apply(f, patch)
		return err
	}, func(id string) error {
		f, err := find(id)
		if err != nil {
			return err
		}
		if f.Special != "" {
			return &jmap.SetError{Type: jmap.SetForbidden, Description: "the default collection cannot be destroyed"}
		}
		items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{})
		if err != nil {
			return fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
		if len(items) > 0 {
			if !ga.OnDestroyRemoveEvents && !ga.OnDestroyRemoveContents && !ga.OnDestroyRemoveTasks {
				return &jmap.SetError{Type: coll.hasContents}
			}
			// Delete the objects first, so that /changes of their type
			// reports them destroyed.
			uids := make([]uint32, len(items))
			for i, it := range items {
				uids[i] = it.UID
			}
			if _, err := c.s.o.Store.DeleteItems(c.ctx, f.ID, uids); err != nil {
				return err
			}
		}
		return c.s.o.Store.DeleteFolder(c.ctx, f.ID)
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

func calendarSet(c *call, raw json.RawMessage) (any, error) {
	return c.folderSet(raw, &calendarCollection, c.calendarObject)
}

// participantIdentityGet lists the user's calendar addresses (the
// scheduler's "mine": primary address and aliases).
func participantIdentityGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, []string{"id", "name", "sendTo"}); err != nil {
		return nil, err
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	u, err := c.s.o.Store.GetUser(store.SystemContext(c.ctx), c.p.Login)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", c.p.Login, err)
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	var all []map[string]any
	for _, addr := range append([]string{u.Email}, u.Aliases...) {
		if addr == "" {
			continue
		}
		all = append(all, map[string]any{"id": identityID(addr), "name": u.FullName,
			"sendTo": map[string]string{"imip": "mailto:" + addr}})
	}
	for _, o := range all {
		if a.IDs == nil || slices.Contains(*a.IDs, o["id"].(string)) {
			res.List = append(res.List, o)
		}
	}
	if a.IDs != nil {
		for _, id := range *a.IDs {
			if !slices.ContainsFunc(all, func(o map[string]any) bool { return o["id"] == id }) {
				res.NotFound = append(res.NotFound, id)
			}
		}
	}
	return res, nil
}
