package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// v2 builds a version 2 header: command, family and address block (plus
// tlv bytes).
func v2(cmd, fam byte, addrs []byte, tlv []byte) []byte {
	b := append([]byte{}, sigV2...)
	b = append(b, 0x20|cmd, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)+len(tlv)))
	return append(append(b, addrs...), tlv...)
}

func TestReadHeader(t *testing.T) {
	ip4 := []byte{192, 0, 2, 7, 10, 0, 0, 1, 0xc3, 0x50, 0, 143}
	ip6 := append(append(netip.MustParseAddr("2001:db8::7").AsSlice(), netip.MustParseAddr("2001:db8::1").AsSlice()...), 0xc3, 0x50, 0x03, 0xe1)
	for _, c := range []struct {
		name      string
		in        []byte
		src, dst  string
		local     bool
		version   int
		errSubstr string
	}{
		{"v1 tcp4", []byte("PROXY TCP4 192.0.2.7 10.0.0.1 50000 143\r\n"), "192.0.2.7:50000", "10.0.0.1:143", false, 1, ""},
		{"v1 tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 50000 993\r\n"), "[2001:db8::7]:50000", "[2001:db8::1]:993", false, 1, ""},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), "", "", true, 1, ""},
		{"v1 unknown with addresses", []byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), "", "", true, 1, ""},
		{"v2 tcp4", v2(1, 0x11, ip4, nil), "192.0.2.7:50000", "10.0.0.1:143", false, 2, ""},
		{"v2 tcp4 with TLVs", v2(1, 0x11, ip4, []byte{0x05, 0, 3, 'a', 'b', 'c'}), "192.0.2.7:50000", "10.0.0.1:143", false, 2, ""},
		{"v2 tcp6", v2(1, 0x21, ip6, nil), "[2001:db8::7]:50000", "[2001:db8::1]:993", false, 2, ""},
		{"v2 local", v2(0, 0, nil, nil), "", "", true, 2, ""},
		{"v2 udp", v2(1, 0x12, ip4, nil), "", "", true, 2, ""},
		{"no header", []byte("a001 LOGIN x y\r\n"), "", "", false, 0, "no PROXY header"},
		{"TLS first", []byte{0x16, 3, 1, 0, 0x80, 1, 0, 0}, "", "", false, 0, "no PROXY header"},
		{"v1 bad family", []byte("PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n"), "", "", false, 0, "malformed"},
		{"v1 family mismatch", []byte("PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n"), "", "", false, 0, "family"},
		{"v1 bad port", []byte("PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n"), "", "", false, 0, "bad port"},
		{"v1 leading zero", []byte("PROXY TCP4 1.2.3.4 1.2.3.5 080 2\r\n"), "", "", false, 0, "bad port"},
		{"v1 bare LF", []byte("PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n"), "", "", false, 0, "CRLF"},
		{"v1 too long", []byte("PROXY TCP6 " + strings.Repeat("1", 120) + "\r\n"), "", "", false, 0, "longer than 107"},
		{"v1 truncated", []byte("PROXY TCP4 1.2.3.4"), "", "", false, 0, "EOF"},
		{"v2 short addresses", v2(1, 0x11, ip4[:8], nil), "", "", false, 0, "too short"},
		{"v2 bad version", append(append([]byte{}, sigV2...), 0x31, 0x11, 0, 0), "", "", false, 0, "version"},
		{"v2 bad command", v2(2, 0x11, ip4, nil), "", "", false, 0, "command"},
		{"v2 truncated", v2(1, 0x11, ip4, nil)[:20], "", "", false, 0, "EOF"},
	} {
		after := []byte("* OK next\r\n")
		if strings.Contains(c.name, "truncated") {
			after = nil // the connection ends there
		}
		r := bytes.NewReader(append(append([]byte{}, c.in...), after...))
		h, err := ReadHeader(r)
		if c.errSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("%s: %+v, %v; want an error with %q", c.name, h, err, c.errSubstr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h.Local != c.local || h.Version != c.version || (!c.local && (h.Source.String() != c.src || h.Dest.String() != c.dst)) {
			t.Errorf("%s: %+v", c.name, h)
		}
		// Nothing after the header was read.
		if rest, _ := io.ReadAll(r); string(rest) != string(after) {
			t.Errorf("%s: left %q", c.name, rest)
		}
	}
	if _, err := ReadHeader(strings.NewReader("GET / HTTP/1.1\r\n")); !errors.Is(err, ErrNoHeader) {
		t.Errorf("HTTP request: %v", err)
	}
}

// FuzzReadHeader: any input gives a header or an error, never a panic,
// and a header is never followed by more read than its own bytes.
func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 10.0.0.1 50000 143\r\nrest"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(v2(1, 0x11, []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2}, []byte{1, 0, 0}))
	f.Add(v2(1, 0x21, make([]byte, 36), nil))
	f.Add(v2(0, 0, nil, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		h, err := ReadHeader(r)
		if err != nil {
			return
		}
		used := len(in) - r.Len()
		if h.Version == 1 && (used > maxV1 || in[used-1] != '\n') {
			t.Fatalf("v1 header of %d bytes: %q", used, in[:used])
		}
		if h.Version == 2 && used != 16+int(binary.BigEndian.Uint16(in[14:16])) {
			t.Fatalf("v2 header read %d bytes of %d", used, len(in))
		}
		if !h.Local && (!h.Source.IsValid() || !h.Dest.IsValid()) {
			t.Fatalf("header %+v without addresses", h)
		}
	})
}
