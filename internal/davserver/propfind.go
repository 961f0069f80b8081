package davserver

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
)

// propRequest is what a PROPFIND (or REPORT) asks for.
type propRequest struct {
	allprop  bool
	propname bool
	names    []propName // prop, or allprop's include
	data     *node      // calendar-data / address-data request element
	// floating is the zone of floating times for expansion (RFC 4791
	// §9.6.5); nil means UTC.
	floating *time.Location
}

func parsePropRequest(root *node) (*propRequest, error) {
	if root == nil {
		return &propRequest{allprop: true}, nil
	}
	if !root.is(nsDAV, "propfind") {
		return nil, errStatus(http.StatusBadRequest, "expected DAV:propfind")
	}
	pr := &propRequest{}
	for _, c := range root.Children {
		switch {
		case c.is(nsDAV, "allprop"):
			pr.allprop = true
		case c.is(nsDAV, "propname"):
			pr.propname = true
		case c.is(nsDAV, "prop"):
			pr.addProps(c)
		case c.is(nsDAV, "include"):
			pr.addProps(c)
		}
	}
	if !pr.allprop && !pr.propname && len(pr.names) == 0 {
		return nil, errStatus(http.StatusBadRequest, "empty propfind")
	}
	// RFC 4918 §14.20: propfind holds exactly one of propname, allprop
	// (with an optional include) or prop.
	if pr.propname && (pr.allprop || len(pr.names) > 0) || pr.allprop && root.child(nsDAV, "prop") != nil {
		return nil, errStatus(http.StatusBadRequest, "propfind names more than one of allprop, propname and prop")
	}
	return pr, nil
}

func (pr *propRequest) addProps(prop *node) {
	for _, p := range prop.Children {
		if p.is(nsCalDAV, "calendar-data") || p.is(nsCardDAV, "address-data") {
			pr.data = p
		}
		if !containsName(pr.names, p.Name) {
			pr.names = append(pr.names, p.Name)
		}
	}
}

// depth reads the Depth header: 0, 1, or infinity (treated as 1; PROPFIND
// refuses an explicit infinity before asking, see propfind).
func depth(r *http.Request, def int) int {
	switch strings.TrimSpace(strings.ToLower(r.Header.Get("Depth"))) {
	case "0":
		return 0
	case "1", "infinity":
		return 1
	}
	return def
}

func (s *Server) propfind(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Depth")), "infinity") {
		// RFC 4918 §9.1: a server may refuse Depth: infinity on PROPFIND
		// with this precondition; answering it as depth 1 would hand the
		// client less than it asked for without saying so. A request
		// without Depth is still answered as depth 1, as clients expect.
		return precondition(http.StatusForbidden, "<D:propfind-finite-depth/>", "Depth: infinity is not supported")
	}
	root, err := parseXML(r.Body, s.o.MaxXMLBytes)
	if err != nil {
		return err
	}
	pr, err := parsePropRequest(root)
	if err != nil {
		return err
	}
	var res *resource
	if path := r.URL.EscapedPath(); isDiscoveryPath(path) {
		// The well-known URL answers as the context path, under its own
		// href: current-user-principal is what the client is after.
		res = &resource{kind: resRoot, exists: true}
	} else if res, err = s.resolve(ctx, path); err != nil {
		return err
	}
	if !res.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	self := s.targetOf(res)
	if isDiscoveryPath(r.URL.EscapedPath()) {
		self.href = r.URL.EscapedPath()
	}
	targets := []*target{self}
	truncated := false
	if depth(r, 1) == 1 {
		kids, trunc, err := s.children(ctx, res)
		if err != nil {
			return err
		}
		targets, truncated = append(targets, kids...), trunc
	}
	ms := newMultistatus(r)
	for _, t := range targets {
		ms.response(t.href, s.propstats(ctx, t, pr))
	}
	if truncated {
		ms.statusResponse(self.href, http.StatusInsufficientStorage)
	}
	writeMultistatus(w, ms)
	return nil
}

func writeMultistatus(w http.ResponseWriter, ms *multistatus) {
	b := ms.bytes()
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = w.Write(b)
}

