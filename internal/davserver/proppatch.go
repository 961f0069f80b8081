package davserver

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// propUpdate is one set or remove of a PROPPATCH, MKCOL or MKCALENDAR.
type propUpdate struct {
	name  propName
	value *string // nil: remove
	node  *node
	lang  string // xml:lang of the property element, kept with the value
}

func parseUpdates(root *node) []propUpdate {
	var ups []propUpdate
	for _, op := range root.Children {
		set := op.is(nsDAV, "set")
		if !set && !op.is(nsDAV, "remove") {
			continue
		}
		for _, prop := range op.Children {
			if !prop.is(nsDAV, "prop") {
				continue
			}
			for _, p := range prop.Children {
				u := propUpdate{name: p.Name, node: p}
				if set {
					v := encodeInner(p)
					u.value = &v
					u.lang = xmlLang(p)
				}
				ups = append(ups, u)
			}
		}
	}
	return ups
}

func (s *Server) proppatch(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	root, err := parseXML(r.Body, s.o.MaxXMLBytes)
	if err != nil {
		return err
	}
	if root == nil || !root.is(nsDAV, "propertyupdate") {
		return errStatus(http.StatusBadRequest, "expected DAV:propertyupdate")
	}
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if !res.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	t := s.targetOf(res)
	ups := parseUpdates(root)
	ps, err := s.applyUpdates(ctx, res, ups, false)
	if err != nil {
		return err
	}
	ms := newMultistatus(r)
	ms.response(t.href, ps)
	writeMultistatus(w, ms)
	return nil
}

// applyUpdates sets and removes properties all or nothing (RFC 4918
// §9.2) and returns the propstats to report. creating allows the
// properties only MKCALENDAR/extended MKCOL may set.
func (s *Server) applyUpdates(ctx context.Context, res *resource, ups []propUpdate, creating bool) ([]propstat, error) {
	var forbidden, invalid, okNames []string
	set := map[string]*string{}
	for _, u := range ups {
		key, lkey := "", ""
		switch {
		case res.kind == resFolder:
			key, lkey = propKey(u.name), langPropKey(u.name)
		case res.kind == resObject:
			key, lkey = itemPropKey(res.item.Name, u.name), itemLangPropKey(res.item.Name, u.name)
		}
		prot := protected[u.name] || (!creating && u.name == pSupCompSet)
		if key == "" || prot || len(key) > store.MaxPropKey || u.value != nil && len(*u.value) > store.MaxPropValue {
			forbidden = append(forbidden, elem(u.name, ""))
			continue
		}
		if u.name == pCalTimezone && u.value != nil && !validTimezone(u.node.Text) {
			// RFC 4791 §5.2.2: one VTIMEZONE, nothing else.
			invalid = append(invalid, elem(u.name, ""))
			continue
		}
		if u.name == pSupCompSet && u.value != nil {
			var comps []string
			for _, c := range u.node.Children {
				if c.is(nsCalDAV, "comp") {
					comps = append(comps, strings.ToUpper(c.attr("name")))
				}
			}
			if len(comps) == 0 {
				forbidden = append(forbidden, elem(u.name, ""))
				continue
			}
			v := strings.Join(comps, ",")
			set[keyComponents] = &v
		}
		set[key] = u.value
		if len(lkey) <= store.MaxPropKey && len(u.lang) <= 64 {
			// RFC 4918 §4.3: xml:lang of a dead property is preserved.
			if u.lang != "" {
				set[lkey] = &u.lang
			} else {
				set[lkey] = nil
			}
		}
		okNames = append(okNames, elem(u.name, ""))
	}
	if len(forbidden) > 0 || len(invalid) > 0 {
		var ps []propstat
		if len(forbidden) > 0 {
			ps = append(ps, propstat{status: http.StatusForbidden, props: forbidden, err: "<D:cannot-modify-protected-property/>"})
		}
		if len(invalid) > 0 {
			ps = append(ps, propstat{status: http.StatusForbidden, props: invalid, err: "<C:valid-calendar-data/>"})
		}
		if len(okNames) > 0 {
			ps = append(ps, propstat{status: http.StatusFailedDependency, props: okNames})
		}
		return ps, nil
	}
	if len(set) > 0 {
		if err := s.o.Store.SetFolderProps(ctx, res.folder.ID, set); err != nil {
			if errors.Is(err, store.ErrPermission) || errors.Is(err, store.ErrInvalid) {
				st := http.StatusForbidden
				if errors.Is(err, store.ErrInvalid) {
					st = http.StatusInsufficientStorage
				}
				return []propstat{{status: st, props: okNames}}, nil
			}
			return nil, err
		}
	}
	return []propstat{{status: http.StatusOK, props: okNames}}, nil
}

