package queue

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/mime"
)

// Tenant properties (store.TenantProps) that hold the disclaimer.
const (
	PropDisclaimerText = "disclaimer.text"
	PropDisclaimerHTML = "disclaimer.html"
)

// Disclaimer appends a tenant's disclaimer to a message: text to the first
// text/plain body part and html (before </body>) to the first text/html
// body part, found through multiparts but not inside attachments or
// encapsulated messages. A part with a quoted-printable or base64 body is
// decoded, changed and re-encoded; a 7bit part that gains non-ASCII text
// is re-encoded as quoted-printable and a us-ascii charset becomes utf-8.
// A signed or encrypted message is returned unchanged (changed == false),
// as is one without a suitable part. Disclaimer is pure.
func Disclaimer(msg []byte, text, html string) (out []byte, changed bool) {
	if text == "" && html == "" {
		return msg, false
	}
	root, _ := mime.Parse(msg, mime.Limits{}) // a limit error still gives a usable tree
	if protected(root, msg) {
		return msg, false
	}
	var plainPart, htmlPart *mime.Part
	stack := []*mime.Part{root}
	for len(stack) > 0 {
		p := stack[0]
		stack = stack[1:]
		if p.IsMultipart() {
			stack = append(slices.Clone(p.Children), stack...)
			continue
		}
		if p.MediaType != "text" || p.Disposition == "attachment" {
			continue
		}
		if p.SubType == "plain" && plainPart == nil && text != "" {
			plainPart = p
		}
		if p.SubType == "html" && htmlPart == nil && html != "" {
			htmlPart = p
		}
	}
	type edit struct {
		start, end int64
		repl       []byte
	}
	var edits []edit
	for _, t := range []struct {
		p    *mime.Part
		add  string
		html bool
	}{{plainPart, text, false}, {htmlPart, html, true}} {
		if t.p == nil {
			continue
		}
		if start, repl, ok := rewritePart(msg, t.p, t.add, t.html); ok {
			edits = append(edits, edit{start, t.p.BodyEnd, repl})
		}
	}
	if len(edits) == 0 {
		return msg, false
	}
	// Apply from the end so earlier offsets stay valid.
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out = slices.Clone(msg)
	for _, e := range edits {
		out = slices.Concat(out[:e.start], e.repl, out[e.end:])
	}
	return out, true
}

// protected reports a signed or encrypted message (RFC 1847, RFC 8551,
// RFC 3156), where any change breaks the signature or cannot be made.
func protected(root *mime.Part, msg []byte) bool {
	stack := []*mime.Part{root}
	for n := 0; len(stack) > 0 && n < 100000; n++ {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case p.MediaType == "multipart" && (p.SubType == "signed" || p.SubType == "encrypted"):
			return true
		case p.MediaType == "application" && (p.SubType == "pkcs7-mime" || p.SubType == "x-pkcs7-mime" || p.SubType == "pgp-encrypted" || p.SubType == "pgp-signature"):
			return true
		case p.MediaType == "text" && p.BodyEnd > p.BodyStart:
			end := min(p.BodyEnd, p.BodyStart+64<<10)
			if bytes.Contains(msg[p.BodyStart:end], []byte("-----BEGIN PGP ")) {
				return true
			}
		}
		stack = append(stack, p.Children...)
		if p.Message != nil {
			stack = append(stack, p.Message)
		}
	}
	return false
}

