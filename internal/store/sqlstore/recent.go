package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// ClaimRecent implements store.Mail. The watermark's property row is
// created if missing and locked in one upsert, so that concurrent claims
// of one folder take turns: each reads the value the previous one wrote.
func (d *DB) ClaimRecent(ctx context.Context, folderID int64, uidValidity, uid uint32) (uint32, error) {
	p, err := store.Require(ctx)
	if err != nil {
		return 0, err
	}
	var prev uint32
	err = d.write(ctx, func(t *tx) error {
		prev = 0
		if _, err := t.folderAccess(p, folderID, "r", false); err != nil {
			return err
		}
		target := idStr(folderID)
		// One statement creates the row if missing, or locks it (a no-op
		// update), and reads its value.
		var v string
		if err := t.row(`INSERT INTO props (kind, target, principal, key, value) VALUES (?, ?, 0, ?, '')
			ON CONFLICT (kind, target, principal, key) DO UPDATE SET value = props.value RETURNING value`,
			propFolder, target, store.RecentProp).Scan(&v); err != nil {
			return fmt.Errorf("recent watermark: %w", err)
		}
		prev = ParseRecent(v, uidValidity)
		next := fmt.Sprintf("%d:%d", uidValidity, max(prev, uid))
		if next == v {
			return nil
		}
		if _, err := t.exec(`UPDATE props SET value = ? WHERE kind = ? AND target = ? AND principal = 0 AND key = ?`,
			next, propFolder, target, store.RecentProp); err != nil {
			return fmt.Errorf("recent watermark: %w", err)
		}
		return nil
	})
	return prev, err
}

// ParseRecent reads a \Recent watermark ("UIDVALIDITY:UID"): 0 when it is
// empty, malformed or of another UIDVALIDITY.
func ParseRecent(v string, uidValidity uint32) uint32 {
	vs, us, ok := strings.Cut(v, ":")
	validity, err1 := strconv.ParseUint(vs, 10, 32)
	uid, err2 := strconv.ParseUint(us, 10, 32)
	if !ok || err1 != nil || err2 != nil || uint32(validity) != uidValidity {
		return 0
	}
	return uint32(uid)
}
