package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Bounds on what a client can make a store hold.
const (
	maxFolderDepth   = 64
	maxFoldersPerSt  = 10000
	maxFolderNameLen = 255
	maxFlags         = 128
	maxFlagLen       = 255
)

type specialFolder struct {
	special string
	typ     store.FolderType
}

// specialFolders are created in every private store, in this order.
var specialFolders = []specialFolder{
	{store.SpecialInbox, store.FolderMail},
	{store.SpecialDrafts, store.FolderMail},
	{store.SpecialSent, store.FolderMail},
	{store.SpecialTrash, store.FolderMail},
	{store.SpecialJunk, store.FolderMail},
	{store.SpecialOutbox, store.FolderMail},
	{store.SpecialArchive, store.FolderMail},
	{store.SpecialCalendar, store.FolderCalendar},
	{store.SpecialContacts, store.FolderContacts},
	{store.SpecialTasks, store.FolderTasks},
	{store.SpecialNotes, store.FolderNotes},
}

// folderNames localises special folders (default_store_locale).
var folderNames = map[string][11]string{
	"en_US": {"Inbox", "Drafts", "Sent", "Trash", "Junk", "Outbox", "Archive", "Calendar", "Contacts", "Tasks", "Notes"},
	"de_DE": {"Posteingang", "Entwürfe", "Gesendet", "Papierkorb", "Spam", "Postausgang", "Archiv", "Kalender", "Kontakte", "Aufgaben", "Notizen"},
	"nl_NL": {"Postvak IN", "Concepten", "Verzonden items", "Verwijderde items", "Ongewenste e-mail", "Postvak UIT", "Archief", "Agenda", "Contactpersonen", "Taken", "Notities"},
	"fr_FR": {"Boîte de réception", "Brouillons", "Éléments envoyés", "Éléments supprimés", "Courrier indésirable", "Boîte d'envoi", "Archives", "Calendrier", "Contacts", "Tâches", "Notes"},
	"es_ES": {"Bandeja de entrada", "Borradores", "Elementos enviados", "Elementos eliminados", "Correo no deseado", "Bandeja de salida", "Archivo", "Calendario", "Contactos", "Tareas", "Notas"},
}

// Locales lists the locales special folders can be named in.
func Locales() []string {
	var l []string
	for k := range folderNames {
		l = append(l, k)
	}
	slices.Sort(l)
	return l
}

// nextUIDValidity returns a UIDVALIDITY never handed out before in this
// database: at least the current time, and above every earlier one.
func (t *tx) nextUIDValidity() (uint32, error) {
	// One upsert reads and advances the counter, so that two folders
	// created at once on PostgreSQL cannot get the same value.
	nv := time.Now().Unix() & 0x7fffffff
	var v int64
	if err := t.row(`INSERT INTO meta (key, value) VALUES ('uidvalidity', ?)
		ON CONFLICT (key) DO UPDATE SET value = CASE WHEN meta.value + 1 > excluded.value THEN meta.value + 1 ELSE excluded.value END
		RETURNING value`, nv).Scan(&v); err != nil {
		return 0, err
	}
	if v > 0xffffffff {
		v = 1
		if _, err := t.exec(`UPDATE meta SET value = 1 WHERE key = 'uidvalidity'`); err != nil {
			return 0, err
		}
	}
	return uint32(v), nil
}

// lockStore serialises writers of one store on PostgreSQL before they read
// what they will change (SQLite has a single writer already). Taking the
// store row first everywhere also keeps one lock order: store, then folders.
func (t *tx) lockStore(ids ...int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
		if _, err := t.exec(`SELECT id FROM stores WHERE id = ? FOR UPDATE`, id); err != nil {
			return fmt.Errorf("lock store %d: %w", id, err)
		}
	}
	return nil
}

// lockFolders locks the stores of the given folders (lockStore) before
// the caller reads them. A folder that does not exist is skipped: the
// access check that follows reports it.
func (t *tx) lockFolders(folderIDs ...int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	if len(folderIDs) == 1 {
		// One round trip for the common case.
		if _, err := t.exec(`SELECT id FROM stores WHERE id = (SELECT store_id FROM folders WHERE id = ?) FOR UPDATE`, folderIDs[0]); err != nil {
			return fmt.Errorf("lock store of folder %d: %w", folderIDs[0], err)
		}
		return nil
	}
	var ids []int64
	for _, f := range folderIDs {
		var id int64
		err := t.row(`SELECT store_id FROM folders WHERE id = ?`, f).Scan(&id)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock store of folder %d: %w", f, err)
		}
		ids = append(ids, id)
	}
	return t.lockStore(ids...)
}

