package imapserver

import (
	"errors"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// specialUse maps store roles to RFC 6154 attributes. Outbox has none.
var specialUse = map[string]string{
	store.SpecialDrafts:  `\Drafts`,
	store.SpecialSent:    `\Sent`,
	store.SpecialTrash:   `\Trash`,
	store.SpecialJunk:    `\Junk`,
	store.SpecialArchive: `\Archive`,
}

// listEntry is a mailbox, or a non-selectable level of a namespace
// ("Other Users", "Other Users/bob", "Shared Folders").
type listEntry struct {
	name     string
	f        *store.Folder // nil for a \Noselect level
	t        *tree
	children bool
	// storedSub: the name is among the subscribed names kept without a
	// folder (subs.go); nonExistent: no mailbox has it (RFC 5258 §3.1).
	storedSub   bool
	nonExistent bool
}

// NAMESPACE, RFC 2342 and RFC 9051 §6.3.10.
// The archive store, when the user has one, is a second shared namespace:
// clients that show namespaces list it apart from the user's own folders,
// and those that do not still find it under LIST "" "*".
func (s *session) cmdNamespace(c *imap.Command) (imap.Code, error) {
	shared := []imap.Namespace{{Prefix: sharedPrefix + "/", Delim: delim}}
	at, err := s.archive()
	if err != nil {
		return "", err
	}
	if at != nil {
		shared = append(shared, imap.Namespace{Prefix: archivePrefix + "/", Delim: delim})
	}
	s.w.Namespace(
		[]imap.Namespace{{Prefix: "", Delim: delim}},
		[]imap.Namespace{{Prefix: otherPrefix + "/", Delim: delim}},
		shared,
	)
	return "", nil
}

// subscribed reports whether the principal subscribed to a mailbox (the
// store marks its folders for the principal, in every namespace).
func (s *session) subscribed(e *listEntry) bool {
	return e.storedSub || e.f != nil && e.f.Subscribed
}

// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC
// 5819) and SPECIAL-USE (RFC 6154); LSUB (RFC 3501 §6.3.9).
func (s *session) cmdList(c *imap.Command) (imap.Code, error) {
	a := c.Args.(*imap.ListCmd)
	lsub := c.Name == "LSUB"
	if !lsub && len(a.Patterns) == 1 && a.Patterns[0] == "" && !a.Extended {
		// The hierarchy delimiter and root (RFC 9051 §6.3.9).
		s.w.List(&imap.ListData{Attrs: []string{`\Noselect`}, Delim: delim, Mailbox: ""})
		return "", nil
	}
	var pats []pattern
	var pct []bool // the pattern has "%"
	for _, p := range a.Patterns {
		full := a.Reference + p
		if len(full) > maxPattern {
			return "", bad(imap.CodeLimit, "Mailbox pattern too long")
		}
		if p != "" {
			pats = append(pats, newPattern(full))
			pct = append(pct, strings.Contains(full, "%"))
		}
	}
	matches := func(name string) bool {
		for _, p := range pats {
			if p.match(name) {
				return true
			}
		}
		return false
	}
	// matchesPct: matched by a pattern with "%" (the LSUB rule below).
	matchesPct := func(name string) bool {
		for i, p := range pats {
			if pct[i] && p.match(name) {
				return true
			}
		}
		return false
	}
	reaches := func(prefix string) bool {
		for _, p := range pats {
			if p.match(prefix) || p.mayMatchBelow(prefix+string(delim)) {
				return true
			}
		}
		return false
	}
	entries, err := s.listEntries(reaches)
	if err != nil {
		return "", err
	}
	selSub := a.Select.Subscribed || lsub
	retSub := a.Return.Subscribed || a.Select.Subscribed
	if selSub || retSub {
		names, err := s.subNames()
		if err != nil {
			return "", err
		}
		entries = addSubEntries(entries, names)
	}
	for i := range entries {
		e := &entries[i]
		if !matches(e.name) || e.nonExistent && !selSub {
			continue
		}
		var childInfo []string
		if selSub && !s.subscribed(e) {
			if lsub && matchesPct(e.name) && s.subscribedBelow(entries, e.name, func(n string) bool { return !matches(n) }) {
				// RFC 3501 §6.3.9: when "%" hides a subscribed foo/bar,
				// LSUB returns foo, flagged \Noselect.
				s.w.LSub(&imap.ListData{Attrs: []string{`\Noselect`}, Delim: delim, Mailbox: e.name})
				continue
			}
			// RFC 5258 §3.5: CHILDINFO for a descendant that satisfies
			// the selection but is not listed itself (Dovecot and
			// imaptest's listext script read it so).
			if !(a.Select.RecursiveMatch && s.subscribedBelow(entries, e.name, func(n string) bool { return !matches(n) })) {
				continue
			}
			childInfo = []string{"SUBSCRIBED"}
		}
		su := ""
		if e.f != nil {
			su = specialUse[e.f.Special]
		}
		if a.Select.SpecialUse && su == "" {
			continue
		}
		if lsub {
			var attrs []string
			if e.f == nil || e.nonExistent {
				attrs = append(attrs, `\Noselect`)
			}
			s.w.LSub(&imap.ListData{Attrs: attrs, Delim: delim, Mailbox: e.name})
			continue
		}
		var attrs []string
		switch {
		case e.nonExistent:
			// RFC 5258 §3.1: \NonExistent implies \Noselect.
			attrs = append(attrs, `\NonExistent`)
		case e.f == nil:
			attrs = append(attrs, `\Noselect`)
		}
		if e.nonExistent {
			if hasEntryBelow(entries, e.name) {
				attrs = append(attrs, `\HasChildren`)
			}
		} else if e.children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
		if retSub && s.subscribed(e) {
			attrs = append(attrs, `\Subscribed`)
		}
		if su != "" {
			attrs = append(attrs, su)
		}
		s.w.List(&imap.ListData{Attrs: attrs, Delim: delim, Mailbox: e.name, ChildInfo: childInfo})
		if a.Return.Status != nil && e.f != nil {
			// RFC 5819 §2: a mailbox whose status cannot be read is listed
			// without STATUS.
			if vals, err := s.statusValues(&mbox{name: e.name, f: e.f, t: e.t}, a.Return.Status); err == nil {
				s.w.Status(e.name, vals)
			}
		}
		if a.Return.MyRights && e.f != nil && !e.nonExistent {
			if err := s.listMyRights(e); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// hasEntryBelow reports whether a mailbox exists below name.
func hasEntryBelow(entries []listEntry, name string) bool {
	pfx := strings.ToLower(name) + string(delim)
	for i := range entries {
		if !entries[i].nonExistent && strings.HasPrefix(strings.ToLower(entries[i].name), pfx) {
			return true
		}
	}
	return false
}

// subscribedBelow reports whether a descendant of name (one for which
// only, when only is not nil) is subscribed (RFC 5258 §3.5
// RECURSIVEMATCH).
func (s *session) subscribedBelow(entries []listEntry, name string, only func(string) bool) bool {
	pfx := name + string(delim)
	for i := range entries {
		if strings.HasPrefix(entries[i].name, pfx) && (only == nil || only(entries[i].name)) && s.subscribed(&entries[i]) {
			return true
		}
	}
	return false
}

// listEntries returns every mailbox the principal sees, in order: the
// personal namespace, other users' and the shared namespace. Other stores
// are read only when reaches says a pattern can match below their prefix.
func (s *session) listEntries(reaches func(prefix string) bool) ([]listEntry, error) {
	var out []listEntry
	t, err := s.personal()
	if err != nil {
		return nil, err
	}
	out = appendTree(out, t)
	if reaches(otherPrefix) {
		others, err := s.others()
		if err != nil {
			return nil, err
		}
		if len(others) > 0 {
			out = append(out, listEntry{name: otherPrefix, children: true})
			for _, ot := range others {
				out = append(out, listEntry{name: strings.TrimSuffix(ot.prefix, string(delim)), t: ot, children: true})
				out = appendTree(out, ot)
			}
		}
	}
	if reaches(sharedPrefix) {
		pt, err := s.public()
		if err != nil {
			return nil, err
		}
		if pt != nil && len(pt.folders) > 0 {
			out = append(out, listEntry{name: sharedPrefix, t: pt, children: true})
			out = appendTree(out, pt)
		}
	}
	if reaches(archivePrefix) {
		at, err := s.archive()
		if err != nil {
			return nil, err
		}
		if at != nil {
			out = append(out, listEntry{name: archivePrefix, t: at, children: len(at.folders) > 0})
			out = appendTree(out, at)
		}
	}
	return out, nil
}

func appendTree(out []listEntry, t *tree) []listEntry {
	for _, f := range t.folders {
		out = append(out, listEntry{name: t.name[f.ID], f: f, t: t, children: t.hasChildren(f.ID)})
	}
	return out
}

// others loads the trees of the other users whose folders are shared
// with the principal, from the store's index of ACL subjects (no scan of
// every user of the tenant).
//
// An administrator of the tenant may open every folder of its users, but
// listing all of them would bury its own mailboxes: the list shows only
// folders whose ACL names the administrator (or its groups, or anyone),
// while opening any folder by name still works.
func (s *session) others() ([]*tree, error) {
	if s.p.Tenant == "" {
		return nil, nil
	}
	shared, err := s.o.Store.SharedFolders(s.ctx)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			return nil, nil
		}
		return nil, wrap(opMailbox, err)
	}
	byStore := map[int64][]*store.Folder{}
	owners := map[int64]*store.Store{}
	for _, sf := range shared {
		st := sf.Store
		if st.Kind != store.StorePrivate || st.Owner == "" || st.ID == s.storeID {
			continue
		}
		if s.p.AdministersTenant(st.TenantID) {
			fs, err := s.explicitlyShared([]*store.Folder{sf.Folder}, st.TenantID, st.OwnerID)
			if err != nil {
				return nil, err
			}
			if len(fs) == 0 {
				continue
			}
		}
		byStore[st.ID] = append(byStore[st.ID], sf.Folder)
		owners[st.ID] = st
	}
	ids := make([]int64, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int { return strings.Compare(owners[a].Owner, owners[b].Owner) })
	var out []*tree
	for _, id := range ids {
		st := owners[id]
		t := buildTree(byStore[id], id, nsOther, otherPrefix+"/"+st.Owner+"/", st.Owner)
		if len(t.folders) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// explicitlyShared keeps the mail folders whose ACL lets the principal look
// them up without its administrator powers.
func (s *session) explicitlyShared(fs []*store.Folder, tenantID, ownerID int64) ([]*store.Folder, error) {
	plain := *s.p
	plain.Admin, plain.AdminOf, plain.System = store.AdminNone, nil, false
	var out []*store.Folder
	for _, f := range fs {
		if f.Type != store.FolderMail {
			continue
		}
		acl, err := s.o.Store.GetACL(s.ctx, f.ID)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, wrap(opMailbox, err) // not "not shared"
		}
		if strings.ContainsRune(store.EffectiveRights(&plain, tenantID, ownerID, acl), store.RightLookup) {
			out = append(out, f)
		}
	}
	return out, nil
}
