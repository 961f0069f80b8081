package imapserver

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// Namespaces (RFC 2342, RFC 9051 §6.3.10). The hierarchy delimiter is "/"
// everywhere; store folder names cannot contain it.
const (
	delim        = '/'
	otherPrefix  = "Other Users"
	sharedPrefix = "Shared Folders"
	// archivePrefix is the root of the user's archive store (store.Archives),
	// read-only, announced by NAMESPACE as a shared namespace.
	archivePrefix = "Online Archive"
	inboxName     = "INBOX"
	// maxNameDepth matches the store's folder depth bound.
	maxNameDepth = 64
	// maxComponent is the longest folder name the store takes.
	maxComponent = 255
)

type nsKind uint8

const (
	nsPersonal nsKind = iota
	nsOther
	nsShared
	nsArchive
)

// tree is the IMAP view of one store's folder tree: the visible mail
// folders and their names.
type tree struct {
	storeID int64
	ns      nsKind
	prefix  string // "" (personal), "Other Users/<login>/", "Shared Folders/"
	owner   string // login, for the other-users namespace
	// folders are the visible mail folders in name order.
	folders []*store.Folder
	name    map[int64]string         // folder id → IMAP name
	byName  map[string]*store.Folder // lower-cased IMAP name → folder
	parent  map[int64]int64          // folder id → parent in this view (0: top)
	kids    map[int64]int            // folder id → visible children (0: the top)
	all     map[int64]*store.Folder  // every listed folder, of any type
}

// mbox is an existing mailbox named by the client.
type mbox struct {
	name string // canonical IMAP name
	f    *store.Folder
	t    *tree
}

// buildTree computes the IMAP names of a store's folders. A folder is
// visible when it is a mail folder and every ancestor listed is a mail
// folder too. One whose parent the principal may not see is placed at the
// top of the tree, so that a hidden folder's name never shows. Personal
// top-level folders named like INBOX or a namespace prefix are hidden, as
// they could not be told apart.
func buildTree(fs []*store.Folder, storeID int64, ns nsKind, prefix, owner string) *tree {
	t := &tree{storeID: storeID, ns: ns, prefix: prefix, owner: owner,
		name: map[int64]string{}, byName: map[string]*store.Folder{},
		parent: map[int64]int64{}, kids: map[int64]int{}, all: map[int64]*store.Folder{}}
	for _, f := range fs {
		if !f.Deleted {
			t.all[f.ID] = f
		}
	}
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(a, b *store.Folder) int {
		// The special inbox first so that it takes "INBOX".
		if (a.Special == store.SpecialInbox) != (b.Special == store.SpecialInbox) {
			if a.Special == store.SpecialInbox {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})
	for _, f := range sorted {
		if f.Deleted || f.Type != store.FolderMail {
			continue
		}
		var comps []string
		visible, top := true, f.ID
		parent := int64(-1)
		for id, n := f.ID, 0; id != 0; n++ {
			cur := t.all[id]
			if cur == nil {
				break // hidden ancestor: hang from the top
			}
			if cur.Type != store.FolderMail || n > maxNameDepth*2 {
				visible = false
				break
			}
			if parent < 0 && id != f.ID {
				parent = id
			}
			name := cur.Name
			if cur.Special == store.SpecialInbox && cur.ParentID == 0 {
				name = inboxName
			}
			comps = append(comps, name)
			top = id
			id = cur.ParentID
		}
		if !visible || len(comps) == 0 {
			continue
		}
		if parent < 0 {
			parent = 0
		}
		topF := t.all[top]
		if ns == nsPersonal && topF.Special != store.SpecialInbox &&
			(strings.EqualFold(topF.Name, inboxName) || topF.Name == otherPrefix || topF.Name == sharedPrefix || topF.Name == archivePrefix) {
			continue
		}
		slices.Reverse(comps)
		full := prefix + strings.Join(comps, string(delim))
		key := strings.ToLower(full)
		if t.byName[key] != nil {
			continue
		}
		t.byName[key] = f
		t.name[f.ID] = full
		t.parent[f.ID] = parent
		t.folders = append(t.folders, f)
	}
	// Children counts only for folders whose chain is visible.
	for _, f := range t.folders {
		p := t.parent[f.ID]
		if _, ok := t.name[p]; ok || p == 0 {
			t.kids[p]++
		} else {
			t.parent[f.ID] = 0
			t.kids[0]++
		}
	}
	slices.SortFunc(t.folders, func(a, b *store.Folder) int { return strings.Compare(t.name[a.ID], t.name[b.ID]) })
	return t
}

// lookup finds a mailbox of the tree by IMAP name.
func (t *tree) lookup(name string) *mbox {
	f := t.byName[strings.ToLower(name)]
	if f == nil {
		return nil
	}
	return &mbox{name: t.name[f.ID], f: f, t: t}
}

// hasChildren reports whether a folder has visible children.
func (t *tree) hasChildren(id int64) bool { return t.kids[id] > 0 }

// personal loads the personal namespace.
func (s *session) personal() (*tree, error) {
	fs, err := s.o.Store.ListFolders(s.ctx, s.storeID)
	if err != nil {
		return nil, wrap(opMailbox, err)
	}
	return buildTree(fs, s.storeID, nsPersonal, "", s.p.Login), nil
}

// otherUser loads the folders of another user that the principal sees.
// Every failure reads as a missing mailbox.
func (s *session) otherUser(login string) (*tree, error) {
	u, err := s.o.Store.GetUser(s.ctx, login)
	if err != nil || u.StoreID == 0 || u.StoreID == s.storeID {
		return nil, errNoMailbox
	}
	fs, err := s.o.Store.ListFolders(s.ctx, u.StoreID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			return nil, errNoMailbox
		}
		return nil, wrap(opMailbox, err)
	}
	return buildTree(fs, u.StoreID, nsOther, otherPrefix+"/"+u.Login+"/", u.Login), nil
}

