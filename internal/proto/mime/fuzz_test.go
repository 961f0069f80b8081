package mime

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedMessages are the test corpora.
func seedMessages() []string {
	seeds := []string{
		crlf(dovecotMsg), dovecotMsg, rfc9051Msg,
		deepMultipart(60), deepMessage(60), manyParts(30),
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + strings.Repeat("X-Long: "+strings.Repeat("y", 300)+"\r\n", 3) + "\r\n--b" + strings.Repeat("z", 2000) + "\r\n\r\nafter long delimiter\r\n--b--",
	}
	for _, tt := range shapeTests {
		seeds = append(seeds, tt.msg)
	}
	return seeds
}

// fuzzLimits are small so the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxDepth: 6, MaxParts: 40, MaxHeaderBytes: 300, MaxHeaderFields: 8}

func FuzzParse(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, lim := range []Limits{{}, fuzzLimits} {
			p, err := Parse(msg, lim)
			var le *LimitError
			if err != nil && !errors.As(err, &le) {
				t.Fatalf("error %v is not a LimitError", err)
			}
			checkTree(t, p, int64(len(msg)))

			// The ReaderAt path, with the smallest buffer, builds the
			// same tree.
			q, err2 := parse(newReaderSource(bytes.NewReader(msg), int64(len(msg)), 0), lim)
			if (err == nil) != (err2 == nil) || dumpTree(p) != dumpTree(q) {
				t.Fatalf("ParseReaderAt differs:\n%s\n%v\n---\n%s\n%v", dumpTree(p), err, dumpTree(q), err2)
			}

			for _, ext := range []bool{false, true} {
				roundTrip(t, BodyStructure(p, ext), ext)
			}
			roundTrip(t, Envelope(p).List(), false)

			r := bytes.NewReader(msg)
			var paths [][]int
			collectPaths(p, nil, true, &paths)
			for _, path := range paths {
				q, ok := p.Section(path)
				if !ok {
					t.Fatalf("section %v of the tree not found", path)
				}
				for _, spec := range []Spec{SpecBody, SpecHeader, SpecText, SpecMIME} {
					if s, e, ok := p.SectionRange(path, spec); ok && (s < 0 || e < s || e > int64(len(msg))) {
						t.Fatalf("section %v spec %d range %d-%d", path, spec, s, e)
					}
				}
				if _, err := io.Copy(io.Discard, q.DecodedBody(r)); err != nil {
					t.Fatal(err)
				}
			}
			if s := p.Text(r, 1000); len(s) > 1000 || !utf8.ValidString(s) {
				t.Fatalf("Text: %d bytes, valid %v", len(s), utf8.ValidString(s))
			}
		}
	})
}

// collectPaths lists the IMAP part numbers of every part under m.
func collectPaths(m *Part, prefix []int, inMsg bool, out *[][]int) {
	if len(*out) > 200 {
		return
	}
	cur := m
	if !inMsg && m.Message != nil {
		cur = m.Message
		inMsg = true
	}
	if !inMsg && !cur.IsMultipart() {
		return
	}
	if !cur.IsMultipart() {
		p := append(append([]int(nil), prefix...), 1)
		*out = append(*out, p)
		if cur != m {
			collectPaths(cur, p, false, out)
		}
		return
	}
	for i, c := range cur.Children {
		p := append(append([]int(nil), prefix...), i+1)
		*out = append(*out, p)
		collectPaths(c, p, false, out)
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		"From: John Doe <john@example.com>\r\nTo: A Group:Ed <c@a.test>,joe@where.test;\r\nCc: undisclosed-recipients:;\r\nSubject: =?utf-8?q?hi?=\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\nMessage-ID: <a@b>\r\nIn-Reply-To: <c@d>\r\n",
		"From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\r\n",
		"To: Joe Q. Public <@machine.tld,@other.tld:john.q.public@example.com>, \"john doe\"@x, <>, @x, root\r\n",
		"From: \"unterminated\r\nSender: g: a@b\r\nReply-To: ,,,\r\nBcc: (((nested)))x@y\r\n",
		"From: =?utf-8?q?J=C3=B6rg?= <jörg@exämple.de>\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hdr string) {
		p, _ := Parse([]byte(hdr+"\r\n\r\nbody"), Limits{})
		e := Envelope(p)
		roundTrip(t, e.List(), false)
		roundTrip(t, e.List(), true)
		for _, as := range [][]Address{ParseAddressList(hdr), e.From, e.To} {
			open := false
			for _, a := range as {
				switch a.Kind {
				case AddrGroupStart:
					if open {
						t.Fatalf("nested group in %q", hdr)
					}
					open = true
				case AddrGroupEnd:
					if !open {
						t.Fatalf("group end without start in %q", hdr)
					}
					open = false
				default:
					if a.Mailbox == "" || a.Host == "" {
						t.Fatalf("address %+v with NIL mailbox or host", a)
					}
				}
			}
			if open {
				t.Fatalf("unclosed group in %q", hdr)
			}
		}
	})
}