// targetOf makes the property target of a resolved resource.
func (s *Server) targetOf(res *resource) *target {
	t := &target{res: res, kind: res.kind, folder: res.folder, item: res.item, user: res.user, st: res.st}
	switch res.kind {
	case resRoot:
		t.href = s.o.Prefix + "/"
	case resPrincipals:
		t.href = s.o.Prefix + "/principals/"
	case resPrincipal:
		t.href = s.principalHref(res.user.Login)
	case resHomes:
		t.href = s.o.Prefix + "/" + res.space + "/"
	case resHome:
		t.href = s.homeHref(res.space, res.login)
	case resInbox:
		t.href = s.homeHref(res.space, res.login) + "inbox/"
	case resOutbox:
		t.href = s.homeHref(res.space, res.login) + "outbox/"
	case resFolder:
		t.href = s.folderHref(res, res.folder)
	case resObject:
		t.href = s.objectHref(res, res.folder, res.item.Name)
	}
	return t
}

// children lists the members of a collection (Depth 1).
func (s *Server) children(ctx context.Context, res *resource) ([]*target, bool, error) {
	p := store.PrincipalFrom(ctx)
	var out []*target
	switch res.kind {
	case resRoot:
		out = append(out,
			&target{res: res, kind: resPrincipals, href: s.o.Prefix + "/principals/"},
			&target{res: res, kind: resHomes, href: s.o.Prefix + "/" + spaceCal + "/"},
			&target{res: res, kind: resHomes, href: s.o.Prefix + "/" + spaceCard + "/"})
	case resPrincipals:
		u, err := s.o.Store.GetUser(ctx, p.Login)
		if err != nil {
			return nil, false, err
		}
		out = append(out, &target{res: res, kind: resPrincipal, user: u, href: s.principalHref(u.Login)})
	case resHomes:
		out = append(out, &target{res: res, kind: resHome, href: s.homeHref(res.space, p.Login)})
	case resHome:
		own := res.st.OwnerID == p.UserID
		if res.space == spaceCal && own {
			out = append(out,
				&target{res: res, kind: resInbox, st: res.st, href: res.homeHref(s) + "inbox/"},
				&target{res: res, kind: resOutbox, st: res.st, href: res.homeHref(s) + "outbox/"})
		}
		fs, err := s.loadFolders(ctx, res, res.st.ID)
		if err != nil {
			return nil, false, err
		}
		for _, f := range fs {
			if !inSpace(res.space, f.Type) || groupware.IsScheduleInbox(f) {
				continue
			}
			if f.ParentID != 0 && s.reachable(res, f) {
				continue // a member of a listed collection
			}
			out = append(out, &target{res: res, kind: resFolder, folder: f, href: s.folderHref(res, f)})
		}
		if own {
			shared, err := s.o.Store.SharedFolders(ctx)
			if err != nil {
				return nil, false, err
			}
			for _, sf := range shared {
				if inSpace(res.space, sf.Folder.Type) && sf.Folder.Type != store.FolderNotes && strings.Contains(sf.Rights, "r") {
					out = append(out, &target{res: res, kind: resFolder, folder: sf.Folder, href: s.folderHref(res, sf.Folder)})
				}
			}
		}
	case resInbox:
		if res.folder == nil {
			break // no message has arrived yet
		}
		its, err := s.o.Store.ListObjects(ctx, res.folder.ID, store.ObjectQuery{Limit: s.o.MaxResults + 1})
		if err != nil {
			return nil, false, err
		}
		trunc := len(its) > s.o.MaxResults
		if trunc {
			its = its[:s.o.MaxResults]
		}
		base := s.folderHref(res, res.folder)
		for _, it := range its {
			out = append(out, &target{res: res, kind: resObject, folder: res.folder, item: it, href: base + urlSeg(it.Name)})
		}
		shareFolderState(out)
		return out, trunc, nil
	case resFolder:
		fs, err := s.loadFolders(ctx, res, res.folder.StoreID)
		if err != nil {
			return nil, false, err
		}
		base := s.folderHref(res, res.folder)
		for _, f := range fs {
			if f.ParentID == res.folder.ID {
				out = append(out, &target{res: res, kind: resFolder, folder: f, href: base + urlSeg(f.Name) + "/"})
			}
		}
		its, err := s.o.Store.ListObjects(ctx, res.folder.ID, store.ObjectQuery{Limit: s.o.MaxResults + 1})
		if err != nil {
			return nil, false, err
		}
		trunc := len(its) > s.o.MaxResults
		if trunc {
			its = its[:s.o.MaxResults]
		}
		for _, it := range its {
			if it.Name == "" {
				continue
			}
			out = append(out, &target{res: res, kind: resObject, folder: res.folder, item: it, href: base + urlSeg(it.Name)})
		}
		shareFolderState(out)
		return out, trunc, nil
	}
	return out, false, nil
}

