package imapserver

import (
	"fmt"
	"testing"

	"github.com/roost-mail/roost/internal/proto/mime"
)

func TestHeaderCache(t *testing.T) {
	c := newHeaderCache(64 << 10)
	msg := []byte("Subject: hello\r\nFrom: a@b.test\r\n\r\n" + string(make([]byte, 100000)))
	p, _ := mime.Parse(msg, mime.Limits{})
	h := c.put(1, &p.Header)
	if h.Get("Subject") != "hello" || c.get(1).Get("From") != "a@b.test" {
		t.Fatal("cached header")
	}
	// The cache holds the header, not the message it came from.
	if c.bytes > 1024 {
		t.Fatalf("cache holds %d bytes for a small header", c.bytes)
	}
	for i := int64(2); i < 2000; i++ {
		raw := []byte(fmt.Sprintf("Subject: %d\r\n\r\n", i))
		p, _ := mime.Parse(raw, mime.Limits{})
		c.put(i, &p.Header)
	}
	if c.bytes > c.max || c.get(1) != nil || c.get(1999) == nil {
		t.Fatalf("eviction: %d bytes of %d; oldest kept %v", c.bytes, c.max, c.get(1) != nil)
	}
}