func FuzzDecodeHeaderValue(f *testing.F) {
	for _, s := range []string{
		"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "=?utf-8?b?w6k=?=", "=?utf-8?q?caf=C3?= =?UTF-8?q?=A9?=",
		"=?US-ASCII*EN?Q?Keith_Moore?=", "=?windows-1252?q?=93x=94?=", "=?=?utf-8?q?x?=", "plain", "=?x?q?y?=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := DecodeHeaderValue(s)
		if utf8.ValidString(s) && !utf8.ValidString(d) {
			t.Fatalf("DecodeHeaderValue(%q) = %q: invalid UTF-8", s, d)
		}
		if !strings.Contains(s, "=?") && d != s {
			t.Fatalf("DecodeHeaderValue changed %q", s)
		}
	})
}

func FuzzBaseSubject(f *testing.F) {
	for _, tt := range []string{
		"Re: Fwd: [list] Hello (fwd)", "[fwd: [fwd: x]]", "=?utf-8?q?Re=3A_x?=", "[a][b]",
		"=?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3F=3D?=", "[=?a?q?]x?=?utf-8?q?Zm9v?=", "Re [2]: x\t(fwd)",
	} {
		f.Add(tt)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := BaseSubject(s)
		if again := BaseSubject(b); again != b {
			t.Fatalf("BaseSubject(%q) = %q, but BaseSubject(%q) = %q", s, b, b, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(b) {
			t.Fatalf("BaseSubject(%q) = %q: invalid UTF-8", s, b)
		}
	})
}

func FuzzParseContentType(f *testing.F) {
	for _, s := range []string{
		`text/plain; charset="utf-8"; format=flowed`,
		`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
		`multipart/mixed; boundary=----=_Part_0 (comment) x`, `a/b; c*1*=%zz; c*0=x; c*=y`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, sub, ps, ok := ParseContentType(s)
		if ok && (typ == "" || sub == "" || typ != strings.ToLower(typ)) {
			t.Fatalf("bad type %q/%q", typ, sub)
		}
		for _, p := range ps {
			if p.Name == "" || p.Name != strings.ToLower(p.Name) {
				t.Fatalf("bad parameter name %q", p.Name)
			}
			for i := 0; i < len(p.Ext); i++ {
				if p.Ext[i] <= ' ' || p.Ext[i] >= 0x7f {
					t.Fatalf("extended value %q not 7-bit", p.Ext)
				}
			}
		}
		ParseDisposition(s)
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Fri, 21 Nov 1997 09:55:06 -0600", "Mon Jan  2 15:04:05 2006", "2 Jan 06 1:2 EST (x)", "2006-01-02T15:04:05Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ParseDate(s); ok && (d.Year() < 0 || d.Year() > 10000) {
			t.Fatalf("ParseDate(%q) = %v", s, d)
		}
	})
}

func FuzzParseMessageIDs(f *testing.F) {
	for _, s := range []string{"<a@b> <c@d>", "(x <y>) \"<z>\" <a@\r\n b>", "<<a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range ParseMessageIDs(s) {
			if id == "" || strings.ContainsAny(id, "<> \t\r\n") {
				t.Fatalf("bad id %q from %q", id, s)
			}
		}
	})
}
