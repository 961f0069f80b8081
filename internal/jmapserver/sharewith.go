package jmapserver

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// shareWith (RFC 9670 §1.4.3) on Mailbox, Calendar and AddressBook: a map
// of principal id to the rights that principal has, read from and written
// to the folder's ACL, the very entries IMAP SETACL/GETACL and the other
// protocols use. Each JMAP right maps to RFC 4314 letters (docs/jmap.md,
// "Sharing"); any right granted adds "l", so that a share is visible.
// Entries naming "anyone" or users of other tenants are not principals:
// shareWith does not show them and replacing shareWith keeps them.

// shareKind is the data type of a shared folder.
type shareKind int

const (
	shareMailbox shareKind = iota
	shareCalendar
	shareAddressBook
)

// shareRight maps one JMAP right to the ACL letters that grant it (all
// of them needed to read it as true).
type shareRight struct {
	name    string
	letters string
}

var shareRights = map[shareKind][]shareRight{
	shareMailbox: {
		{"mayReadItems", "lr"}, {"mayAddItems", "i"}, {"mayRemoveItems", "te"}, {"maySetSeen", "s"},
		{"maySetKeywords", "w"}, {"mayCreateChild", "k"}, {"mayRename", "x"}, {"mayDelete", "x"},
		{"maySubmit", "p"}, {"mayShare", "a"},
	},
	shareCalendar: {
		{"mayReadFreeBusy", "l"}, {"mayReadItems", "lr"}, {"mayWriteAll", "itew"}, {"mayWriteOwn", "itew"},
		{"mayUpdatePrivate", "w"}, {"mayRSVP", "w"}, {"mayShare", "a"}, {"mayDelete", "x"},
	},
	shareAddressBook: {
		{"mayRead", "lr"}, {"mayWrite", "itew"}, {"mayShare", "a"}, {"mayDelete", "x"},
	},
}

// shareRightsObject is the rights object of ACL letters.
func shareRightsObject(k shareKind, letters string) map[string]bool {
	has := rightsOf(letters)
	out := map[string]bool{}
	for _, r := range shareRights[k] {
		out[r.name] = has(r.letters)
	}
	return out
}

// shareLetters is the ACL letters of a rights object; an unknown right
// or a non-boolean value is invalidProperties.
func shareLetters(k shareKind, v any) (string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", invalidProps("a rights object must be an object of booleans", "shareWith")
	}
	var b strings.Builder
	for name, on := range m {
		i := slices.IndexFunc(shareRights[k], func(r shareRight) bool { return r.name == name })
		yes, isBool := on.(bool)
		if i < 0 || !isBool {
			return "", invalidProps(fmt.Sprintf("unknown right %q or not a boolean", name), "shareWith")
		}
		if yes {
			b.WriteString(shareRights[k][i].letters)
		}
	}
	if b.Len() == 0 {
		return "", nil
	}
	letters, err := store.NormalizeRights("l" + b.String())
	if err != nil {
		return "", fmt.Errorf("rights %q: %w", b.String(), err)
	}
	return letters, nil
}

