package mime

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func deepMultipart(depth int) string {
	var b strings.Builder
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("\r\ninnermost\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func deepMessage(depth int) string {
	return strings.Repeat("Content-Type: message/rfc822\r\n\r\n", depth) + "Subject: bottom\r\n\r\nbody\r\n"
}

func treeDepth(p *Part) int {
	d := 0
	for {
		switch {
		case len(p.Children) > 0:
			p = p.Children[0]
		case p.Message != nil:
			p = p.Message
		default:
			return d
		}
		d++
	}
}

func TestDeepNesting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		msg  string
	}{
		{"multipart", deepMultipart(10000)},
		{"message", deepMessage(10000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tt.msg), Limits{})
			var le *LimitError
			if !errors.As(err, &le) || le.Limit != LimitDepth || le.Max != 50 {
				t.Fatalf("err = %v", err)
			}
			checkTree(t, p, int64(len(tt.msg)))
			if d := treeDepth(p); d != 50 {
				t.Errorf("depth %d", d)
			}
			// The output side copes with the truncated tree.
			_ = AppendBodyStructure(nil, p, true, false)
			// Without the limit the whole tree is built, iteratively.
			p, err = Parse([]byte(tt.msg), Limits{MaxDepth: 20000, MaxParts: 20000})
			if err != nil {
				t.Fatal(err)
			}
			checkTree(t, p, int64(len(tt.msg)))
			if d := treeDepth(p); d < 10000 {
				t.Errorf("depth %d", d)
			}
			if bs := AppendBodyStructure(nil, p, true, false); !bytes.Contains(bs, []byte(`"text" "plain"`)) {
				t.Error("no innermost part")
			}
		})
	}
}

func manyParts(n int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range n {
		b.WriteString("--b\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

func TestManyParts(t *testing.T) {
	t.Parallel()
	msg := manyParts(100000)
	p, err := Parse([]byte(msg), Limits{})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitParts {
		t.Fatalf("err = %v", err)
	}
	if n := checkTree(t, p, int64(len(msg))); n != 10000 || !p.Truncated {
		t.Errorf("%d parts, truncated %v", n, p.Truncated)
	}
	// The last part ends where the next delimiter starts, not at the end.
	if last := p.Children[len(p.Children)-1]; string(msg[last.BodyStart:last.BodyEnd]) != "x" {
		t.Errorf("last part body %q", msg[last.BodyStart:last.BodyEnd])
	}
	p, err = Parse([]byte(msg), Limits{MaxParts: 100001})
	if err != nil || len(p.Children) != 100000 {
		t.Fatalf("err %v, %d parts", err, len(p.Children))
	}
	checkTree(t, p, int64(len(msg)))
}

func TestHugeHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, hdr string
	}{
		{"one line", "X-Big: " + strings.Repeat("a", 2<<20) + "\r\n"},
		{"many fields", strings.Repeat("X-F: value\r\n", (2<<20)/12)},
		{"folded", "X-Big: a\r\n" + strings.Repeat(" folded continuation\r\n", (2<<20)/22)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := "Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n" + tt.hdr + "\r\n--b\r\n\r\npart\r\n--b--\r\n"
			for _, parse := range []func() (*Part, error){
				func() (*Part, error) { return Parse([]byte(msg), Limits{}) },
				func() (*Part, error) {
					return ParseReaderAt(strings.NewReader(msg), int64(len(msg)), Limits{})
				},
			} {
				p, err := parse()
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != LimitHeaderBytes {
					t.Fatalf("err = %v", err)
				}
				checkTree(t, p, int64(len(msg)))
				if p.HeaderEnd-p.HeaderStart > 1<<20 || !p.Truncated {
					t.Errorf("header %d bytes", p.HeaderEnd-p.HeaderStart)
				}
				// What was parsed before the cut still counts.
				if p.Header.Get("Subject") != "big" || !p.IsMultipart() {
					t.Errorf("lost the start of the header: %q %s", p.Header.Get("Subject"), p.MediaType)
				}
			}
		})
	}
}

func TestBoundaryInsideBody(t *testing.T) {
	t.Parallel()
	// The boundary string occurs in the body, but never at the start of
	// a line, so the body stays whole.
	body := strings.Repeat("text --frontier text\r\n  --frontier\r\n", 1000)
	msg := "Content-Type: multipart/mixed; boundary=frontier\r\n\r\n--frontier\r\n\r\n" + body + "--frontier--\r\n"
	p := mustParse(t, msg)
	if len(p.Children) != 1 || string(msg[p.Children[0].BodyStart:p.Children[0].BodyEnd])+"\r\n" != body {
		t.Errorf("body split: %d parts", len(p.Children))
	}
}