// public loads the tenant's public store, or nil when there is none.
func (s *session) public() (*tree, error) {
	if s.p.Tenant == "" {
		return nil, nil
	}
	tn, err := s.o.Store.GetTenant(s.ctx, s.p.Tenant)
	if err != nil || tn.PublicStoreID == 0 {
		return nil, nil
	}
	fs, err := s.o.Store.ListFolders(s.ctx, tn.PublicStoreID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			return nil, nil
		}
		return nil, wrap(opMailbox, err)
	}
	return buildTree(fs, tn.PublicStoreID, nsShared, sharedPrefix+"/", ""), nil
}

// archive loads the principal's archive store, or nil when it has none.
// Its folders are read-only: the store grants the owner "lr" only.
func (s *session) archive() (*tree, error) {
	if s.p.Login == "" {
		return nil, nil
	}
	st, err := s.o.Store.UserArchive(s.ctx, s.p.Login)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			return nil, nil
		}
		return nil, wrap(opMailbox, err)
	}
	fs, err := s.o.Store.ListFolders(s.ctx, st.ID)
	if err != nil {
		return nil, wrap(opMailbox, err)
	}
	return buildTree(fs, st.ID, nsArchive, archivePrefix+"/", s.p.Login), nil
}

// splitNS splits a mailbox name into its namespace, the login of an
// other-users name, and the name within that store's tree (the whole name
// for the personal namespace).
func splitNS(name string) (ns nsKind, login, rest string) {
	switch {
	case name == otherPrefix:
		return nsOther, "", ""
	case strings.HasPrefix(name, otherPrefix+"/"):
		r := name[len(otherPrefix)+1:]
		login, rest, _ = strings.Cut(r, string(delim))
		return nsOther, login, rest
	case name == sharedPrefix:
		return nsShared, "", ""
	case strings.HasPrefix(name, sharedPrefix+"/"):
		return nsShared, "", name[len(sharedPrefix)+1:]
	case name == archivePrefix:
		return nsArchive, "", ""
	case strings.HasPrefix(name, archivePrefix+"/"):
		return nsArchive, "", name[len(archivePrefix)+1:]
	}
	return nsPersonal, "", name
}

// treeFor loads the tree a mailbox name belongs to. It fails with
// errNoMailbox for names no tree can hold.
func (s *session) treeFor(name string) (*tree, error) {
	ns, login, _ := splitNS(name)
	switch ns {
	case nsOther:
		if login == "" {
			return nil, errNoMailbox
		}
		return s.otherUser(login)
	case nsShared:
		t, err := s.public()
		if err == nil && t == nil {
			err = errNoMailbox
		}
		return t, err
	case nsArchive:
		t, err := s.archive()
		if err == nil && t == nil {
			err = errNoMailbox
		}
		return t, err
	}
	return s.resolvedTree()
}