// dropItemProps removes the dead properties of a deleted resource.
func (s *Server) dropItemProps(ctx context.Context, folderID int64, name string) {
	m, err := s.o.Store.FolderProps(ctx, folderID)
	if err != nil {
		return
	}
	pfx := itemPropPfx + name + "/"
	del := map[string]*string{}
	for k := range m {
		if strings.HasPrefix(k, pfx) {
			del[k] = nil
		}
	}
	if len(del) > 0 {
		if err := s.o.Store.SetFolderProps(ctx, folderID, del); err != nil {
			s.log.Warn("dropping resource properties", "folder", folderID, "name", name, "err", err)
		}
	}
}

// itemProps returns the dead properties of a resource, keyed by their
// name part ("{ns}local").
func (s *Server) itemProps(ctx context.Context, folderID int64, name string) map[string]string {
	m, err := s.o.Store.FolderProps(ctx, folderID)
	if err != nil {
		return nil
	}
	pfx := itemPropPfx + name + "/"
	out := map[string]string{}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, pfx); ok {
			out[rest] = v
		}
	}
	return out
}

func (s *Server) mkcol(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	cal := r.Method == "MKCALENDAR"
	switch {
	case res.exists && cal:
		// RFC 4791 §5.3.1.1: a precondition (403), where MKCOL answers
		// 405 (RFC 4918 §9.3.1).
		return precondition(http.StatusForbidden, "<D:resource-must-be-null/>", "already exists")
	case res.exists:
		return errStatus(http.StatusMethodNotAllowed, "already exists")
	case res.parentMissing:
		return errStatus(http.StatusConflict, "parent collection does not exist")
	case res.kind != resFolder && res.kind != resObject:
		return errStatus(http.StatusForbidden, "cannot create a collection here")
	}
	var root *node
	body, err := io.ReadAll(io.LimitReader(r.Body, s.o.MaxXMLBytes+1))
	if err != nil {
		return errStatus(http.StatusBadRequest, "reading body")
	}
	if int64(len(body)) > s.o.MaxXMLBytes {
		return errTooLarge
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "" && mt != "application/xml" && mt != "text/xml" {
			return errStatus(http.StatusUnsupportedMediaType, "MKCOL body must be XML")
		}
		if root, err = parseXMLBytes(body); err != nil {
			if !cal && mt == "" {
				return errStatus(http.StatusUnsupportedMediaType, "MKCOL body must be XML")
			}
			return err
		}
		want := "mkcol"
		ns := nsDAV
		if cal {
			want, ns = "mkcalendar", nsCalDAV
		}
		if !root.is(ns, want) {
			return errStatus(http.StatusUnsupportedMediaType, "unexpected body element")
		}
	}
	var ups []propUpdate
	if root != nil {
		ups = parseUpdates(root)
	}
	// The folder type: from MKCALENDAR, or the resourcetype of an
	// extended MKCOL (RFC 5689), or the home.
	typ := store.FolderNotes
	if res.space == spaceCard && res.kind == resFolder {
		typ = store.FolderContacts
	}
	if cal {
		typ = store.FolderCalendar
	}
	var keep []propUpdate
	for _, u := range ups {
		if u.name == pResourceType {
			switch {
			case u.node.child(nsCalDAV, "calendar") != nil:
				typ = store.FolderCalendar
			case u.node.child(nsCardDAV, "addressbook") != nil:
				typ = store.FolderContacts
			case len(u.node.Children) == 1 && u.node.child(nsDAV, "collection") != nil:
			default:
				return precondition(http.StatusForbidden, "<D:valid-resourcetype/>", "unsupported resource type")
			}
			continue
		}
		if u.name == pCalTimezone && u.value != nil && !validTimezone(u.node.Text) {
			// RFC 4791 §5.3.1.1 precondition: one VTIMEZONE.
			return precondition(http.StatusForbidden, "<C:valid-calendar-data/>", "calendar-timezone must hold one VTIMEZONE")
		}
		if u.name == pSupCompSet && u.value != nil {
			var comps []string
			for _, c := range u.node.Children {
				if c.is(nsCalDAV, "comp") {
					comps = append(comps, strings.ToUpper(c.attr("name")))
				}
			}
			if len(comps) == 1 && comps[0] == "VTODO" {
				typ = store.FolderTasks
			}
		}
		keep = append(keep, u)
	}
	if (typ == store.FolderCalendar || typ == store.FolderTasks) && res.kind == resObject {
		// RFC 4791 §4.2 b: no calendar collection inside a calendar
		// collection, at any depth.
		in, err := s.insideCalendar(ctx, res)
		if err != nil {
			return err
		}
		if in {
			return precondition(http.StatusForbidden, "<C:calendar-collection-location-ok/>", "calendar inside a calendar")
		}
	}
	if (typ == store.FolderCalendar || typ == store.FolderTasks) && res.space == spaceCard ||
		typ == store.FolderContacts && res.space == spaceCal && res.kind == resFolder {
		return precondition(http.StatusForbidden, "<D:valid-resourcetype/>", "wrong home for this collection type")
	}
	name := res.name
	if strings.HasPrefix(name, "~") || res.kind == resFolder && res.space == spaceCal && (name == "inbox" || name == "outbox") {
		return errStatus(http.StatusForbidden, "reserved name")
	}
	storeID, parentID := res.st.ID, int64(0)
	if res.kind == resObject {
		storeID, parentID = res.folder.StoreID, res.folder.ID
	}
	f, err := s.o.Store.CreateFolder(ctx, storeID, parentID, name, typ)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errStatus(http.StatusMethodNotAllowed, "already exists")
		}
		if errors.Is(err, store.ErrInvalid) {
			return errStatus(http.StatusForbidden, "invalid collection name")
		}
		return err
	}
	if len(keep) > 0 {
		nres := *res
		nres.kind, nres.folder, nres.exists = resFolder, f, true
		ps, err := s.applyUpdates(ctx, &nres, keep, true)
		if err != nil || len(ps) == 0 || ps[0].status != http.StatusOK {
			// RFC 5689 §3: all or nothing.
			_ = s.o.Store.DeleteFolder(ctx, f.ID)
			if err != nil {
				return err
			}
			return precondition(http.StatusForbidden, "<D:cannot-modify-protected-property/>", "cannot set properties")
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// insideCalendar reports whether the collection res would create (in
// res.folder) lies inside a calendar collection at any depth.
func (s *Server) insideCalendar(ctx context.Context, res *resource) (bool, error) {
	fs, err := s.loadFolders(ctx, res, res.folder.StoreID)
	if err != nil {
		return false, err
	}
	cur := res.folder
	for range 64 {
		if isCalendar(cur) {
			return true, nil
		}
		if cur.ParentID == 0 {
			return false, nil
		}
		var parent *store.Folder
		for _, g := range fs {
			if g.ID == cur.ParentID {
				parent = g
				break
			}
		}
		if parent == nil {
			return false, nil
		}
		cur = parent
	}
	return false, nil
}
