package wbxml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var testTable = NewTable(map[byte]*CodePage{
	0: {Name: "A", Tags: map[byte]string{0x05: "Root", 0x06: "Item", 0x07: "Key"}},
	1: {Name: "B", Tags: map[byte]string{0x05: "Data", 0x06: "Key"}},
})

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	n := El(0, "Root",
		Str(0, "Key", "hello wörld"),
		El(0, "Item"),
		El(1, "Data", Opq(1, "Key", []byte{0, 1, 2, 0xff})),
		Str(0, "Key", strings.Repeat("x", 300)))
	b, err := Encode(n, testTable)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b, testTable, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if XML(back, testTable) != XML(n, testTable) {
		t.Fatalf("round trip:\n%s\nvs\n%s", XML(back, testTable), XML(n, testTable))
	}
	if !bytes.Equal(back.Child("Data").Child("Key").Opaque, []byte{0, 1, 2, 0xff}) {
		t.Fatal("opaque changed")
	}
	// Size bounds the encoding (without the 4-byte header), closely.
	if got := n.Size(); got < len(b)-4 || got > 2*(len(b)-4) {
		t.Errorf("Size %d for %d encoded bytes", got, len(b)-4)
	}
	// A long opaque length takes a multi-byte integer.
	big := El(1, "Key")
	big.Opaque, big.IsOpaque = bytes.Repeat([]byte{7}, 70000), true
	b, err = Encode(big, testTable)
	if err != nil {
		t.Fatal(err)
	}
	back, err = Decode(b, testTable, Limits{})
	if err != nil || len(back.Opaque) != 70000 {
		t.Fatalf("big opaque: %v %d", err, len(back.Opaque))
	}
}

func TestEncodeRefuses(t *testing.T) {
	t.Parallel()
	if _, err := Encode(El(0, "Nope"), testTable); err == nil {
		t.Error("unknown name encoded")
	}
	if _, err := Encode(Str(0, "Key", "a\x00b"), testTable); err == nil {
		t.Error("NUL in a string encoded")
	}
}

