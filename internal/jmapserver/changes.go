package jmapserver

import (
	"fmt"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// journalDiff folds a store's change journal from since on into created,
// updated and destroyed ids (RFC 8620 §5.2), reading the one journal every
// adapter writes. classify maps an entry to an object id and whether it
// creates, updates or destroys it ("" skips the entry). At most max ids
// are reported; the new state is then the last entry taken, and more is
// true.
func (c *call) journalDiff(st *store.Store, since uint64, max int,
	classify func(store.Change) (id string, kind store.ChangeKind)) (created, updated, destroyed []string, newState uint64, more bool, err error) {
	if since > st.ModSeq {
		return nil, nil, nil, 0, false, jmap.Errorf(jmap.ErrCannotCalculateChanges, "state %d is in the future", since)
	}
	type track struct {
		first, last store.ChangeKind
		order       int
	}
	seen := map[string]*track{}
	var order []string
	pos := since
	const batch = 1000
scan:
	for pos < st.ModSeq {
		chs, err := c.s.o.Store.Changes(c.ctx, st.ID, pos, batch)
		if err != nil {
			return nil, nil, nil, 0, false, fmt.Errorf("journal of store %d since %d: %w", st.ID, pos, err)
		}
		if len(chs) == 0 {
			break
		}
		for _, ch := range chs {
			if ch.Seq > st.ModSeq {
				break scan
			}
			if ch.Kind == store.ChangeShareNotification || ch.Kind == store.ChangeHomeNode {
				// ShareNotification/changes reads the former
				// (sharenotify.go); the latter changes no object.
				pos = ch.Seq
				continue
			}
			id, kind := classify(ch)
			if id != "" {
				t := seen[id]
				if t == nil {
					if len(seen) >= max {
						more = true
						break scan
					}
					t = &track{first: kind, order: len(order)}
					seen[id] = t
					order = append(order, id)
				}
				t.last = kind
			}
			pos = ch.Seq
		}
		if len(chs) < batch {
			break
		}
	}
	if !more {
		pos = st.ModSeq
	}
	created, updated, destroyed = []string{}, []string{}, []string{}
	for _, id := range order {
		t := seen[id]
		isCreate := func(k store.ChangeKind) bool {
			return k == store.ChangeItemCreated || k == store.ChangeFolderCreated
		}
		isDelete := func(k store.ChangeKind) bool {
			return k == store.ChangeItemDeleted || k == store.ChangeFolderDeleted
		}
		switch {
		case isCreate(t.first) && isDelete(t.last):
			// created and destroyed since: never seen by the client
		case isCreate(t.first):
			created = append(created, id)
		case isDelete(t.last):
			destroyed = append(destroyed, id)
		default:
			// an update, or a move (deleted in one folder, created in
			// another: the item keeps its id)
			updated = append(updated, id)
		}
	}
	return created, updated, destroyed, pos, more, nil
}

// mailFolders returns the types of the store's folders, live and
// deleted, so that journal entries of calendars and contacts are skipped.
func (c *call) folderTypes(st *store.Store) (map[int64]store.FolderType, error) {
	out := map[int64]store.FolderType{}
	live, err := c.s.o.Store.ListFolders(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("folders of store %d: %w", st.ID, err)
	}
	dead, err := c.s.o.Store.ListDeletedFolders(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("deleted folders of store %d: %w", st.ID, err)
	}
	for _, f := range append(live, dead...) {
		out[f.ID] = f.Type
	}
	return out, nil
}
