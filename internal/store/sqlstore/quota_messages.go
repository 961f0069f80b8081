package sqlstore

import (
	"fmt"

	"github.com/roost-mail/roost/internal/store"
)

// messageLimit is how many items a store may hold: the global
// Defaults.MaxMessages for private stores, none for public ones (which
// count toward their tenant, like their size).
func (t *tx) messageLimit(s *storeRow) int64 {
	if s.Kind == store.StorePublic || s.Kind == store.StoreArchive {
		return 0
	}
	return t.d.getDefaults().MaxMessages
}

// checkMessageLimit refuses adding n items to a store past its message
// limit. s was loaded in this transaction, so its count is current.
func (t *tx) checkMessageLimit(s *storeRow, n int) error {
	lim := t.messageLimit(s)
	if lim > 0 && n > 0 && s.Messages+int64(n) > lim {
		return fmt.Errorf("store %d: %d messages, limit %d: %w", s.ID, s.Messages, lim, store.ErrOverQuota)
	}
	return nil
}
