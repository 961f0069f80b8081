package jmapserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// Shared accounts (RFC 9670 §1.4, RFC 8620 §2): every store of another
// user, and every public store, in which the store shows the user at
// least one folder through an ACL entry (store.SharedFolders: naming the
// user, one of its groups, or anyone) is an extra account with id
// A<store id>, isPersonal false. The store decides what is visible and
// what may be done: listing a shared account's folders, reading and
// writing its items all go through the same ACL checks as IMAP and DAV.
// An id of a store that shows the user nothing is accountNotFound, like
// any other unknown account.
//
// The user's archive store (store.Archives), when one is attached, is one
// more such account: isPersonal, read-only, with the Mail capability
// only, named "<login> (archive)". The store gives its owner at most the
// lookup and read rights there, so every write is refused by the store
// as in any read-only shared folder.

// sharedAccount is an account beyond the user's own: a store shared with
// the user and what it shows, or the user's archive store.
type sharedAccount struct {
	st      *store.Store
	folders []store.SharedFolder // the folders shared with the user; none for the archive
	archive bool                 // the user's own archive store
}

// writeRights are the ACL rights that change a folder or its items.
const writeRights = "wsitekxa"

// readOnly reports whether no folder of the account may be changed.
func (a *sharedAccount) readOnly() bool {
	if a.archive {
		return true // only the archiver writes it
	}
	for _, f := range a.folders {
		if strings.ContainsAny(f.Rights, writeRights) {
			return false
		}
	}
	return true
}

// has reports whether the account shows a folder of one of the types.
func (a *sharedAccount) has(types ...store.FolderType) bool {
	return slices.ContainsFunc(a.folders, func(f store.SharedFolder) bool { return slices.Contains(types, f.Folder.Type) })
}

// capabilities are the capabilities of a shared account: a data type's
// only when the account shows folders of it.
func (a *sharedAccount) capabilities(s *Server) map[string]any {
	caps := map[string]any{}
	if a.archive || a.has(store.FolderMail) {
		mc := s.mailAccountCapability()
		mc["mayCreateTopLevelMailbox"] = false
		caps[jmap.CapMail] = mc
	}
	if a.has(store.FolderCalendar, store.FolderTasks) {
		caps[CapCalendars] = map[string]any{
			"maxCalendarsPerEvent":     1,
			"minDateTime":              "1900-01-01T00:00:00Z",
			"maxDateTime":              "2200-01-01T00:00:00Z",
			"maxExpandedQueryDuration": "P400D",
			"maxParticipantsPerEvent":  nil,
			"mayCreateCalendar":        false,
		}
	}
	if a.has(store.FolderTasks) {
		caps[CapTasks] = tasksAccountCapability(false)
	}
	if a.has(store.FolderContacts) {
		caps[CapContacts] = map[string]any{"maxAddressBooksPerCard": 1, "mayCreateAddressBook": false}
	}
	return caps
}

// name is the account's display name: the owner's login, the user's
// archive, or the public folders of the tenant.
func (a *sharedAccount) name() string {
	if a.archive {
		return a.st.Owner + " (archive)"
	}
	if a.st.Owner != "" {
		return a.st.Owner
	}
	if a.st.Kind == store.StorePublic {
		return "Public folders"
	}
	return fmt.Sprintf("Store %d", a.st.ID)
}

// sharedAccounts lists the accounts beyond the principal's own: its
// archive store first, then the stores shared with it, by store id.
func (c *call) sharedAccounts() ([]*sharedAccount, error) {
	if c.shared != nil {
		return c.shared, nil
	}
	sfs, err := c.s.o.Store.SharedFolders(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("shared folders of %s: %w", c.p.Login, err)
	}
	out := []*sharedAccount{}
	byStore := map[int64]*sharedAccount{} // SharedFolders answers up to 10,000 folders
	for _, sf := range sfs {
		if sf.Folder.Deleted || sf.Store == nil {
			continue
		}
		a := byStore[sf.Store.ID]
		if a == nil {
			a = &sharedAccount{st: sf.Store}
			byStore[sf.Store.ID] = a
			out = append(out, a)
		}
		a.folders = append(a.folders, sf)
	}
	slices.SortFunc(out, func(a, b *sharedAccount) int { return cmpInt(a.st.ID, b.st.ID) })
	arch, err := c.s.o.Store.UserArchive(c.ctx, c.p.Login)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("archive of %s: %w", c.p.Login, err)
	default:
		// SharedFolders leaves out the user's own stores, so the archive
		// is not listed twice.
		out = slices.Insert(out, 0, &sharedAccount{st: arch, archive: true})
	}
	c.shared = out
	return out, nil
}

// dataAccount resolves the accountId of a method on mail, calendar or
// contact data: the user's own account, its archive or a shared one (any
// other id is accountNotFound). On a shared account a method of a data type the
// account does not show is accountNotSupportedByMethod (RFC 8620
// §3.6.2).
func (c *call) dataAccount(id string) (*store.Store, error) {
	own, err := c.account(id)
	var me *jmap.MethodError
	if err == nil || !errors.As(err, &me) || me.Type != jmap.ErrAccountNotFound {
		return own, err
	}
	n, ok := jmap.ParseID('A', id)
	if !ok {
		return nil, err
	}
	accts, serr := c.sharedAccounts()
	if serr != nil {
		return nil, serr
	}
	i := slices.IndexFunc(accts, func(a *sharedAccount) bool { return a.st.ID == n })
	if i < 0 {
		return nil, err
	}
	if c.cap != "" && c.cap != jmap.CapCore {
		if _, ok := accts[i].capabilities(c.s)[c.cap]; !ok {
			return nil, jmap.Errorf(jmap.ErrAccountNotSupported, "account %s has no %s data", id, c.cap)
		}
	}
	// Reload: the state must be current for every call.
	st, gerr := c.s.o.Store.GetStore(c.ctx, n)
	if errors.Is(gerr, store.ErrNotFound) {
		return nil, err // unshared (or detached) since the listing
	}
	if gerr != nil {
		return nil, fmt.Errorf("store %d: %w", n, gerr)
	}
	return st, nil
}

// isShared reports whether st is not the principal's own store.
func (c *call) isShared(st *store.Store) bool {
	return c.acct == nil || st.ID != c.acct.ID
}