// shareWithOf reads a folder's shareWith: null when the user may not
// administer the folder (the ACL is not its to see) or nobody is in it.
func (c *call) shareWithOf(f *store.Folder, k shareKind) (any, error) {
	rights, err := c.s.o.Store.MyRights(c.ctx, f.ID)
	if err != nil {
		return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
	}
	if !strings.ContainsRune(rights, store.RightAdmin) {
		return nil, nil
	}
	acl, err := c.s.o.Store.GetACL(c.ctx, f.ID)
	if err != nil {
		return nil, fmt.Errorf("ACL of folder %d: %w", f.ID, err)
	}
	out := map[string]any{}
	for _, e := range acl {
		p, err := c.principalBySubject(e.Subject)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out[p.id] = shareRightsObject(k, e.Rights)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// setShareWith applies a shareWith patch to a folder: key "shareWith"
// replaces the map, "shareWith/<principal>" one entry (null removes it),
// "shareWith/<principal>/<right>" one right of an entry. The store checks
// the admin right (forbidden without it).
func (c *call) setShareWith(f *store.Folder, k shareKind, key string, v any) error {
	st, err := c.s.o.Store.GetStore(c.ctx, f.StoreID)
	if err != nil {
		return fmt.Errorf("store %d: %w", f.StoreID, err)
	}
	rights, err := c.s.o.Store.MyRights(c.ctx, f.ID)
	if err != nil {
		return fmt.Errorf("rights on folder %d: %w", f.ID, err)
	}
	if !strings.ContainsRune(rights, store.RightAdmin) {
		return &jmap.SetError{Type: jmap.SetForbidden, Description: "no right to share this object (mayShare)"}
	}
	acl, err := c.s.o.Store.GetACL(c.ctx, f.ID)
	if err != nil {
		return fmt.Errorf("ACL of folder %d: %w", f.ID, err)
	}
	cur := map[string]string{} // subject -> letters, principals only
	for _, e := range acl {
		p, err := c.principalBySubject(e.Subject)
		if err != nil {
			return err
		}
		if p != nil {
			cur[p.subject] = e.Rights
		}
	}
	target := func(id string) (*principal, error) {
		p, err := c.principalByID(id)
		if err != nil {
			return nil, err
		}
		if _, has := cur[p.subjectOrEmpty()]; p == nil || !p.listed && !has {
			// Hidden groups and users without an address are not offered
			// (the address book does not list them), but an entry naming
			// one stays editable.
			return nil, invalidProps("no principal "+id, "shareWith")
		}
		if p.storeID != 0 && p.storeID == st.ID {
			return nil, invalidProps("the owner cannot be in shareWith", "shareWith")
		}
		return p, nil
	}
	want := map[string]string{}
	for s, l := range cur {
		want[s] = l
	}
	path := strings.Split(key, "/")
	switch {
	case len(path) == 1:
		want = map[string]string{}
		if v != nil {
			m, ok := v.(map[string]any)
			if !ok {
				return invalidProps("shareWith must be a map of principal id to rights, or null", "shareWith")
			}
			for id, rv := range m {
				p, err := target(id)
				if err != nil {
					return err
				}
				l, err := shareLetters(k, rv)
				if err != nil {
					return err
				}
				want[p.subject] = l
			}
		}
	case len(path) == 2:
		p, err := target(path[1])
		if err != nil {
			return err
		}
		if v == nil {
			want[p.subject] = ""
		} else {
			l, err := shareLetters(k, v)
			if err != nil {
				return err
			}
			want[p.subject] = l
		}
	case len(path) == 3:
		p, err := target(path[1])
		if err != nil {
			return err
		}
		obj := map[string]any{}
		for name, on := range shareRightsObject(k, cur[p.subject]) {
			obj[name] = on
		}
		on, ok := v.(bool)
		if _, known := obj[path[2]]; !known || !ok {
			return invalidProps("unknown right or not a boolean", key)
		}
		obj[path[2]] = on
		// Rights sharing a letter (mayRename and mayDelete both are "x")
		// follow the one set.
		for _, r := range shareRights[k] {
			if r.name == path[2] {
				for _, o := range shareRights[k] {
					if o.letters == r.letters {
						obj[o.name] = on
					}
				}
			}
		}
		l, err := shareLetters(k, obj)
		if err != nil {
			return err
		}
		want[p.subject] = l
	default:
		return &jmap.SetError{Type: jmap.SetInvalidPatch, Description: "bad shareWith path " + key}
	}
	subjects := make([]string, 0, len(cur)+len(want))
	for s := range cur {
		subjects = append(subjects, s)
	}
	for s := range want {
		if _, ok := cur[s]; !ok {
			subjects = append(subjects, s)
		}
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		if want[s] == cur[s] {
			continue
		}
		if err := c.s.o.Store.SetACL(c.ctx, f.ID, s, want[s]); err != nil {
			return err
		}
	}
	return nil
}

// isShareWithKey reports whether a /set property or patch path is about
// shareWith.
func isShareWithKey(k string) bool { return k == "shareWith" || strings.HasPrefix(k, "shareWith/") }
