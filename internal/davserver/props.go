package davserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
)

// Folder property keys. WebDAV properties (live ones a client may set and
// dead ones) are kept under "{namespace}local" with their XML content;
// dead properties of a resource under "item/<name>/{namespace}local"
// (names never contain "/"); the supported component set under
// keyComponents as a comma-separated list.
const (
	keyComponents = groupware.PropComponents
	itemPropPfx   = "item/"
)

func propKey(n propName) string { return "{" + n.Space + "}" + n.Local }

func parsePropKey(k string) (propName, bool) {
	if !strings.HasPrefix(k, "{") {
		return propName{}, false
	}
	i := strings.IndexByte(k, '}')
	if i < 0 || i == len(k)-1 {
		return propName{}, false
	}
	return propName{Space: k[1:i], Local: k[i+1:]}, true
}

func itemPropKey(name string, n propName) string { return itemPropPfx + name + "/" + propKey(n) }

// The xml:lang of a property set with one (RFC 4918 §4.3) is kept beside
// its value, under a key no property name parses from.
const langPfx = "lang/"

func langPropKey(n propName) string { return langPfx + propKey(n) }

func itemLangPropKey(name string, n propName) string {
	return itemPropPfx + name + "/" + langPfx + propKey(n)
}

// xmlLang is the xml:lang attribute of an element, if any.
func xmlLang(n *node) string {
	for _, a := range n.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == "xml" || a.Name.Space == "http://www.w3.org/XML/1998/namespace") {
			return a.Value
		}
	}
	return ""
}

// elemLang is elem with an xml:lang attribute when lang is not empty.
func elemLang(name propName, inner, lang string) string {
	e := elem(name, inner)
	if lang == "" {
		return e
	}
	open, _ := tagFor(name)
	attr := ` xml:lang="` + escapeString(lang) + `"`
	if inner == "" {
		return strings.TrimSuffix(open, ">") + attr + "/>"
	}
	return strings.TrimSuffix(open, ">") + attr + ">" + e[len(open):]
}

var (
	pResourceType   = propName{Space: nsDAV, Local: "resourcetype"}
	pDisplayName    = propName{Space: nsDAV, Local: "displayname"}
	pGetETag        = propName{Space: nsDAV, Local: "getetag"}
	pContentType    = propName{Space: nsDAV, Local: "getcontenttype"}
	pContentLength  = propName{Space: nsDAV, Local: "getcontentlength"}
	pLastModified   = propName{Space: nsDAV, Local: "getlastmodified"}
	pCreationDate   = propName{Space: nsDAV, Local: "creationdate"}
	pCurUserPrinc   = propName{Space: nsDAV, Local: "current-user-principal"}
	pPrincipalURL   = propName{Space: nsDAV, Local: "principal-URL"}
	pPrincColSet    = propName{Space: nsDAV, Local: "principal-collection-set"}
	pOwner          = propName{Space: nsDAV, Local: "owner"}
	pCurUserPriv    = propName{Space: nsDAV, Local: "current-user-privilege-set"}
	pSupReportSet   = propName{Space: nsDAV, Local: "supported-report-set"}
	pSyncToken      = propName{Space: nsDAV, Local: "sync-token"}
	pQuotaAvail     = propName{Space: nsDAV, Local: "quota-available-bytes"}
	pQuotaUsed      = propName{Space: nsDAV, Local: "quota-used-bytes"}
	pGetCTag        = propName{Space: nsCS, Local: "getctag"}
	pCalHomeSet     = propName{Space: nsCalDAV, Local: "calendar-home-set"}
	pCalUserAddrSet = propName{Space: nsCalDAV, Local: "calendar-user-address-set"}
	pCalUserType    = propName{Space: nsCalDAV, Local: "calendar-user-type"}
	pInboxURL       = propName{Space: nsCalDAV, Local: "schedule-inbox-URL"}
	pOutboxURL      = propName{Space: nsCalDAV, Local: "schedule-outbox-URL"}
	pDefaultCal     = propName{Space: nsCalDAV, Local: "schedule-default-calendar-URL"}
	pSupCompSet     = propName{Space: nsCalDAV, Local: "supported-calendar-component-set"}
	pSupCalData     = propName{Space: nsCalDAV, Local: "supported-calendar-data"}
	pCalMaxSize     = propName{Space: nsCalDAV, Local: "max-resource-size"}
	pCalTimezone    = propName{Space: nsCalDAV, Local: "calendar-timezone"}
	pCalDesc        = propName{Space: nsCalDAV, Local: "calendar-description"}
	pCalData        = propName{Space: nsCalDAV, Local: "calendar-data"}
	pAbHomeSet      = propName{Space: nsCardDAV, Local: "addressbook-home-set"}
	pSupAddrData    = propName{Space: nsCardDAV, Local: "supported-address-data"}
	pAbMaxSize      = propName{Space: nsCardDAV, Local: "max-resource-size"}
	pAddrData       = propName{Space: nsCardDAV, Local: "address-data"}
	pAbDesc         = propName{Space: nsCardDAV, Local: "addressbook-description"}
	pCalColor       = propName{Space: nsApple, Local: "calendar-color"}
	pSchedTag       = propName{Space: nsCalDAV, Local: "schedule-tag"}
)