// lockItem locks the store of an item's folder. The caller reads the item
// again afterwards and checks that it is still where it was.
func (t *tx) lockItem(itemID int64) error {
	if t.d.dialect != postgres {
		return nil
	}
	if _, err := t.exec(`SELECT id FROM stores WHERE id = (SELECT store_id FROM items WHERE id = ?) FOR UPDATE`, itemID); err != nil {
		return fmt.Errorf("lock store of item %d: %w", itemID, err)
	}
	return nil
}

// nextModSeq reserves n consecutive MODSEQ values of a store and returns
// the first.
func (t *tx) nextModSeq(storeID int64, n int) (uint64, error) {
	var last int64
	if err := t.row(`UPDATE stores SET modseq = modseq + ? WHERE id = ? RETURNING modseq`, n, storeID).Scan(&last); err != nil {
		return 0, fmt.Errorf("modseq of store %d: %w", storeID, err)
	}
	return uint64(last) - uint64(n) + 1, nil
}

func (t *tx) journal(storeID int64, seq uint64, kind store.ChangeKind, folderID, itemID int64, uid uint32) error {
	_, err := t.exec(`INSERT INTO changes (store_id, seq, kind, folder_id, item_id, uid, time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		storeID, int64(seq), string(kind), folderID, itemID, int64(uid), now())
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if t.d.onChange != nil {
		fn := t.d.onChange
		t.after(func() { fn(storeID, seq) })
	}
	return nil
}

// createStore creates a store and, for private stores, its special folders.
func (t *tx) createStore(tenantID, ownerID int64, kind store.StoreKind, locale string) (int64, error) {
	if _, ok := folderNames[locale]; !ok {
		locale = "en_US"
	}
	var id int64
	err := t.row(`INSERT INTO stores (tenant_id, kind, owner_id, locale, created) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		tenantID, string(kind), ownerID, locale, now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create store: %w", err)
	}
	if kind == store.StorePrivate && ownerID != 0 {
		if _, err := t.exec(`UPDATE users SET store_id = ? WHERE id = ?`, id, ownerID); err != nil {
			return 0, err
		}
	}
	if kind != store.StorePrivate {
		return id, nil
	}
	names := folderNames[locale]
	for i, sf := range specialFolders {
		if _, err := t.insertFolder(id, 0, names[i], sf.typ, sf.special); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (t *tx) insertFolder(storeID, parentID int64, name string, typ store.FolderType, special string) (int64, error) {
	uv, err := t.nextUIDValidity()
	if err != nil {
		return 0, err
	}
	var id int64
	err = t.row(`INSERT INTO folders (store_id, parent_id, name, name_lc, type, special, uidvalidity, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, storeID, parentID, name, lc(name), string(typ), special, int64(uv), now()).Scan(&id)
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("folder %q already exists: %w", name, store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("create folder %q: %w", name, err)
	}
	seq, err := t.nextModSeq(storeID, 1)
	if err != nil {
		return 0, err
	}
	if _, err := t.exec(`UPDATE folders SET highestmodseq = ? WHERE id = ?`, int64(seq), id); err != nil {
		return 0, err
	}
	// The owner of a private store is subscribed to its new folders.
	if _, err := t.exec(`INSERT INTO subscriptions (user_id, folder_id) SELECT owner_id, ? FROM stores WHERE id = ? AND owner_id <> 0`, id, storeID); err != nil {
		return 0, err
	}
	return id, t.journal(storeID, seq, store.ChangeFolderCreated, id, 0, 0)
}

// storeRow is what access checks need to know of a store.
type storeRow struct {
	store.Store
	deleted bool
	// Quota settings of the owner and the tenant, loaded with the store so
	// a write checks quota without more queries.
	userOverride bool
	userQuota    store.Quota
	tenantQuota  store.Quota
}

const storeCols = `s.id, s.tenant_id, t.name, s.kind, s.owner_id, COALESCE(u.login, ''), s.former_owner, s.orphan, s.locale, s.size, s.messages, s.created, s.deleted,
	COALESCE(u.quota_override, 0), COALESCE(u.q_warn, 0), COALESCE(u.q_soft, 0), COALESCE(u.q_hard, 0), t.uq_warn, t.uq_soft, t.uq_hard, s.modseq`

const storeFrom = ` FROM stores s JOIN tenants t ON t.id = s.tenant_id LEFT JOIN users u ON u.id = s.owner_id `

func scanStore(sc interface{ Scan(...any) error }) (*storeRow, error) {
	var s storeRow
	dest, finish := storeDest(&s)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return &s, nil
}

// storeDest returns the scan destinations of storeCols and what to do
// once they are filled.
func storeDest(s *storeRow) ([]any, func()) {
	var kind string
	var orphan, deleted, override int
	var created, modseq int64
	return []any{&s.ID, &s.TenantID, &s.Tenant, &kind, &s.OwnerID, &s.Owner, &s.FormerOwner, &orphan, &s.Locale, &s.Size, &s.Messages, &created, &deleted,
			&override, &s.userQuota.Warn, &s.userQuota.Soft, &s.userQuota.Hard, &s.tenantQuota.Warn, &s.tenantQuota.Soft, &s.tenantQuota.Hard, &modseq},
		func() {
			s.ModSeq = uint64(modseq)
			s.userOverride = override != 0
			s.Kind, s.Orphan, s.deleted = store.StoreKind(kind), orphan != 0, deleted != 0
			s.Created = fromMicro(created)
		}
}

func (t *tx) storeByID(id int64) (*storeRow, error) {
	s, err := scanStore(t.row(`SELECT `+storeCols+storeFrom+`WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store %d: %w", id, err)
	}
	return s, nil
}

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

const folderCols = `id, store_id, parent_id, name, type, special, uidvalidity, uidnext, highestmodseq, messages, size, 0, deleted, deleted_at, created`

func scanFolder(sc interface{ Scan(...any) error }) (*store.Folder, error) {
	var f store.Folder
	dest, finish := folderDest(&f)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	finish()
	return &f, nil
}

// folderDest returns the scan destinations of folderCols and what to do
// once they are filled.
func folderDest(f *store.Folder) ([]any, func()) {
	var typ string
	var uv, un, hm int64
	var sub, del int
	var delAt, created int64
	return []any{&f.ID, &f.StoreID, &f.ParentID, &f.Name, &typ, &f.Special, &uv, &un, &hm, &f.Messages, &f.Size, &sub, &del, &delAt, &created},
		func() {
			f.Type, f.UIDValidity, f.UIDNext, f.HighestModSeq = store.FolderType(typ), uint32(uv), uint32(un), uint64(hm)
			f.Subscribed, f.Deleted, f.DeletedAt, f.Created = sub != 0, del != 0, fromMicro(delAt), fromMicro(created)
		}
}

func (t *tx) folderByID(id int64) (*store.Folder, error) {
	f, err := scanFolder(t.row(`SELECT `+folderCols+` FROM folders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("folder %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("folder %d: %w", id, err)
	}
	return f, nil
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

// GetStore implements store.Mail: the principal's own stores, those it
// administers, and stores in which it may look up at least one folder.
func (d *DB) GetStore(ctx context.Context, id int64) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Store
	err = d.read(ctx, func(t *tx) error {
		s, full, err := t.storeAccess(p, id)
		if err != nil {
			return err
		}
		if !full {
			fs, err := t.visibleFolders(p, s, false)
			if err != nil {
				return err
			}
			if len(fs) == 0 {
				return fmt.Errorf("store %d: %w", id, store.ErrNotFound)
			}
		}
		out = &s.Store
		return nil
	})
	return out, err
}

// UserStore implements store.Mail.
func (d *DB) UserStore(ctx context.Context, login string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var sid int64
	err = d.read(ctx, func(t *tx) error {
		u, err := t.visibleUser(p, login)
		if err != nil {
			return err
		}
		sid = u.StoreID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sid == 0 {
		// Just-in-time creation (users that came from LDAP or unix).
		err = d.write(ctx, func(t *tx) error {
			// Lock the user's row first, so that two first logins at once
			// do not create two stores.
			if t.d.dialect == postgres {
				if _, err := t.exec(`SELECT id FROM users WHERE login_lc = ? FOR UPDATE`, lc(login)); err != nil {
					return err
				}
			}
			u, err := t.visibleUser(p, login)
			if err != nil {
				return err
			}
			if u.StoreID != 0 {
				sid = u.StoreID
				return nil
			}
			sid, err = t.createStore(u.TenantID, u.ID, store.StorePrivate, d.getDefaults().Locale)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return d.GetStore(ctx, sid)
}

// ListOrphans implements store.Mail.
func (d *DB) ListOrphans(ctx context.Context) ([]*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Store
	err = d.read(ctx, func(t *tx) error {
		rows, err := t.query(`SELECT ` + storeCols + storeFrom + `WHERE s.orphan = 1 AND s.deleted = 0 ORDER BY s.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanStore(rows)
			if err != nil {
				return err
			}
			if p.AdministersTenant(s.TenantID) {
				out = append(out, &s.Store)
			}
		}
		return rows.Err()
	})
	return out, err
}

// HookStore implements store.Mail.
func (d *DB) HookStore(ctx context.Context, storeID int64, login string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full || !p.AdministersTenant(s.TenantID) {
			return fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		if !s.Orphan {
			return fmt.Errorf("store %d is not an orphan: %w", storeID, store.ErrInvalid)
		}
		if login == "" {
			tn, err := t.tenantByID(s.TenantID)
			if err != nil {
				return err
			}
			if tn.PublicStoreID != 0 {
				return fmt.Errorf("tenant %q already has a public store (%d): %w", tn.Name, tn.PublicStoreID, store.ErrConflict)
			}
			if _, err := t.exec(`UPDATE stores SET orphan = 0, owner_id = 0, kind = 'public' WHERE id = ?`, s.ID); err != nil {
				return err
			}
			return t.setPublicStore(tn, s.ID)
		}
		u, err := t.administeredUser(p, login)
		if err != nil {
			return err
		}
		if u.TenantID != s.TenantID {
			return fmt.Errorf("store %d belongs to another tenant than user %q: %w", storeID, login, store.ErrInvalid)
		}
		if u.StoreID != 0 {
			// The user's current store becomes an orphan in its place.
			if _, err := t.exec(`UPDATE stores SET orphan = 1, owner_id = 0 WHERE id = ?`, u.StoreID); err != nil {
				return err
			}
		}
		if _, err := t.exec(`UPDATE stores SET orphan = 0, owner_id = ? WHERE id = ?`, u.ID, s.ID); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE users SET store_id = ? WHERE id = ?`, s.ID, u.ID)
		return err
	})
}

// RemoveStore implements store.Mail: the orphan is soft-deleted and purged
// with the rest after softdelete_lifetime.
func (d *DB) RemoveStore(ctx context.Context, storeID int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		s, _, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(s.TenantID) {
			return fmt.Errorf("store %d: %w", storeID, store.ErrPermission)
		}
		if !s.Orphan {
			return fmt.Errorf("store %d is not an orphan; only orphaned stores can be removed: %w", storeID, store.ErrInvalid)
		}
		_, err = t.exec(`UPDATE stores SET deleted = 1, deleted_at = ? WHERE id = ?`, now(), s.ID)
		return err
	})
}

// setPublicStore makes storeID the tenant's public store unless another
// writer made one since the caller looked (a compare-and-set).
func (t *tx) setPublicStore(tn *store.Tenant, storeID int64) error {
	res, err := t.exec(`UPDATE tenants SET public_store_id = ? WHERE id = ? AND public_store_id = 0`, storeID, tn.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("tenant %q already has a public store: %w", tn.Name, store.ErrConflict)
	}
	return nil
}

// CreatePublicStore implements store.Mail.
func (d *DB) CreatePublicStore(ctx context.Context, tenant string) (*store.Store, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var id int64
	err = d.write(ctx, func(t *tx) error {
		tn, err := t.resolveTenant(p, tenant)
		if err != nil {
			return err
		}
		if !p.AdministersTenant(tn.ID) {
			return fmt.Errorf("not an administrator of tenant %q: %w", tn.Name, store.ErrPermission)
		}
		if tn.PublicStoreID != 0 {
			return fmt.Errorf("tenant %q already has a public store (%d): %w", tn.Name, tn.PublicStoreID, store.ErrConflict)
		}
		if id, err = t.createStore(tn.ID, 0, store.StorePublic, d.getDefaults().Locale); err != nil {
			return err
		}
		return t.setPublicStore(tn, id)
	})
	if err != nil {
		return nil, err
	}
	return d.GetStore(ctx, id)
}

// visibleFolders lists the folders of s that p may look up.
func (t *tx) visibleFolders(p *store.Principal, s *storeRow, deleted bool) ([]*store.Folder, error) {
	// The listing carries the principal's subscriptions (folderSubCols).
	rows, err := t.query(`SELECT `+folderSubCols+` FROM folders f WHERE f.store_id = ? AND f.deleted = ? ORDER BY f.parent_id, f.name_lc`,
		p.UserID, s.ID, b2i(deleted))
	if err != nil {
		return nil, err
	}
	var all []*store.Folder
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if ownsOrAdmins(p, s) {
		return all, nil
	}
	var out []*store.Folder
	for _, f := range all {
		if _, err := t.folderAccess(p, f.ID, "l", deleted); err == nil {
			out = append(out, f)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}

// ListFolders implements store.Mail.
func (d *DB) ListFolders(ctx context.Context, storeID int64) ([]*store.Folder, error) {
	return d.listFolders(ctx, storeID, false)
}

// ListDeletedFolders implements store.Mail.
func (d *DB) ListDeletedFolders(ctx context.Context, storeID int64) ([]*store.Folder, error) {
	return d.listFolders(ctx, storeID, true)
}

func (d *DB) listFolders(ctx context.Context, storeID int64, deleted bool) ([]*store.Folder, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.Folder
	err = d.read(ctx, func(t *tx) error {
		s, _, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		out, err = t.visibleFolders(p, s, deleted) // with subscriptions
		return err
	})
	return out, err
}

// GetFolder implements store.Mail.
func (d *DB) GetFolder(ctx context.Context, folderID int64) (*store.Folder, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out *store.Folder
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "l", false)
		if err != nil {
			return err
		}
		out = a.folder // Subscribed read by folderAccess
		return nil
	})
	return out, err
}

// ValidFolderName checks one level of a folder name.
func validFolderName(name string) error {
	if name == "" || len(name) > maxFolderNameLen {
		return fmt.Errorf("folder name must be 1 to %d bytes: %w", maxFolderNameLen, store.ErrInvalid)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("folder name %q is not allowed: %w", name, store.ErrInvalid)
	}
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("folder name %q has leading or trailing space: %w", name, store.ErrInvalid)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '/' || r == 0xfffd {
			return fmt.Errorf("folder name %q contains %q: %w", name, r, store.ErrInvalid)
		}
	}
	return nil
}

func validFolderType(typ store.FolderType) error {
	switch typ {
	case store.FolderMail, store.FolderCalendar, store.FolderContacts, store.FolderTasks, store.FolderNotes:
		return nil
	}
	return fmt.Errorf("unknown folder type %q: %w", typ, store.ErrInvalid)
}

// depth returns how many ancestors folder id has (0 for top level).
func (t *tx) depth(id int64) (int, error) {
	n := 0
	for id != 0 {
		if n > maxFolderDepth {
			return n, nil
		}
		if err := t.row(`SELECT parent_id FROM folders WHERE id = ?`, id).Scan(&id); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// parentAccess checks that p may create a child under parentID (0 = the
// store's top level, which only its owner and administrators may change).
func (t *tx) parentAccess(p *store.Principal, storeID, parentID int64) (*storeRow, error) {
	if parentID == 0 {
		s, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return nil, err
		}
		if !full {
			fs, err := t.visibleFolders(p, s, false)
			if err != nil {
				return nil, err
			}
			if len(fs) == 0 {
				return nil, fmt.Errorf("store %d: %w", storeID, store.ErrNotFound)
			}
			return nil, fmt.Errorf("top level of store %d: %w", storeID, store.ErrPermission)
		}
		return s, nil
	}
	a, err := t.folderAccess(p, parentID, "k", false)
	if err != nil {
		return nil, err
	}
	if a.st.ID != storeID {
		return nil, fmt.Errorf("parent folder %d is in another store: %w", parentID, store.ErrInvalid)
	}
	return a.st, nil
}

// CreateFolder implements store.Mail.
func (d *DB) CreateFolder(ctx context.Context, storeID, parentID int64, name string, typ store.FolderType) (*store.Folder, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := validFolderName(name); err != nil {
		return nil, err
	}
	if err := validFolderType(typ); err != nil {
		return nil, err
	}
	var out *store.Folder
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		if _, err := t.parentAccess(p, storeID, parentID); err != nil {
			return err
		}
		dp, err := t.depth(parentID)
		if err != nil {
			return err
		}
		if dp >= maxFolderDepth {
			return fmt.Errorf("folders nest at most %d deep: %w", maxFolderDepth, store.ErrInvalid)
		}
		var n int
		if err := t.row(`SELECT COUNT(*) FROM folders WHERE store_id = ?`, storeID).Scan(&n); err != nil {
			return err
		}
		if n >= maxFoldersPerSt {
			return fmt.Errorf("a store holds at most %d folders: %w", maxFoldersPerSt, store.ErrOverQuota)
		}
		id, err := t.insertFolder(storeID, parentID, name, typ, "")
		if err != nil {
			return err
		}
		// A subfolder starts with its parent's ACL (as in Cyrus), so a
		// delegate who creates one in a shared folder can still see it.
		if parentID != 0 {
			if _, err := t.exec(`INSERT INTO acl (folder_id, subject, rights) SELECT ?, subject, rights FROM acl WHERE folder_id = ?`, id, parentID); err != nil {
				return fmt.Errorf("inherit ACL: %w", err)
			}
		}
		if out, err = t.folderByID(id); err != nil {
			return err
		}
		return t.markSubscribed(p, out)
	})
	return out, err
}

// RenameFolder implements store.Mail. Special folders keep their place.
func (d *DB) RenameFolder(ctx context.Context, folderID, newParentID int64, newName string) (*store.Folder, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := validFolderName(newName); err != nil {
		return nil, err
	}
	var out *store.Folder
	err = d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "x", false)
		if err != nil {
			return err
		}
		if a.folder.Special != "" && newParentID != a.folder.ParentID {
			return fmt.Errorf("special folder %q cannot be moved: %w", a.folder.Name, store.ErrInvalid)
		}
		if _, err := t.parentAccess(p, a.st.ID, newParentID); err != nil {
			return err
		}
		// The new parent must not be the folder or one of its descendants.
		for id := newParentID; id != 0; {
			if id == folderID {
				return fmt.Errorf("a folder cannot move into itself: %w", store.ErrInvalid)
			}
			if err := t.row(`SELECT parent_id FROM folders WHERE id = ?`, id).Scan(&id); err != nil {
				return err
			}
		}
		seq, err := t.nextModSeq(a.st.ID, 1)
		if err != nil {
			return err
		}
		_, err = t.exec(`UPDATE folders SET parent_id = ?, name = ?, name_lc = ?, highestmodseq = ? WHERE id = ?`,
			newParentID, newName, lc(newName), int64(seq), folderID)
		if isUniqueViolation(err) {
			return fmt.Errorf("folder %q already exists: %w", newName, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		if err := t.journal(a.st.ID, seq, store.ChangeFolderUpdated, folderID, 0, 0); err != nil {
			return err
		}
		if out, err = t.folderByID(folderID); err != nil {
			return err
		}
		return t.markSubscribed(p, out)
	})
	return out, err
}

// subtree returns id and all its live (or deleted at the same moment)
// descendants.
func (t *tx) subtree(id int64, deletedAt int64) ([]int64, error) {
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		q := `SELECT id FROM folders WHERE parent_id = ? AND deleted = 0`
		args := []any{out[i]}
		if deletedAt != 0 {
			q = `SELECT id FROM folders WHERE parent_id = ? AND deleted = 1 AND deleted_at = ?`
			args = append(args, deletedAt)
		}
		rows, err := t.query(q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c int64
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		rows.Close()
		if len(out) > maxFoldersPerSt {
			break
		}
	}
	return out, nil
}

// DeleteFolder implements store.Mail: the folder and its subfolders are
// soft-deleted together and can be restored together.
func (d *DB) DeleteFolder(ctx context.Context, folderID int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "x", false)
		if err != nil {
			return err
		}
		if a.folder.Special != "" {
			return fmt.Errorf("special folder %q cannot be deleted: %w", a.folder.Name, store.ErrInvalid)
		}
		ids, err := t.subtree(folderID, 0)
		if err != nil {
			return err
		}
		at := now()
		seq, err := t.nextModSeq(a.st.ID, len(ids))
		if err != nil {
			return err
		}
		for i, id := range ids {
			f, err := t.folderByID(id)
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE folders SET deleted = 1, deleted_at = ? WHERE id = ?`, at, id); err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE stores SET size = size - ?, messages = messages - ? WHERE id = ?`, f.Size, f.Messages, a.st.ID); err != nil {
				return err
			}
			if err := t.journal(a.st.ID, seq+uint64(i), store.ChangeFolderDeleted, id, 0, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// RestoreFolder implements store.Mail. A restored folder whose name was
// taken in the meantime gets " (restored)" appended; one whose parent is
// gone is restored at the top level.
func (d *DB) RestoreFolder(ctx context.Context, folderID int64) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "x", true)
		if err != nil {
			return err
		}
		if !a.folder.Deleted {
			return fmt.Errorf("folder %q is not deleted: %w", a.folder.Name, store.ErrInvalid)
		}
		if !ownsOrAdmins(p, a.st) {
			return fmt.Errorf("folder %q: only the owner restores folders: %w", a.folder.Name, store.ErrPermission)
		}
		ids, err := t.subtree(folderID, a.folder.DeletedAt.UnixMicro())
		if err != nil {
			return err
		}
		parent := a.folder.ParentID
		if parent != 0 {
			pf, err := t.folderByID(parent)
			if err != nil || pf.Deleted {
				parent = 0
			}
		}
		name := a.folder.Name
		for i := 0; ; i++ {
			var n int
			if err := t.row(`SELECT COUNT(*) FROM folders WHERE store_id = ? AND parent_id = ? AND name_lc = ? AND deleted = 0`, a.st.ID, parent, lc(name)).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				break
			}
			name = fmt.Sprintf("%s (restored %d)", a.folder.Name, i+1)
		}
		seq, err := t.nextModSeq(a.st.ID, len(ids))
		if err != nil {
			return err
		}
		for i, id := range ids {
			if id == folderID {
				_, err = t.exec(`UPDATE folders SET deleted = 0, deleted_at = 0, parent_id = ?, name = ?, name_lc = ? WHERE id = ?`, parent, name, lc(name), id)
			} else {
				_, err = t.exec(`UPDATE folders SET deleted = 0, deleted_at = 0 WHERE id = ?`, id)
			}
			if err != nil {
				return err
			}
			f, err := t.folderByID(id)
			if err != nil {
				return err
			}
			if _, err := t.exec(`UPDATE stores SET size = size + ?, messages = messages + ? WHERE id = ?`, f.Size, f.Messages, a.st.ID); err != nil {
				return err
			}
			if err := t.journal(a.st.ID, seq+uint64(i), store.ChangeFolderCreated, id, 0, 0); err != nil {
				return err
			}
		}
		return nil
	})
}

// SetSubscribed implements store.Mail.
func (d *DB) SetSubscribed(ctx context.Context, folderID int64, on bool) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "l", false); err != nil {
			return err
		}
		if p.UserID == 0 {
			return fmt.Errorf("subscriptions belong to users: %w", store.ErrInvalid)
		}
		var err error
		if on {
			_, err = t.exec(`INSERT INTO subscriptions (user_id, folder_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.UserID, folderID)
		} else {
			_, err = t.exec(`DELETE FROM subscriptions WHERE user_id = ? AND folder_id = ?`, p.UserID, folderID)
		}
		return err
	})
}

