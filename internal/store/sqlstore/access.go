package sqlstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// ownsOrAdmins reports whether p has every right on every folder of s.
func ownsOrAdmins(p *store.Principal, s *storeRow) bool {
	return p.System || (s.OwnerID != 0 && s.OwnerID == p.UserID) || p.AdministersTenant(s.TenantID)
}

// seesStore reports whether s exists for p: its own tenant's (or an
// administered one's) stores, or another tenant's whose view list names
// p's tenant.
func (t *tx) seesStore(p *store.Principal, s *storeRow) (bool, error) {
	if s.deleted {
		return false, nil
	}
	if p.SeesTenant(s.TenantID) {
		return true, nil
	}
	var n int
	err := t.row(`SELECT COUNT(*) FROM tenant_viewers WHERE tenant_id = ? AND viewer_id = ?`, s.TenantID, p.TenantID).Scan(&n)
	return n > 0, err
}

func (t *tx) aclOf(folderID int64) ([]store.ACLEntry, error) {
	rows, err := t.query(`SELECT subject, rights FROM acl WHERE folder_id = ? ORDER BY subject`, folderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ACLEntry
	for rows.Next() {
		var e store.ACLEntry
		if err := rows.Scan(&e.Subject, &e.Rights); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// access is the outcome of an access check on a folder.
type access struct {
	p      *store.Principal
	folder *store.Folder
	st     *storeRow
	rights string
}

// folderAccess loads a folder and checks that p holds need on it. A folder
// p may not look up, of a store p does not see, or soft-deleted (unless
// deletedOK) is ErrNotFound; missing rights are ErrPermission.
func (t *tx) folderAccess(p *store.Principal, folderID int64, need string, deletedOK bool) (*access, error) {
	f, s, err := t.folderAndStore(p.UserID, folderID)
	if err != nil {
		return nil, err
	}
	if f.Deleted && !deletedOK {
		return nil, fmt.Errorf("folder %d: %w", folderID, store.ErrNotFound)
	}
	ok, err := t.seesStore(p, s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("folder %d: %w", folderID, store.ErrNotFound)
	}
	rights := store.AllRights
	if !ownsOrAdmins(p, s) {
		acl, err := t.aclOf(folderID)
		if err != nil {
			return nil, err
		}
		rights = store.EffectiveRights(p, s.TenantID, s.OwnerID, acl)
		if !p.SeesTenant(s.TenantID) {
			// Across tenants only entries naming the user count.
			rights = store.EffectiveRights(p, s.TenantID, s.OwnerID, slices.DeleteFunc(acl, func(e store.ACLEntry) bool {
				return !strings.HasPrefix(e.Subject, "user:")
			}))
		}
	}
	rights = capArchive(p, s, rights)
	if !strings.ContainsRune(rights, store.RightLookup) {
		return nil, fmt.Errorf("folder %d: %w", folderID, store.ErrNotFound)
	}
	if !store.HasRights(rights, need) {
		return nil, fmt.Errorf("folder %q: needs right %q, has %q: %w", f.Name, need, rights, store.ErrPermission)
	}
	return &access{p: p, folder: f, st: s, rights: rights}, nil
}

// storeAccess loads a store p sees; owner reports full control.
func (t *tx) storeAccess(p *store.Principal, storeID int64) (*storeRow, bool, error) {
	s, err := t.storeByID(storeID)
	if err != nil {
		return nil, false, err
	}
	ok, err := t.seesStore(p, s)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("store %d: %w", storeID, store.ErrNotFound)
	}
	return s, ownsOrAdmins(p, s), nil
}

// archiveRights are the most any principal but the system one holds on a
// folder of an archive store: the archiver alone writes archives.
const archiveRights = "lr"

// capArchive limits rights on a folder of an archive store to
// archiveRights unless p is the system principal.
func capArchive(p *store.Principal, s *storeRow, rights string) string {
	if s.Kind != store.StoreArchive || p.System {
		return rights
	}
	var b strings.Builder
	for _, r := range rights {
		if strings.ContainsRune(archiveRights, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// storeWritable refuses changes to the top level or the properties of an
// archive store to every principal but the system one.
func storeWritable(p *store.Principal, s *storeRow) error {
	if s.Kind == store.StoreArchive && !p.System {
		return fmt.Errorf("store %d is an archive, which only the archiver writes: %w", s.ID, store.ErrPermission)
	}
	return nil
}
