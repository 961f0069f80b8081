package davserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
)

// resKind is what a URL names.
type resKind int

const (
	resRoot       resKind = iota // /dav/
	resPrincipals                // /dav/principals/
	resPrincipal                 // /dav/principals/<login>/
	resHomes                     // /dav/calendars/ or /dav/addressbooks/
	resHome                      // /dav/calendars/<login>/
	resInbox                     // /dav/calendars/<login>/inbox/
	resOutbox                    // /dav/calendars/<login>/outbox/
	resFolder                    // a calendar, address book or plain collection
	resObject                    // a resource in a folder
)

const (
	spaceCal  = "calendars"
	spaceCard = "addressbooks"
)

// resource is a resolved request URL. When the last segment does not
// exist, exists is false and folder is the collection it would be created
// in (nil when that is the home).
type resource struct {
	kind   resKind
	space  string // spaceCal, spaceCard, or "" outside the homes
	login  string // the login in the URL
	user   *store.User
	st     *store.Store
	folder *store.Folder // the folder, or an object's folder
	item   *store.Item   // the object (nil when missing)
	name   string        // last segment (object name or missing folder name)
	exists bool
	// parentMissing: an intermediate collection does not exist (409 for
	// PUT and MKCOL, RFC 4918 §9.3.1 and §9.7.1).
	parentMissing bool
	folders       []*store.Folder // visible folders of st, loaded lazily
	ownerAddrs    []string        // addresses of the folder's owner, loaded lazily (Schedule-Tag)
}

func (s *Server) homeHref(space, login string) string {
	return s.o.Prefix + "/" + space + "/" + url.PathEscape(login) + "/"
}

func (s *Server) principalHref(login string) string {
	return s.o.Prefix + "/principals/" + url.PathEscape(login) + "/"
}

// inSpace reports whether folders of type t are listed in a home.
func inSpace(space string, t store.FolderType) bool {
	switch space {
	case spaceCal:
		return t == store.FolderCalendar || t == store.FolderTasks || t == store.FolderNotes
	case spaceCard:
		return t == store.FolderContacts
	}
	return false
}

func isCalendar(f *store.Folder) bool {
	return f != nil && (f.Type == store.FolderCalendar || f.Type == store.FolderTasks)
}

func isAddressBook(f *store.Folder) bool { return f != nil && f.Type == store.FolderContacts }

// splitPath turns the escaped path after the prefix into unescaped
// segments. "." and ".." segments, encoded slashes and NULs are refused.
func (s *Server) splitPath(escaped string) ([]string, bool, error) {
	rest := strings.TrimPrefix(escaped, s.o.Prefix)
	trailing := strings.HasSuffix(rest, "/")
	var segs []string
	for _, raw := range strings.Split(rest, "/") {
		if raw == "" {
			continue
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false, errStatus(http.StatusBadRequest, "bad escape in path")
		}
		if seg == "." || seg == ".." || strings.ContainsAny(seg, "/\x00") {
			return nil, false, errStatus(http.StatusBadRequest, "bad path segment")
		}
		segs = append(segs, seg)
	}
	if len(segs) > 64 {
		return nil, false, errStatus(http.StatusBadRequest, "path too deep")
	}
	return segs, trailing, nil
}

// resolve maps an escaped request path to what it names, telling
// OnSharedOpen when that is in a folder of another store.
func (s *Server) resolve(ctx context.Context, escaped string) (*resource, error) {
	res, err := s.resolvePath(ctx, escaped)
	if err == nil && s.o.OnSharedOpen != nil && res.folder != nil {
		if p := store.PrincipalFrom(ctx); p != nil && !p.System && (res.st == nil || res.st.OwnerID != p.UserID || res.folder.StoreID != res.st.ID) {
			s.o.OnSharedOpen(ctx, res.folder, httpMethod(ctx))
		}
	}
	return res, err
}

type methodKey struct{}

// httpMethod is the method of the request ctx belongs to.
func httpMethod(ctx context.Context) string {
	m, _ := ctx.Value(methodKey{}).(string)
	return m
}

