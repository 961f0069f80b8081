package sqlstore

import (
	"container/list"
	"sort"
	"sync"

	"github.com/roost-mail/roost/internal/store"
)

// listCache keeps the full listing (UID, MODSEQ, flags, size, date) of
// recently listed large folders, so that IMAP SELECT of a 100,000-message
// folder does not read 100,000 rows each time. An entry is valid only for
// the folder's UIDVALIDITY and HIGHESTMODSEQ it was read at: every change
// to a folder's items raises its HIGHESTMODSEQ, so a cached listing is
// served only while nothing changed. Bounded by the number of summaries.
type listCache struct {
	mu  sync.Mutex
	max int
	n   int
	ll  *list.List
	m   map[int64]*list.Element
}

type listEntry struct {
	folder      int64
	uidValidity uint32
	hms         uint64
	// The folder's UIDNEXT and message count at hms: its membership.
	uidNext  uint32
	messages int64
	items    []store.ItemSummary // never modified once cached

	byIDOnce sync.Once
	byID     []int32 // positions in items, in ascending item id order
}

// sortedByID returns the entry's positions in item id order, computed
// the first time it is asked for.
func (en *listEntry) sortedByID() []int32 {
	en.byIDOnce.Do(func() {
		en.byID = make([]int32, len(en.items))
		for i := range en.byID {
			en.byID[i] = int32(i)
		}
		sort.Slice(en.byID, func(a, b int) bool { return en.items[en.byID[a]].ID < en.items[en.byID[b]].ID })
	})
	return en.byID
}

// Folders smaller than this are cheap to read and not cached.
const listCacheMinItems = 1000

func newListCache(max int) *listCache {
	return &listCache{max: max, ll: list.New(), m: map[int64]*list.Element{}}
}

// get returns the items with UID >= fromUID (at most limit) of a cached
// listing that is still current, as a copy; ok is false on a miss.
func (c *listCache) get(f *store.Folder, fromUID uint32, limit int) ([]store.ItemSummary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[f.ID]
	if !ok {
		return nil, false
	}
	en := e.Value.(*listEntry)
	if en.uidValidity != f.UIDValidity || en.hms != f.HighestModSeq {
		c.remove(e)
		return nil, false
	}
	c.ll.MoveToFront(e)
	i := sort.Search(len(en.items), func(i int) bool { return en.items[i].UID >= fromUID })
	j := len(en.items)
	if limit > 0 && j-i > limit {
		j = i + limit
	}
	return append([]store.ItemSummary(nil), en.items[i:j]...), true
}

// members returns the cached listing of a folder without copying it,
// if its membership (which live items it holds, with their UIDs) is
// still the folder's, and the listing's positions in item id order (for
// the full-text search's membership test, search.go). Flags and MODSEQs
// may be older than the folder's: only IDs and UIDs are for use.
//
// The membership is current when UIDVALIDITY, UIDNEXT and the message
// count are those of the listing: every item added to a folder (append,
// copy, move in, restore, a replaced DAV object) takes a new UID, so
// raises UIDNEXT, and every item removed (expunge, move out, replace)
// lowers the count without raising UIDNEXT; so a change of membership
// always changes one of the two. Flag changes change neither, which is
// why this survives them where get does not. Both slices are shared:
// callers must not modify them.
func (c *listCache) members(folderID int64, uidValidity, uidNext uint32, messages int64) (items []store.ItemSummary, byID []int32, ok bool) {
	c.mu.Lock()
	e, ok := c.m[folderID]
	if !ok {
		c.mu.Unlock()
		return nil, nil, false
	}
	en := e.Value.(*listEntry)
	if en.uidValidity != uidValidity || en.uidNext != uidNext || en.messages != messages || int64(len(en.items)) != messages {
		c.mu.Unlock()
		return nil, nil, false
	}
	c.ll.MoveToFront(e)
	c.mu.Unlock()
	return en.items, en.sortedByID(), true
}

// put caches a full listing read at f's UIDVALIDITY and HIGHESTMODSEQ.
func (c *listCache) put(f *store.Folder, items []store.ItemSummary) {
	if len(items) < listCacheMinItems || len(items) > c.max/2 {
		return
	}
	en := &listEntry{folder: f.ID, uidValidity: f.UIDValidity, hms: f.HighestModSeq, uidNext: f.UIDNext, messages: int64(f.Messages),
		items: append([]store.ItemSummary(nil), items...)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[f.ID]; ok {
		c.remove(e)
	}
	c.m[f.ID] = c.ll.PushFront(en)
	c.n += len(en.items)
	for c.n > c.max && c.ll.Len() > 0 {
		c.remove(c.ll.Back())
	}
}

func (c *listCache) remove(e *list.Element) {
	en := e.Value.(*listEntry)
	c.ll.Remove(e)
	delete(c.m, en.folder)
	c.n -= len(en.items)
}