// protected properties cannot be set by PROPPATCH (RFC 4918 §15).
var protected = map[propName]bool{
	pResourceType: true, pGetETag: true, pSchedTag: true, pContentLength: true, pLastModified: true, pCreationDate: true,
	pCurUserPrinc: true, pPrincipalURL: true, pPrincColSet: true, pOwner: true, pCurUserPriv: true,
	pSupReportSet: true, pSyncToken: true, pQuotaAvail: true, pQuotaUsed: true, pGetCTag: true,
	pCalHomeSet: true, pCalUserAddrSet: true, pInboxURL: true, pOutboxURL: true, pSupCalData: true,
	pCalMaxSize: true, pAbHomeSet: true, pSupAddrData: true, pAbMaxSize: true, pCalUserType: true,
	pContentType: true, pCalData: true, pAddrData: true, {Space: nsDAV, Local: "lockdiscovery"}: true, {Space: nsDAV, Local: "supportedlock"}: true,
}

// target is one resource whose properties are asked for.
type target struct {
	res    *resource // the request's resolved resource (for hrefs)
	kind   resKind
	href   string
	folder *store.Folder
	item   *store.Item
	user   *store.User // for principals
	st     *store.Store

	props  map[string]string // folder props, loaded lazily
	rights *string
	shared *target // shares props and rights with this target (same folder)
	body   []byte  // the item's content, loaded lazily
}

// content returns the content of an object target, read once however
// many of its properties (calendar-data, schedule-tag) need it.
func (s *Server) content(ctx context.Context, t *target) ([]byte, error) {
	if t.body == nil {
		b, err := s.readItem(ctx, t.item)
		if err != nil {
			return nil, err
		}
		t.body = b
	}
	return t.body, nil
}

func (s *Server) folderProps(ctx context.Context, t *target) map[string]string {
	if t.props != nil || t.folder == nil {
		return t.props
	}
	m, err := s.o.Store.FolderProps(ctx, t.folder.ID)
	if err != nil {
		s.log.Debug("folder props", "folder", t.folder.ID, "err", err)
		m = map[string]string{}
	}
	t.props = m
	return m
}

func (s *Server) rightsOf(ctx context.Context, t *target) string {
	if t.rights != nil {
		return *t.rights
	}
	var r string
	switch {
	case t.folder != nil:
		r, _ = s.o.Store.MyRights(ctx, t.folder.ID)
	case t.kind == resHome || t.kind == resInbox || t.kind == resOutbox:
		p := store.PrincipalFrom(ctx)
		if t.st != nil && p != nil && t.st.OwnerID == p.UserID {
			r = store.AllRights
		} else {
			r = "lr"
		}
	default:
		r = "lr"
	}
	t.rights = &r
	return r
}

