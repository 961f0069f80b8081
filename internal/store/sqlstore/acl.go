package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

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
		// Lock the folder's store and, for a user's entry, the store of
		// that user, which gets a share notification: in id order, as
		// every writer locking two stores.
		// A principal without the administer right is refused before
		// anything is locked or looked up for the notifications (and
		// checked again once the locks are held).
		if _, err := t.folderAccess(p, folderID, "a", false); err != nil {
			return err
		}
		var owner, recipient int64
		if err := t.row(`SELECT store_id FROM folders WHERE id = ?`, folderID).Scan(&owner); err != nil && !isNoRows(err) {
			return fmt.Errorf("store of folder %d: %w", folderID, err)
		}
		if l := lc(subject); strings.HasPrefix(l, "user:") {
			if err := t.row(`SELECT store_id FROM users WHERE login_lc = ?`, l[5:]).Scan(&recipient); err != nil && !isNoRows(err) {
				return fmt.Errorf("store of %s: %w", subject, err)
			}
		}
		// A group or "anyone" entry notifies the users it covers
		// (bounded): their stores are locked with the others.
		fanout, err := t.shareFanout(owner, subject)
		if err != nil {
			return err
		}
		locks := []int64{owner, recipient}
		for _, u := range fanout {
			locks = append(locks, u.StoreID)
		}
		if err := t.lockStore(locks...); err != nil {
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
		var old string
		if err := t.row(`SELECT rights FROM acl WHERE folder_id = ? AND subject = ?`, folderID, subj).Scan(&old); err != nil && !isNoRows(err) {
			return fmt.Errorf("ACL of folder %d: %w", folderID, err)
		}
		if strings.HasPrefix(subj, "user:") && old != norm {
			// RFC 9670 §4: the user whose rights changed learns it.
			// subj is that user's login, lower-cased, as the lookup of
			// recipient above, whose store is locked already.
			if recipient != 0 && recipient != a.st.ID {
				if err := t.addShareNotification(recipient, p.Login, a.st.ID, a.folder, old, norm); err != nil {
					return err
				}
			}
		}
		if len(fanout) > 0 && old != norm && !strings.HasPrefix(subj, "user:") {
			if err := t.notifyFanout(p, a, fanout, subj, norm); err != nil {
				return err
			}
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