// GetACL implements store.Mail (needs the "a" right, RFC 4314 GETACL).
func (d *DB) GetACL(ctx context.Context, folderID int64) ([]store.ACLEntry, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.ACLEntry
	err = d.read(ctx, func(t *tx) error {
		if _, err := t.folderAccess(p, folderID, "a", false); err != nil {
			return err
		}
		out, err = t.aclOf(folderID)
		return err
	})
	return out, err
}

// SetACL implements store.Mail. Subjects name users or groups of the
// folder's tenant, or "anyone".
func (d *DB) SetACL(ctx context.Context, folderID int64, subject, rights string) error {
	p, err := store.Require(ctx)
	if err != nil {
		return err
	}
	norm, err := store.NormalizeRights(rights)
	if err != nil {
		return err
	}
	return d.write(ctx, func(t *tx) error {
		if err := t.lockFolders(folderID); err != nil {
			return err
		}
		a, err := t.folderAccess(p, folderID, "a", false)
		if err != nil {
			return err
		}
		subj, err := t.canonicalSubject(p, a.st, subject)
		if err != nil {
			return err
		}
		if norm == "" {
			_, err = t.exec(`DELETE FROM acl WHERE folder_id = ? AND subject = ?`, folderID, subj)
		} else {
			_, err = t.exec(`INSERT INTO acl (folder_id, subject, rights) VALUES (?, ?, ?) ON CONFLICT (folder_id, subject) DO UPDATE SET rights = excluded.rights`, folderID, subj, norm)
		}
		if err != nil {
			return err
		}
		seq, err := t.nextModSeq(a.st.ID, 1)
		if err != nil {
			return err
		}
		return t.journal(a.st.ID, seq, store.ChangeFolderUpdated, folderID, 0, 0)
	})
}