func TestDecodeBad(t *testing.T) {
	t.Parallel()
	hdr := []byte{0x03, 0x01, 0x6a, 0x00}
	doc := func(b ...byte) []byte { return append(append([]byte{}, hdr...), b...) }
	deep := doc()
	for i := 0; i < 10000; i++ {
		deep = append(deep, 0x45)
	}
	for i := 0; i < 10000; i++ {
		deep = append(deep, 0x01)
	}
	many := doc(0x45)
	for i := 0; i < 1000; i++ {
		many = append(many, 0x06)
	}
	many = append(many, 0x01)
	for _, tc := range []struct {
		name string
		in   []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrMalformed},
		{"header only", hdr, Limits{}, ErrMalformed},
		{"truncated element", doc(0x45, 0x47, 0x03, 'a', 'b'), Limits{}, ErrMalformed},
		{"unclosed", doc(0x45, 0x46), Limits{}, ErrMalformed},
		{"unknown tag", doc(0x45, 0x3f, 0x01), Limits{}, ErrMalformed},
		{"unknown page", doc(0x00, 0x09, 0x45, 0x01), Limits{}, ErrMalformed},
		{"switch page at end", doc(0x00), Limits{}, ErrMalformed},
		{"opaque past end", doc(0x45, 0xC3, 0x8f, 0xff, 0xff, 0x7f, 'x', 0x01), Limits{}, ErrMalformed},
		{"opaque over limit", doc(0x45, 0xC3, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x01), Limits{MaxOpaque: 8}, ErrLimit},
		{"integer overflow", doc(0x45, 0xC3, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), Limits{}, ErrMalformed},
		{"10000 deep", deep, Limits{}, ErrLimit},
		{"too many elements", many, Limits{MaxElements: 100}, ErrLimit},
		{"string over limit", doc(0x45, 0x03, 'a', 'b', 'c', 'd', 0x00, 0x01), Limits{MaxString: 3}, ErrLimit},
		{"unterminated string", doc(0x45, 0x03, 'a', 'b'), Limits{}, ErrMalformed},
		{"attributes", doc(0x85, 0x01), Limits{}, ErrMalformed},
		{"entity", doc(0x45, 0x02, 0x41, 0x01), Limits{}, ErrMalformed},
		{"PI", doc(0x43), Limits{}, ErrMalformed},
		{"two roots", doc(0x05, 0x05), Limits{}, ErrMalformed},
		{"trailing bytes", doc(0x05, 0x00), Limits{}, ErrMalformed},
		{"end at top", doc(0x01), Limits{}, ErrMalformed},
		{"content at top", doc(0x03, 'a', 0x00), Limits{}, ErrMalformed},
		{"charset", []byte{0x03, 0x01, 0x04, 0x00, 0x05}, Limits{}, ErrMalformed},
		{"string table past end", []byte{0x03, 0x01, 0x6a, 0x7f, 0x05}, Limits{}, ErrMalformed},
		{"string table over limit", []byte{0x03, 0x01, 0x6a, 0x81, 0x00, 0x05}, Limits{MaxStrTable: 64}, ErrLimit},
		{"string table offset", []byte{0x03, 0x01, 0x6a, 0x02, 'a', 0x00, 0x45, 0x83, 0x05, 0x01}, Limits{}, ErrMalformed},
		{"document too big", doc(0x05), Limits{MaxBytes: 4}, ErrLimit},
	} {
		_, err := Decode(tc.in, testTable, tc.lim)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// The string table works where it is in bounds.
	n, err := Decode([]byte{0x03, 0x01, 0x6a, 0x03, 'a', 'b', 0x00, 0x45, 0x83, 0x01, 0x01}, testTable, Limits{})
	if err != nil || n.Text != "b" {
		t.Fatalf("string table: %v %+v", err, n)
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(El(0, "Root", Str(0, "Key", "k"), El(1, "Data", Opq(1, "Key", []byte("xy")))), testTable)
	f.Add(b)
	f.Add([]byte{0x03, 0x01, 0x6a, 0x03, 'a', 'b', 0x00, 0x45, 0x83, 0x01, 0x01})
	f.Add([]byte{0x03, 0x00, 0x00, 0x6a, 0x00, 0x45, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Decode(data, testTable, Limits{MaxBytes: 1 << 16, MaxElements: 1000})
		if err != nil {
			return
		}
		// Whatever decodes re-encodes, and decodes again to the same tree
		// (unless it holds a string with NUL, which only opaque carries).
		out, err := Encode(n, testTable)
		if err != nil {
			return
		}
		if len(out)-4 > n.Size() {
			t.Fatalf("Size %d below the encoded %d bytes", n.Size(), len(out)-4)
		}
		back, err := Decode(out, testTable, Limits{})
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if XML(back, testTable) != XML(n, testTable) {
			t.Fatalf("round trip differs:\n%s\n%s", XML(n, testTable), XML(back, testTable))
		}
	})
}

// TestStringTableAmplification: a STR_T reference costs two bytes but
// expands to a whole string-table entry, so the decoded text of the
// document must be bounded as a whole (here by MaxBytes), not only per
// element — else a small document decodes to gigabytes.
func TestStringTableAmplification(t *testing.T) {
	t.Parallel()
	const entry = 1000
	st := append(bytes.Repeat([]byte{'x'}, entry), 0)
	d := []byte{0x03, 0x01, 0x6a, 0x87, 0x69} // string table of 1001 bytes
	d = append(d, st...)
	d = append(d, 0x45) // Root
	const items = 200
	for i := 0; i < items; i++ {
		d = append(d, 0x47, 0x83, 0x00, 0x83, 0x00, 0x83, 0x00, 0x01) // Key: 3 KB of text in 8 bytes
	}
	d = append(d, 0x01)
	// 600 KB of text from a 2.6 KB document: refused under a 64 KiB limit.
	_, err := Decode(d, testTable, Limits{MaxBytes: 64 << 10})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("amplified document: got %v, want ErrLimit", err)
	}
	// Under a limit that holds the text, it decodes.
	n, err := Decode(d, testTable, Limits{MaxBytes: 1 << 20})
	if err != nil || len(n.Children) != items || len(n.Children[0].Text) != 3*entry {
		t.Fatalf("decode: %v", err)
	}
}