// resolvePath maps an escaped request path to what it names.
func (s *Server) resolvePath(ctx context.Context, escaped string) (*resource, error) {
	segs, _, err := s.splitPath(escaped)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return &resource{kind: resRoot, exists: true}, nil
	}
	switch segs[0] {
	case "principals":
		if len(segs) == 1 {
			return &resource{kind: resPrincipals, exists: true}, nil
		}
		if len(segs) > 2 {
			return nil, errStatus(http.StatusNotFound, "not found")
		}
		u, err := s.o.Store.GetUser(ctx, segs[1])
		if err != nil {
			return nil, err
		}
		return &resource{kind: resPrincipal, login: u.Login, user: u, exists: true}, nil
	case spaceCal, spaceCard:
	default:
		return nil, errStatus(http.StatusNotFound, "not found")
	}
	res := &resource{space: segs[0]}
	if len(segs) == 1 {
		res.kind, res.exists = resHomes, true
		return res, nil
	}
	res.login = segs[1]
	st, err := s.o.Store.UserStore(ctx, segs[1])
	if err != nil {
		return nil, err
	}
	if st.Owner != "" {
		res.login = st.Owner
	}
	res.st = st
	if len(segs) == 2 {
		res.kind, res.exists = resHome, true
		return res, nil
	}
	rest := segs[2:]
	if res.space == spaceCal && len(rest) == 1 && (rest[0] == "inbox" || rest[0] == "outbox") {
		res.kind, res.exists = resInbox, true
		if rest[0] == "outbox" {
			res.kind = resOutbox
			return res, nil
		}
		// The schedule inbox's messages are in a hidden folder
		// (groupware/inbox.go); nil until the first one arrives.
		if res.folder, err = groupware.ScheduleInbox(ctx, s.o.Store, st.ID); err != nil {
			return nil, err
		}
		return res, nil
	}
	if res.space == spaceCal && len(rest) == 2 && rest[0] == "inbox" {
		inbox, err := groupware.ScheduleInbox(ctx, s.o.Store, st.ID)
		if err != nil {
			return nil, err
		}
		res.kind, res.name = resObject, rest[1]
		if inbox == nil {
			res.parentMissing = true
			return res, nil
		}
		res.folder = inbox
		it, err := s.itemByName(ctx, inbox.ID, rest[1])
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		res.item, res.exists = it, it != nil
		return res, nil
	}
	// The first segment: a top-level folder of the home's store, or
	// "~<id>" for any folder the principal may see.
	var cur *store.Folder
	if strings.HasPrefix(rest[0], "~") {
		id, perr := strconv.ParseInt(rest[0][1:], 10, 64)
		if perr != nil || id <= 0 {
			return nil, errStatus(http.StatusNotFound, "not found")
		}
		f, err := s.o.Store.GetFolder(ctx, id)
		if err != nil {
			return nil, err
		}
		if !inSpace(res.space, f.Type) && !(res.space == spaceCal && f.Type == store.FolderNotes) {
			return nil, errStatus(http.StatusNotFound, "not found")
		}
		cur = f
	} else {
		fs, err := s.loadFolders(ctx, res, st.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.ParentID == 0 && f.Name == rest[0] && inSpace(res.space, f.Type) {
				cur = f
				break
			}
		}
		if cur == nil {
			if len(rest) > 1 {
				res.parentMissing = true
			}
			res.kind, res.name = resFolder, rest[0]
			return res, nil
		}
	}
	res.folder = cur
	for i := 1; i < len(rest); i++ {
		seg := rest[i]
		last := i == len(rest)-1
		fs, err := s.loadFolders(ctx, res, cur.StoreID)
		if err != nil {
			return nil, err
		}
		var next *store.Folder
		for _, f := range fs {
			if f.ParentID == cur.ID && f.Name == seg {
				next = f
				break
			}
		}
		if next != nil {
			cur = next
			res.folder = cur
			continue
		}
		if !last {
			res.kind, res.name, res.parentMissing = resFolder, seg, true
			return res, nil
		}
		// An object of cur, or nothing.
		res.kind, res.name = resObject, seg
		it, err := s.itemByName(ctx, cur.ID, seg)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		res.item, res.exists = it, it != nil
		return res, nil
	}
	res.kind, res.exists = resFolder, true
	return res, nil
}

func (s *Server) loadFolders(ctx context.Context, res *resource, storeID int64) ([]*store.Folder, error) {
	if res.folders != nil && len(res.folders) > 0 && res.folders[0].StoreID == storeID {
		return res.folders, nil
	}
	fs, err := s.o.Store.ListFolders(ctx, storeID)
	if err != nil {
		return nil, err
	}
	res.folders = fs
	return fs, nil
}

// itemByName finds the live item of a folder with the given name.
func (s *Server) itemByName(ctx context.Context, folderID int64, name string) (*store.Item, error) {
	its, err := s.o.Store.ListObjects(ctx, folderID, store.ObjectQuery{Names: []string{name}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(its) == 0 {
		return nil, fmt.Errorf("item %q: %w", name, store.ErrNotFound)
	}
	return its[0], nil
}

// folderHref is the URL of a folder as reached through res's home: the
// path of names from a top-level folder of the home's store, else
// "~<id>" (shared folders, folders under a mail folder).
func (s *Server) folderHref(res *resource, f *store.Folder) string {
	if groupware.IsScheduleInbox(f) && res.st != nil && f.StoreID == res.st.ID {
		return s.homeHref(spaceCal, res.login) + "inbox/"
	}
	var segs []string
	cur := f
	for range 64 {
		if res.st == nil || cur.StoreID != res.st.ID {
			break
		}
		if cur.ParentID == 0 {
			if inSpace(res.space, cur.Type) && !strings.HasPrefix(cur.Name, "~") {
				segs = append(segs, cur.Name)
				var b strings.Builder
				b.WriteString(s.homeHref(res.space, res.login))
				for i := len(segs) - 1; i >= 0; i-- {
					b.WriteString(url.PathEscape(segs[i]))
					b.WriteString("/")
				}
				return b.String()
			}
			break
		}
		var parent *store.Folder
		for _, g := range res.folders {
			if g.ID == cur.ParentID {
				parent = g
			}
		}
		if parent == nil {
			break
		}
		segs = append(segs, cur.Name)
		cur = parent
	}
	return s.homeHref(res.space, res.login) + "~" + strconv.FormatInt(f.ID, 10) + "/"
}

// reachable reports whether folderHref gives f a path of names.
func (s *Server) reachable(res *resource, f *store.Folder) bool {
	return !strings.Contains(strings.TrimPrefix(s.folderHref(res, f), s.homeHref(res.space, res.login)), "~")
}

func storeIDOf(res *resource) int64 {
	if res.st == nil {
		return -1
	}
	return res.st.ID
}

// objectHref is the URL of an item of folder f.
func (s *Server) objectHref(res *resource, f *store.Folder, name string) string {
	return s.folderHref(res, f) + url.PathEscape(name)
}

// hrefPath turns an href from a request body (absolute URL or path) into
// an escaped path, or "" when it is not under this server's prefix.
func (s *Server) hrefPath(href string) string {
	href = strings.TrimSpace(href)
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	p := u.EscapedPath()
	if p != s.o.Prefix && !strings.HasPrefix(p, s.o.Prefix+"/") {
		return ""
	}
	return p
}