// canonicalSubject checks an ACL subject and returns it lower-cased.
func (t *tx) canonicalSubject(p *store.Principal, s *storeRow, subject string) (string, error) {
	subject = lc(subject)
	switch {
	case subject == store.SubjectAnyone:
		return subject, nil
	case strings.HasPrefix(subject, "user:"):
		u, err := t.userByLogin(subject[5:])
		if err != nil {
			return "", err
		}
		if u.TenantID != s.TenantID {
			var n int
			if err := t.row(`SELECT COUNT(*) FROM tenant_viewers WHERE tenant_id = ? AND viewer_id = ?`, s.TenantID, u.TenantID).Scan(&n); err != nil {
				return "", err
			}
			if n == 0 {
				return "", notFound("user", subject[5:])
			}
		}
		return store.UserSubject(lc(u.Login)), nil
	case strings.HasPrefix(subject, "group:"):
		if _, err := t.groupByName(s.TenantID, subject[6:]); err != nil {
			return "", err
		}
		return subject, nil
	}
	return "", fmt.Errorf("ACL subject %q: want anyone, user:LOGIN or group:NAME: %w", subject, store.ErrInvalid)
}

// DeleteACL implements store.Mail.
func (d *DB) DeleteACL(ctx context.Context, folderID int64, subject string) error {
	return d.SetACL(ctx, folderID, subject, "")
}

