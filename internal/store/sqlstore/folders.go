package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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

func (t *tx) insertFolder(storeID, parentID int64, name string, typ store.FolderType, special string) (int64, error) {
	uv, err := t.nextUIDValidity()
	if err != nil {
		return 0, err
	}
	var id int64
	err = t.row(`INSERT INTO folders (store_id, parent_id, name, name_lc, type, special, uidvalidity, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, storeID, parentID, name, lc(name), string(typ), special, int64(uv), t.now()).Scan(&id)
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
		if err := storeWritable(p, s); err != nil {
			return nil, err
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
		at := t.now()
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
		if err := storeWritable(p, a.st); err != nil {
			return err
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