// resolvedTree is the personal tree for resolving a name: SELECT, STATUS
// and APPEND each resolve one, and listing every folder for each cost a
// session of imaptest's mix a tenth of the server's CPU (issue 10), and
// a login/SELECT/logout session an eighth. The tree read last for the
// store, by this session or another of the same user, is reused while
// the events hub has seen no commit to the store since just before that
// read: every folder creation, rename, deletion or content change is a
// journal entry the hub hears of after its commit, before the committing
// command replies (the invariant sync relies on too). A tree is never
// changed once built, so sessions share it. It only resolves names
// here; LIST reads afresh.
func (s *session) resolvedTree() (*tree, error) {
	hub := s.o.Events
	if hub == nil {
		return s.personal()
	}
	if s.ptree == nil {
		s.ptree, s.ptreeGen = s.srv.trees.get(s.storeID, s.p.Login)
	}
	if s.ptree != nil && hub.StoreGen(s.storeID) <= s.ptreeGen {
		return s.ptree, nil
	}
	gen := hub.Gen()
	t, err := s.personal()
	if err != nil {
		return nil, err
	}
	s.ptree, s.ptreeGen = t, gen
	s.srv.trees.put(s.storeID, t, gen)
	return t, nil
}

// treeCache holds the personal tree last read for each store, with the
// hub's generation read just before it. It is bounded: when full it
// starts again empty (a miss costs one folder listing).
type treeCache struct {
	mu sync.Mutex
	m  map[int64]cachedTree
}

type cachedTree struct {
	t   *tree
	gen uint64
}

// maxCachedTrees bounds treeCache: a tree is a few KiB.
const maxCachedTrees = 4096

func (c *treeCache) get(storeID int64, owner string) (*tree, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[storeID]
	if !ok || e.t.owner != owner {
		return nil, 0
	}
	return e.t, e.gen
}

func (c *treeCache) put(storeID int64, t *tree, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[storeID]; ok && e.gen > gen {
		return // a newer read is already there
	}
	if c.m == nil || len(c.m) >= maxCachedTrees {
		c.m = make(map[int64]cachedTree)
	}
	c.m[storeID] = cachedTree{t: t, gen: gen}
}

// resolve finds an existing mailbox. A name that does not exist, one of a
// store the principal cannot see and one it may not look up all fail
// alike, with errNoMailbox.
func (s *session) resolve(name string) (*mbox, error) {
	if err := checkName(name); err != nil {
		return nil, errNoMailbox
	}
	t, err := s.treeFor(name)
	if err != nil {
		return nil, err
	}
	m := t.lookup(name)
	if m == nil {
		return nil, errNoMailbox
	}
	return m, nil
}

// checkName refuses names no mailbox can have: empty levels, "." and "..",
// over-long levels and too deep hierarchies. The parser has already
// refused NUL, control characters and invalid modified UTF-7.
func checkName(name string) error {
	if name == "" {
		return no(imap.CodeCannot, "Empty mailbox name")
	}
	n := 0
	for comp := range strings.SplitSeq(name, string(delim)) {
		n++
		switch {
		case comp == "":
			return no(imap.CodeCannot, "Empty hierarchy level in mailbox name")
		case comp == "." || comp == "..":
			return no(imap.CodeCannot, "Invalid hierarchy level in mailbox name")
		case len(comp) > maxComponent:
			return no(imap.CodeLimit, "Mailbox name level too long")
		case strings.TrimSpace(comp) != comp:
			return no(imap.CodeCannot, "Mailbox name levels cannot start or end with a space")
		}
		if n > maxNameDepth+2 {
			return no(imap.CodeLimit, "Mailbox hierarchy too deep")
		}
	}
	return nil
}

// inboxCase canonicalises a leading INBOX in any case: "inbox/x" is
// "INBOX/x" (RFC 9051 §5.1 makes INBOX case-insensitive).
func inboxCase(name string) string {
	if len(name) >= 5 && strings.EqualFold(name[:5], inboxName) && (len(name) == 5 || name[5] == delim) {
		return inboxName + name[5:]
	}
	return name
}