// MyRights implements store.Mail.
func (d *DB) MyRights(ctx context.Context, folderID int64) (string, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return "", err
	}
	var out string
	err = d.read(ctx, func(t *tx) error {
		a, err := t.folderAccess(p, folderID, "", false)
		if err != nil {
			return err
		}
		out = a.rights
		return nil
	})
	return out, err
}

// SharedFolders implements store.Mail.
func (d *DB) SharedFolders(ctx context.Context) ([]store.SharedFolder, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	subjects := []any{store.SubjectAnyone}
	if p.Login != "" {
		subjects = append(subjects, store.UserSubject(lc(p.Login)))
	}
	for _, g := range p.Groups {
		subjects = append(subjects, store.GroupSubject(lc(g)))
	}
	var out []store.SharedFolder
	err = d.read(ctx, func(t *tx) error {
		q := `SELECT DISTINCT a.folder_id FROM acl a JOIN folders f ON f.id = a.folder_id JOIN stores s ON s.id = f.store_id
			WHERE f.deleted = 0 AND s.deleted = 0 AND s.owner_id <> ? AND a.subject IN (?` + strings.Repeat(",?", len(subjects)-1) + `)
			ORDER BY a.folder_id LIMIT 10000`
		rows, err := t.query(q, append([]any{p.UserID}, subjects...)...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			a, err := t.folderAccess(p, id, "l", false)
			if errors.Is(err, store.ErrNotFound) {
				continue // e.g. "anyone" of another tenant
			}
			if err != nil {
				return err
			}
			st := a.st.Store
			out = append(out, store.SharedFolder{Folder: a.folder, Store: &st, Rights: a.rights})
		}
		fs := make([]*store.Folder, len(out))
		for i := range out {
			fs[i] = out[i].Folder
		}
		return t.markSubscribed(p, fs...)
	})
	return out, err
}

// markSubscribed sets Folder.Subscribed for the principal.
func (t *tx) markSubscribed(p *store.Principal, fs ...*store.Folder) error {
	if p.UserID == 0 || len(fs) == 0 {
		return nil
	}
	if len(fs) == 1 {
		// One folder (GetFolder, the IMAP sync path): a point lookup.
		var n int
		err := t.row(`SELECT 1 FROM subscriptions WHERE user_id = ? AND folder_id = ?`, p.UserID, fs[0].ID).Scan(&n)
		if err != nil && !isNoRows(err) {
			return err
		}
		fs[0].Subscribed = err == nil
		return nil
	}
	rows, err := t.query(`SELECT folder_id FROM subscriptions WHERE user_id = ?`, p.UserID)
	if err != nil {
		return err
	}
	defer rows.Close()
	subs := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		subs[id] = true
	}
	for _, f := range fs {
		f.Subscribed = subs[f.ID]
	}
	return rows.Err()
}