// supportedComponents is the component set of a calendar folder.
func (s *Server) supportedComponents(ctx context.Context, f *store.Folder) ([]string, error) {
	m, err := s.o.Store.FolderProps(ctx, f.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return componentsOf(f, m), nil
}

func componentsOf(f *store.Folder, m map[string]string) []string { return groupware.Components(f, m) }

// allPropNames are the properties an allprop PROPFIND returns besides
// dead properties (RFC 4918 §9.1: the ones RFC 4918 defines).
var allPropNames = []propName{pResourceType, pDisplayName, pGetETag, pContentType, pContentLength, pLastModified, pCreationDate}

// propNames lists the properties a target has (for propname).
func (s *Server) propNames(ctx context.Context, t *target) []propName {
	names := []propName{pResourceType, pCurUserPrinc, pPrincColSet, pCurUserPriv, pSupReportSet}
	switch t.kind {
	case resPrincipal:
		names = append(names, pDisplayName, pPrincipalURL, pCalHomeSet, pAbHomeSet, pCalUserAddrSet, pCalUserType, pInboxURL, pOutboxURL)
	case resHome:
		names = append(names, pDisplayName, pOwner, pQuotaUsed, pQuotaAvail)
	case resFolder:
		names = append(names, pDisplayName, pOwner, pSyncToken, pGetCTag, pQuotaUsed, pQuotaAvail, pCreationDate)
		if isCalendar(t.folder) {
			names = append(names, pSupCompSet, pSupCalData, pCalMaxSize)
		}
		if isAddressBook(t.folder) {
			names = append(names, pSupAddrData, pAbMaxSize)
		}
		for k := range s.folderProps(ctx, t) {
			if n, ok := parsePropKey(k); ok && !containsName(names, n) {
				names = append(names, n)
			}
		}
	case resObject:
		names = append(names, pGetETag, pContentType, pContentLength, pLastModified, pCreationDate)
		pfx := itemPropPfx + t.item.Name + "/"
		for k := range s.folderProps(ctx, t) {
			if rest, ok := strings.CutPrefix(k, pfx); ok {
				if n, ok := parsePropKey(rest); ok {
					names = append(names, n)
				}
			}
		}
	}
	return names
}

func containsName(ns []propName, n propName) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// deadProps returns the dead (and client-set) properties of a target.
func (s *Server) deadProps(ctx context.Context, t *target) map[propName]string {
	out := map[propName]string{}
	switch t.kind {
	case resFolder:
		for k, v := range s.folderProps(ctx, t) {
			if n, ok := parsePropKey(k); ok {
				out[n] = v
			}
		}
	case resObject:
		pfx := itemPropPfx + t.item.Name + "/"
		for k, v := range s.folderProps(ctx, t) {
			if rest, ok := strings.CutPrefix(k, pfx); ok {
				if n, ok := parsePropKey(rest); ok {
					out[n] = v
				}
			}
		}
	}
	return out
}

// prop returns the encoded value of one property and its status (200,
// 404 when the target does not have it).
func (s *Server) prop(ctx context.Context, t *target, n propName) (string, int) {
	p := store.PrincipalFrom(ctx)
	href := func(h string) string { return "<D:href>" + escapeString(h) + "</D:href>" }
	ok := func(inner string) (string, int) { return elem(n, inner), http.StatusOK }
	switch n {
	case pResourceType:
		switch t.kind {
		case resObject:
			return ok("")
		case resPrincipal:
			return ok("<D:collection/><D:principal/>")
		case resInbox:
			return ok("<D:collection/><C:schedule-inbox/>")
		case resOutbox:
			return ok("<D:collection/><C:schedule-outbox/>")
		case resFolder:
			switch {
			case isCalendar(t.folder):
				return ok("<D:collection/><C:calendar/>")
			case isAddressBook(t.folder):
				return ok("<D:collection/><CR:addressbook/>")
			}
		}
		return ok("<D:collection/>")
	case pCurUserPrinc:
		return ok(href(s.principalHref(p.Login)))
	case pPrincColSet:
		return ok(href(s.o.Prefix + "/principals/"))
	case pCurUserPriv:
		return ok(privileges(t.kind, s.rightsOf(ctx, t)))
	case pSupReportSet:
		var reps []string
		switch {
		case t.kind == resFolder && isCalendar(t.folder):
			reps = []string{"<C:calendar-query/>", "<C:calendar-multiget/>", "<C:free-busy-query/>", "<D:sync-collection/>"}
		case t.kind == resFolder && isAddressBook(t.folder):
			reps = []string{"<CR:addressbook-query/>", "<CR:addressbook-multiget/>", "<D:sync-collection/>"}
		case t.kind == resFolder:
			reps = []string{"<D:sync-collection/>"}
		default:
			return ok("")
		}
		var b strings.Builder
		for _, r := range reps {
			b.WriteString("<D:supported-report><D:report>" + r + "</D:report></D:supported-report>")
		}
		return ok(b.String())
	}
	switch t.kind {
	case resPrincipal:
		u := t.user
		switch n {
		case pDisplayName:
			if u.FullName != "" {
				return ok(escapeString(u.FullName))
			}
			return ok(escapeString(u.Login))
		case pPrincipalURL:
			return ok(href(s.principalHref(u.Login)))
		case pCalHomeSet:
			return ok(href(s.homeHref(spaceCal, u.Login)))
		case pAbHomeSet:
			return ok(href(s.homeHref(spaceCard, u.Login)))
		case pCalUserAddrSet:
			var b strings.Builder
			if u.Email != "" {
				b.WriteString(href("mailto:" + u.Email))
			}
			for _, a := range u.Aliases {
				if !strings.HasPrefix(a, "@") {
					b.WriteString(href("mailto:" + a))
				}
			}
			b.WriteString(href(s.principalHref(u.Login)))
			return ok(b.String())
		case pCalUserType:
			return ok(u.CalendarUserType())
		case pInboxURL:
			return ok(href(s.homeHref(spaceCal, u.Login) + "inbox/"))
		case pOutboxURL:
			return ok(href(s.homeHref(spaceCal, u.Login) + "outbox/"))
		}
	case resHome, resInbox, resOutbox:
		switch n {
		case pDisplayName:
			return ok(escapeString(t.res.login))
		case pOwner:
			if t.st != nil && t.st.Owner != "" {
				return ok(href(s.principalHref(t.st.Owner)))
			}
		case pQuotaUsed, pQuotaAvail:
			if t.kind == resHome {
				return s.quotaProp(ctx, t.st.ID, n)
			}
		case pDefaultCal:
			if t.kind == resInbox {
				if f := s.defaultCalendar(ctx, t.st.ID); f != nil {
					return ok(href(s.folderHref(t.res, f)))
				}
			}
		case pSupCompSet:
			if t.kind == resOutbox {
				return ok(`<C:comp name="VFREEBUSY"/>`)
			}
		case pGetCTag:
			// The inbox changes with its folder (none: nothing arrived).
			if t.kind == resInbox {
				if t.res.folder != nil {
					return ok(strconv.FormatUint(t.res.folder.HighestModSeq, 10))
				}
				return ok("0")
			}
		}
	case resFolder:
		f := t.folder
		switch n {
		case pDisplayName:
			if v, has := s.folderProps(ctx, t)[propKey(n)]; has {
				return elemLang(n, v, s.folderProps(ctx, t)[langPropKey(n)]), http.StatusOK
			}
			return ok(escapeString(f.Name))
		case pOwner:
			if st, err := s.o.Store.GetStore(ctx, f.StoreID); err == nil && st.Owner != "" {
				return ok(href(s.principalHref(st.Owner)))
			}
			return "", http.StatusNotFound
		case pSyncToken:
			return ok(escapeString(syncToken(f.HighestModSeq)))
		case pGetCTag:
			return ok(strconv.FormatUint(f.HighestModSeq, 10))
		case pQuotaUsed, pQuotaAvail:
			return s.quotaProp(ctx, f.StoreID, n)
		case pCreationDate:
			return ok(f.Created.UTC().Format("2006-01-02T15:04:05Z"))
		case pSupCompSet:
			if isCalendar(f) {
				var b strings.Builder
				for _, c := range componentsOf(f, s.folderProps(ctx, t)) {
					b.WriteString(`<C:comp name="` + escapeString(c) + `"/>`)
				}
				return ok(b.String())
			}
		case pSupCalData:
			if isCalendar(f) {
				return ok(`<C:calendar-data content-type="text/calendar" version="2.0"/>`)
			}
		case pCalMaxSize:
			if isCalendar(f) {
				return ok(strconv.FormatInt(s.o.MaxBodyBytes, 10))
			}
		case pSupAddrData:
			if isAddressBook(f) {
				return ok(`<CR:address-data-type content-type="text/vcard" version="3.0"/><CR:address-data-type content-type="text/vcard" version="4.0"/>`)
			}
		case pAbMaxSize:
			if isAddressBook(f) {
				return ok(strconv.FormatInt(s.o.MaxBodyBytes, 10))
			}
		}
		if v, has := s.folderProps(ctx, t)[propKey(n)]; has {
			return elemLang(n, v, s.folderProps(ctx, t)[langPropKey(n)]), http.StatusOK
		}
	case resObject:
		it := t.item
		switch n {
		case pGetETag:
			return ok(escapeString(etag(it)))
		case pContentType:
			return ok(escapeString(contentType(t.folder)))
		case pContentLength:
			return ok(strconv.FormatInt(it.Size, 10))
		case pLastModified:
			return ok(it.InternalDate.UTC().Format(http.TimeFormat))
		case pCreationDate:
			return ok(it.InternalDate.UTC().Format("2006-01-02T15:04:05Z"))
		case pSchedTag:
			// RFC 6638 §9.3: on scheduling object resources only.
			if isCalendar(t.folder) && t.res != nil {
				b, err := s.content(ctx, t)
				if err != nil {
					return s.propFailed(t, n, err)
				}
				// The targets of one collection share t.res: its owner's
				// addresses are looked up once, not once per object.
				res := t.res
				if res.folder == nil || res.folder.StoreID != t.folder.StoreID {
					res = &resource{folder: t.folder, st: t.res.st}
				}
				tag, err := s.scheduleTag(ctx, res, b, nil)
				if err != nil {
					return s.propFailed(t, n, err)
				}
				if tag != "" {
					return ok(escapeString(tag))
				}
			}
			return "", http.StatusNotFound
		case pCalData, pAddrData:
			// Some clients ask for the data in a PROPFIND.
			if n == pCalData && (isCalendar(t.folder) || groupware.IsScheduleInbox(t.folder)) || n == pAddrData && isAddressBook(t.folder) {
				b, err := s.content(ctx, t)
				if err != nil {
					return s.propFailed(t, n, err)
				}
				return ok(escapeString(string(b)))
			}
			return "", http.StatusNotFound
		}
		if v, has := s.folderProps(ctx, t)[itemPropKey(it.Name, n)]; has {
			return elemLang(n, v, s.folderProps(ctx, t)[itemLangPropKey(it.Name, n)]), http.StatusOK
		}
	}
	return "", http.StatusNotFound
}

// propFailed answers a property the store failed to produce: not found
// when the resource went away meanwhile, else a logged 500 in its
// propstat, never a silent "not found".
func (s *Server) propFailed(t *target, n propName, err error) (string, int) {
	if errors.Is(err, store.ErrNotFound) {
		return "", http.StatusNotFound
	}
	s.log.Error("DAV property failed", "href", t.href, "prop", propKey(n), "err", err)
	return "", http.StatusInternalServerError
}

func (s *Server) quotaProp(ctx context.Context, storeID int64, n propName) (string, int) {
	q, err := s.o.Store.StoreQuota(ctx, storeID)
	if err != nil {
		return "", http.StatusNotFound
	}
	if n == pQuotaUsed {
		return elem(n, strconv.FormatInt(q.Size, 10)), http.StatusOK
	}
	if q.Quota.Hard <= 0 {
		return "", http.StatusNotFound // RFC 4331 §3: no quota
	}
	return elem(n, strconv.FormatInt(max(q.Quota.Hard-q.Size, 0), 10)), http.StatusOK
}

// defaultCalendar is the store's special calendar folder.
func (s *Server) defaultCalendar(ctx context.Context, storeID int64) *store.Folder {
	fs, err := s.o.Store.ListFolders(ctx, storeID)
	if err != nil {
		return nil
	}
	for _, f := range fs {
		if f.Special == store.SpecialCalendar {
			return f
		}
	}
	return nil
}

// privileges maps RFC 4314 rights to RFC 3744 privileges (and CalDAV's
// read-free-busy, RFC 4791 §6.1.1).
func privileges(kind resKind, rights string) string {
	has := func(r string) bool { return strings.ContainsAny(rights, r) }
	var ps []string
	if has("r") {
		ps = append(ps, "<D:read/>", "<C:read-free-busy/>")
	} else if has("l") {
		ps = append(ps, "<C:read-free-busy/>")
	}
	ps = append(ps, "<D:read-current-user-privilege-set/>")
	wc, bind, unbind, wp := has("i") && has("t"), has("ik"), has("tx"), has("w")
	if kind != resObject && has("i") {
		wc = true
	}
	if wc {
		ps = append(ps, "<D:write-content/>")
	}
	if bind {
		ps = append(ps, "<D:bind/>")
	}
	if unbind {
		ps = append(ps, "<D:unbind/>")
	}
	if wp {
		ps = append(ps, "<D:write-properties/>")
	}
	if wc && bind && unbind && wp {
		ps = append(ps, "<D:write/>")
	}
	if has("a") {
		ps = append(ps, "<D:read-acl/>", "<D:write-acl/>")
	}
	if store.HasRights(rights, store.AllRights) {
		ps = append(ps, "<D:all/>")
	}
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("<D:privilege>" + p + "</D:privilege>")
	}
	return b.String()
}