// rewritePart returns the replacement for msg[start:p.BodyEnd]: the body
// with add appended (and, when the encoding or charset must change, the
// part's header too).
func rewritePart(msg []byte, p *mime.Part, add string, html bool) (start int64, repl []byte, ok bool) {
	if !p.CanDecode() || p.Truncated {
		return 0, nil, false
	}
	body, err := io.ReadAll(p.DecodedBody(bytes.NewReader(msg)))
	if err != nil {
		return 0, nil, false
	}
	cs := p.Charset()
	ascii := isASCII(add)
	if !ascii && cs != "utf-8" && cs != "us-ascii" {
		return 0, nil, false // cannot express the text in this charset
	}
	add = crlf(add)
	var nb []byte
	if i := lastIndexFold(body, "</body>"); html && i >= 0 {
		nb = slices.Concat(body[:i], []byte(add), body[i:])
	} else {
		trail := bytes.HasSuffix(body, []byte("\r\n"))
		nb = slices.Clone(body)
		if len(nb) > 0 && !trail {
			nb = append(nb, "\r\n"...)
		}
		nb = append(nb, add...)
		if trail && !strings.HasSuffix(add, "\r\n") {
			nb = append(nb, "\r\n"...)
		}
	}
	enc := p.Encoding
	newEnc, newCharset := "", ""
	if !ascii && (enc == "7bit" || enc == "") {
		newEnc, enc = "quoted-printable", "quoted-printable"
	}
	if !ascii && cs == "us-ascii" {
		newCharset = "utf-8"
	}
	var eb []byte
	switch enc {
	case "quoted-printable":
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write(nb)
		w.Close()
		eb = b.Bytes()
		if bytes.HasSuffix(nb, []byte("\r\n")) && !bytes.HasSuffix(eb, []byte("\r\n")) {
			eb = append(eb, "\r\n"...)
		}
	case "base64":
		s := base64.StdEncoding.EncodeToString(nb)
		var b bytes.Buffer
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		b.WriteString(s + "\r\n")
		eb = b.Bytes()
	default:
		eb = nb
	}
	if newEnc == "" && newCharset == "" {
		return p.BodyStart, eb, true
	}
	hdr := rewriteContentHeader(msg[p.HeaderStart:p.HeaderEnd], p, newEnc, newCharset)
	return p.HeaderStart, slices.Concat(hdr, msg[p.HeaderEnd:p.BodyStart], eb), true
}

// rewriteContentHeader replaces Content-Transfer-Encoding and the charset
// of Content-Type in a part header.
func rewriteContentHeader(raw []byte, p *mime.Part, enc, charset string) []byte {
	h, _ := mime.ParseHeader(raw, 0)
	var b bytes.Buffer
	for _, f := range h.Fields() {
		switch {
		case enc != "" && strings.EqualFold(f.Name, "Content-Transfer-Encoding"):
			continue
		case charset != "" && strings.EqualFold(f.Name, "Content-Type"):
			continue
		}
		b.Write(f.Raw)
		if !bytes.HasSuffix(f.Raw, []byte("\n")) {
			b.WriteString("\r\n")
		}
	}
	if charset != "" {
		b.WriteString("Content-Type: " + p.MediaType + "/" + p.SubType + "; charset=" + charset)
		for _, prm := range p.Params {
			if strings.EqualFold(prm.Name, "charset") {
				continue
			}
			if prm.Ext != "" {
				b.WriteString("; " + prm.Name + "*=" + prm.Ext)
			} else {
				b.WriteString("; " + prm.Name + "=" + quoteParam(prm.Value))
			}
		}
		b.WriteString("\r\n")
	}
	if enc != "" {
		b.WriteString("Content-Transfer-Encoding: " + enc + "\r\n")
	}
	if endsWithBlankLine(raw) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func quoteParam(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t()<>@,;:\\\"/[]?=") && isASCII(v) {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// crlf normalises line endings to CRLF.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

func lastIndexFold(b []byte, sub string) int {
	return bytes.LastIndex(bytes.ToLower(b), []byte(sub))
}

func endsWithBlankLine(raw []byte) bool {
	return bytes.Equal(raw, []byte("\r\n")) || bytes.Equal(raw, []byte("\n")) ||
		bytes.HasSuffix(raw, []byte("\n\r\n")) || bytes.HasSuffix(raw, []byte("\n\n"))
}
