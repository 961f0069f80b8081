package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Share notifications (store.ShareNotification): SetACL writes one into
// the store of the user an entry names, in its transaction, with a
// journal entry of that store, so that the recipient's state moves and
// its push fires. Destroying one is journaled the same way; destroyed
// rows stay (deleted_seq) for /changes until the purge.

const shareNotificationCols = `id, store_id, seq, deleted_seq, created, changed_by, object_store_id, folder_id, folder_type, name, old_rights, new_rights`

// maxShareNotificationRows bounds one ShareNotifications answer (live
// and recently destroyed ones).
const maxShareNotificationRows = 2 * store.MaxShareNotifications

// addShareNotification records in the recipient's store that the rights
// on folder f of store objectStore went from old to new. The caller has
// locked the recipient's store.
func (t *tx) addShareNotification(recipient int64, changedBy string, objectStore int64, f *store.Folder, old, new string) error {
	seq, err := t.nextModSeq(recipient, 1)
	if err != nil {
		return err
	}
	if _, err := t.exec(`INSERT INTO share_notifications (store_id, seq, created, changed_by, object_store_id, folder_id, folder_type, name, old_rights, new_rights)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, recipient, int64(seq), t.now(), changedBy, objectStore, f.ID, string(f.Type), f.Name, old, new); err != nil {
		return fmt.Errorf("share notification: %w", err)
	}
	// Beyond the bound the oldest live ones go, at the same position.
	var live int
	if err := t.row(`SELECT COUNT(*) FROM share_notifications WHERE store_id = ? AND deleted_seq = 0`, recipient).Scan(&live); err != nil {
		return err
	}
	if live > store.MaxShareNotifications {
		if _, err := t.exec(`UPDATE share_notifications SET deleted_seq = ?, deleted_at = ? WHERE id IN
			(SELECT id FROM share_notifications WHERE store_id = ? AND deleted_seq = 0 ORDER BY id LIMIT ?)`,
			int64(seq), t.now(), recipient, live-store.MaxShareNotifications); err != nil {
			return fmt.Errorf("share notifications beyond %d: %w", store.MaxShareNotifications, err)
		}
	}
	return t.journal(recipient, seq, store.ChangeShareNotification, 0, 0, 0)
}

// ShareNotifications implements store.Mail.
func (d *DB) ShareNotifications(ctx context.Context, storeID int64, since uint64) ([]store.ShareNotification, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.ShareNotification
	err = d.read(ctx, func(t *tx) error {
		_, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full {
			return fmt.Errorf("share notifications of store %d: %w", storeID, store.ErrPermission)
		}
		q := `SELECT ` + shareNotificationCols + ` FROM share_notifications WHERE store_id = ? AND deleted_seq = 0 ORDER BY id LIMIT ?`
		args := []any{storeID, maxShareNotificationRows}
		if since > 0 {
			q = `SELECT ` + shareNotificationCols + ` FROM share_notifications WHERE store_id = ? AND (deleted_seq = 0 OR deleted_seq > ?) ORDER BY id LIMIT ?`
			args = []any{storeID, int64(since), maxShareNotificationRows}
		}
		rows, err := t.query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n store.ShareNotification
			var seq, dseq, created int64
			var typ string
			if err := rows.Scan(&n.ID, &n.StoreID, &seq, &dseq, &created, &n.ChangedBy, &n.ObjectStoreID, &n.FolderID, &typ,
				&n.Name, &n.OldRights, &n.NewRights); err != nil {
				return err
			}
			n.Seq, n.DeletedSeq, n.Created, n.FolderType = uint64(seq), uint64(dseq), fromMicro(created), store.FolderType(typ)
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteShareNotifications implements store.Mail.
func (d *DB) DeleteShareNotifications(ctx context.Context, storeID int64, ids []int64) ([]int64, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) > store.MaxShareNotifications {
		return nil, fmt.Errorf("at most %d share notifications per call: %w", store.MaxShareNotifications, store.ErrInvalid)
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var out []int64
	err = d.write(ctx, func(t *tx) error {
		out = nil
		if err := t.lockStore(storeID); err != nil {
			return err
		}
		_, full, err := t.storeAccess(p, storeID)
		if err != nil {
			return err
		}
		if !full {
			return fmt.Errorf("share notifications of store %d: %w", storeID, store.ErrPermission)
		}
		if len(ids) == 0 {
			return nil
		}
		args := []any{storeID}
		for _, id := range ids {
			args = append(args, id)
		}
		in := `(?` + strings.Repeat(",?", len(ids)-1) + `)`
		rows, err := t.query(`SELECT id FROM share_notifications WHERE store_id = ? AND deleted_seq = 0 AND id IN `+in+` ORDER BY id`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			out = append(out, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		seq, err := t.nextModSeq(storeID, 1)
		if err != nil {
			return err
		}
		args = []any{int64(seq), t.now(), storeID}
		for _, id := range out {
			args = append(args, id)
		}
		if _, err := t.exec(`UPDATE share_notifications SET deleted_seq = ?, deleted_at = ? WHERE store_id = ? AND id IN (?`+
			strings.Repeat(",?", len(out)-1)+`)`, args...); err != nil {
			return fmt.Errorf("destroy share notifications: %w", err)
		}
		return t.journal(storeID, seq, store.ChangeShareNotification, 0, 0, 0)
	})
	return out, err
}

// shareFanout lists the users with a store that a "group:" or "anyone"
// ACL entry on a folder of store storeID covers: the members of the
// group, every user of the store's tenant for "anyone" and the Everyone
// group. Nil for other subjects, an unknown group, or more than
// store.MaxShareFanout users (then nobody is notified).
func (t *tx) shareFanout(storeID int64, subject string) ([]*store.User, error) {
	subject = lc(subject)
	if subject != store.SubjectAnyone && !strings.HasPrefix(subject, "group:") || storeID == 0 {
		return nil, nil
	}
	var tenant int64
	if err := t.row(`SELECT tenant_id FROM stores WHERE id = ?`, storeID).Scan(&tenant); err != nil {
		if isNoRows(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("tenant of store %d: %w", storeID, err)
	}
	var q string
	args := []any{tenant}
	if subject == store.SubjectAnyone || subject == "group:"+lc(store.EveryoneGroup) {
		q = `SELECT id FROM users WHERE tenant_id = ? AND store_id <> 0 AND store_id <> ? ORDER BY id LIMIT ?`
	} else {
		q = `SELECT u.id FROM group_members m JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.user_id
			WHERE g.tenant_id = ? AND g.name_lc = ? AND u.store_id <> 0 AND u.store_id <> ? ORDER BY u.id LIMIT ?`
		args = append(args, subject[len("group:"):])
	}
	args = append(args, storeID, store.MaxShareFanout+1)
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("users of %s: %w", subject, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) > store.MaxShareFanout {
		return nil, nil
	}
	out := make([]*store.User, 0, len(ids))
	for _, id := range ids {
		u, err := t.userByID(id)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", id, err)
		}
		if err := t.fillUser(u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// notifyFanout writes a share notification for every user of fanout
// whose effective rights on a's folder change when the entry subj gets
// rights norm: the user's own entry, other groups and "anyone" count,
// so a member who keeps the same rights hears nothing. The caller has
// locked the users' stores.
func (t *tx) notifyFanout(p *store.Principal, a *access, fanout []*store.User, subj, norm string) error {
	before, err := t.aclOf(a.folder.ID)
	if err != nil {
		return fmt.Errorf("ACL of folder %d: %w", a.folder.ID, err)
	}
	after := slices.DeleteFunc(slices.Clone(before), func(e store.ACLEntry) bool { return e.Subject == subj })
	if norm != "" {
		after = append(after, store.ACLEntry{Subject: subj, Rights: norm})
	}
	for _, u := range fanout {
		up := &store.Principal{UserID: u.ID, Login: u.Login, TenantID: u.TenantID, Admin: u.Admin, Groups: u.Groups}
		old := store.EffectiveRights(up, a.st.TenantID, a.st.OwnerID, before)
		now := store.EffectiveRights(up, a.st.TenantID, a.st.OwnerID, after)
		if old == now {
			continue
		}
		if err := t.addShareNotification(u.StoreID, p.Login, a.st.ID, a.folder, old, now); err != nil {
			return err
		}
	}
	return nil
}
