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
	items       []store.ItemSummary
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

// put caches a full listing read at f's UIDVALIDITY and HIGHESTMODSEQ.
func (c *listCache) put(f *store.Folder, items []store.ItemSummary) {
	if len(items) < listCacheMinItems || len(items) > c.max/2 {
		return
	}
	en := &listEntry{folder: f.ID, uidValidity: f.UIDValidity, hms: f.HighestModSeq, items: append([]store.ItemSummary(nil), items...)}
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