// shareFolderState lets the object targets of one folder share one load
// of the folder's properties and rights.
func shareFolderState(ts []*target) {
	var first *target
	for _, t := range ts {
		if t.kind != resObject {
			continue
		}
		if first == nil {
			first = t
			continue
		}
		t.shared = first
	}
}

func (res *resource) homeHref(s *Server) string { return s.homeHref(res.space, res.login) }

// propstats computes the propstat groups of a target.
func (s *Server) propstats(ctx context.Context, t *target, pr *propRequest) []propstat {
	defer func() { t.body = nil }() // not kept while the other targets are answered
	if t.shared != nil {
		s.folderProps(ctx, t.shared)
		s.rightsOf(ctx, t.shared)
		t.props, t.rights = t.shared.props, t.shared.rights
	}
	if pr.propname {
		var ps []string
		for _, n := range s.propNames(ctx, t) {
			ps = append(ps, elem(n, ""))
		}
		for n := range s.deadProps(ctx, t) {
			if !slices.Contains(ps, elem(n, "")) {
				ps = append(ps, elem(n, ""))
			}
		}
		return []propstat{{status: http.StatusOK, props: ps}}
	}
	var okProps, missing, failed []string
	names := pr.names
	if pr.allprop {
		names = append(slices.Clone(allPropNames), names...)
		for n := range s.deadProps(ctx, t) {
			if !containsName(names, n) {
				names = append(names, n)
			}
		}
	}
	for _, n := range names {
		v, st := s.prop(ctx, t, n)
		switch {
		case st == http.StatusOK:
			okProps = append(okProps, v)
		case pr.allprop && containsName(allPropNames, n):
			// allprop: leave out what the resource does not have.
		case st == http.StatusInternalServerError:
			failed = append(failed, elem(n, ""))
		default:
			missing = append(missing, elem(n, ""))
		}
	}
	out := []propstat{{status: http.StatusOK, props: okProps}, {status: http.StatusNotFound, props: missing}}
	if len(failed) > 0 {
		out = append(out, propstat{status: http.StatusInternalServerError, props: failed})
	}
	return out
}

func urlSeg(s string) string { return url.PathEscape(s) }

// checkData refuses a calendar-data or address-data request element whose
// media type or version the server does not produce, as the properties
// supported-calendar-data and supported-address-data list them
// (RFC 4791 §7.8 and §7.9 precondition CALDAV:supported-calendar-data,
// §9.6; RFC 6352 §8.6 and §8.7 precondition CARDDAV:supported-address-data,
// §10.4). Absent attributes mean text/calendar 2.0 and text/vcard 3.0.
func (pr *propRequest) checkData() error {
	d := pr.data
	if d == nil {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(d.attr("content-type"))
	v := strings.TrimSpace(d.attr("version"))
	switch {
	case d.is(nsCalDAV, "calendar-data"):
		if ct != "" && ct != "text/calendar" || v != "" && v != "2.0" {
			return precondition(http.StatusForbidden, "<C:supported-calendar-data/>", "calendar-data is text/calendar 2.0")
		}
	case d.is(nsCardDAV, "address-data"):
		if ct != "" && ct != "text/vcard" || v != "" && v != "3.0" && v != "4.0" {
			return precondition(http.StatusForbidden, "<CR:supported-address-data/>", "address-data is text/vcard 3.0 or 4.0")
		}
	}
	return nil
}
