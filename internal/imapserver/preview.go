package imapserver

import (
	"container/list"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// PREVIEW (RFC 8970): a short plain-text rendering of the start of a
// message's text, computed once per item and kept in a bounded in-memory
// cache (an item's content never changes, so an entry never goes stale).

// previewChars is the longest preview (RFC 8970 §3: at most 256
// characters).
const previewChars = 256

// previewScan bounds the decoded text read to make one preview.
const previewScan = 16 << 10

// makePreview renders the preview of a parsed message: the text of its
// first text part that is not an attachment (HTML reduced to text),
// whitespace collapsed, control characters dropped, cut to previewChars
// characters.
func makePreview(ct *content) string {
	root := ct.parse()
	var first *mime.Part
	root.Walk(func(p *mime.Part) bool {
		if first != nil {
			return false
		}
		if p.MediaType == "text" && (p.SubType == "plain" || p.SubType == "html") && !isAttachment(p) {
			first = p
			return false
		}
		return true
	})
	if first == nil {
		return ""
	}
	return collapse(first.Text(ct.ra, previewScan), previewChars)
}

// isAttachment reports whether a part is marked as an attachment.
func isAttachment(p *mime.Part) bool {
	d := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Disposition")))
	return strings.HasPrefix(d, "attachment")
}

// collapse turns runs of white space into one space, drops other control
// characters and cuts s to at most n characters.
func collapse(s string, n int) string {
	var b strings.Builder
	space, count := false, 0
	for _, r := range s {
		if count >= n {
			break
		}
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == utf8.RuneError:
			continue
		}
		if space && b.Len() > 0 {
			if count+1 >= n {
				break
			}
			b.WriteByte(' ')
			count++
		}
		space = false
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// previewCache keeps previews by item id, least recently used first out.
type previewCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[int64]*list.Element
}

type previewEntry struct {
	id   int64
	text string
}

const previewCacheEntries = 50000

func newPreviewCache(max int) *previewCache {
	return &previewCache{max: max, ll: list.New(), m: map[int64]*list.Element{}}
}

func (c *previewCache) get(id int64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*previewEntry).text, true
	}
	return "", false
}

func (c *previewCache) put(id int64, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.m[id] = c.ll.PushFront(&previewEntry{id: id, text: text})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.m, e.Value.(*previewEntry).id)
	}
}
