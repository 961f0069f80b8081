package imapserver

import (
	"container/list"
	"sync"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// headerCache keeps the parsed header of recently searched or sorted
// messages, by item id. An item's content never changes, so an entry never
// goes stale; a session only asks for ids of its selected mailbox, which
// the store already let it read. Bounded by the bytes of the headers held.
type headerCache struct {
	mu    sync.Mutex
	max   int
	bytes int
	ll    *list.List
	m     map[int64]*list.Element
}

type hdrEntry struct {
	id  int64
	h   *mime.Header
	len int
}

const headerCacheBytes = 32 << 20

func newHeaderCache(max int) *headerCache {
	return &headerCache{max: max, ll: list.New(), m: map[int64]*list.Element{}}
}

func (c *headerCache) get(id int64) *mime.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*hdrEntry).h
	}
	return nil
}

// put stores a copy of h's raw bytes, so the cache never pins a whole
// message that the header aliases.
func (c *headerCache) put(id int64, h *mime.Header) *mime.Header {
	raw := append([]byte(nil), h.Raw()...)
	if len(raw) > c.max/16 {
		return h // an enormous header is not worth the space
	}
	ch, _ := mime.ParseHeader(raw, mime.DefaultLimits().MaxHeaderFields)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; ok {
		return &ch
	}
	c.m[id] = c.ll.PushFront(&hdrEntry{id: id, h: &ch, len: len(raw) + 128})
	c.bytes += len(raw) + 128
	for c.bytes > c.max && c.ll.Len() > 0 {
		e := c.ll.Back()
		en := e.Value.(*hdrEntry)
		c.ll.Remove(e)
		delete(c.m, en.id)
		c.bytes -= en.len
	}
	return &ch
}
