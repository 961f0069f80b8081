package mime

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// typicalMsg is a text+HTML message with a 100 KiB attachment.
var typicalMsg = func() string {
	att := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("attachment data "), 6400))
	var lines []string
	for len(att) > 76 {
		lines, att = append(lines, att[:76]), att[76:]
	}
	lines = append(lines, att)
	return crlf(`From: "Alice Example" <alice@example.com>
To: bob@example.org, "Carol" <carol@example.net>
Subject: =?utf-8?q?Quarterly_report_=E2=80=93_draft?=
Date: Tue, 1 Jul 2025 10:52:37 +0200
Message-ID: <1234@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`+strings.Repeat("Hello Bob, please find the report attached.=20\n", 40)+`
--alt
Content-Type: text/html; charset=utf-8

`+strings.Repeat("<p>Hello Bob, please find the <b>report</b> attached.</p>\n", 40)+`
--alt--

--mixed
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

`) + strings.Join(lines, "\r\n") + "\r\n--mixed--\r\n"
}()

func BenchmarkParse(b *testing.B) {
	msg := []byte(typicalMsg)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Parse(msg, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReaderAt(b *testing.B) {
	r := strings.NewReader(typicalMsg)
	b.SetBytes(int64(len(typicalMsg)))
	for b.Loop() {
		if _, err := ParseReaderAt(r, r.Size(), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBodyStructure(b *testing.B) {
	p, _ := Parse([]byte(typicalMsg), Limits{})
	var buf []byte
	for b.Loop() {
		buf = AppendBodyStructure(buf[:0], p, true, false)
		buf = AppendValue(buf, Envelope(p).List(), false)
	}
}

// The nesting benchmarks show linear cost: ns/op grows with the depth,
// B/op and per-byte time stay flat.
func BenchmarkDeepNesting(b *testing.B) {
	for _, depth := range []int{1000, 10000} {
		for _, kind := range []string{"multipart", "message"} {
			msg := deepMultipart(depth)
			if kind == "message" {
				msg = deepMessage(depth)
			}
			lim := Limits{MaxDepth: 2 * depth, MaxParts: 2 * depth}
			b.Run(fmt.Sprintf("%s/%d", kind, depth), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					Parse([]byte(msg), lim)
				}
			})
		}
	}
}

func BenchmarkManyParts(b *testing.B) {
	msg := []byte(manyParts(100000))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		Parse(msg, Limits{MaxParts: 200000})
	}
}

func BenchmarkBaseSubject(b *testing.B) {
	for b.Loop() {
		BaseSubject("Re: [list] Fwd: =?utf-8?q?Quarterly_report_=E2=80=93_draft?= (fwd)")
	}
}

func BenchmarkText(b *testing.B) {
	p, _ := Parse([]byte(typicalMsg), Limits{})
	r := strings.NewReader(typicalMsg)
	for b.Loop() {
		p.Text(r, 1<<20)
	}
}
