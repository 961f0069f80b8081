package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	mtDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	mtODT  = "application/vnd.oasis.opendocument.text"
)

func TestOffice(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	ctx := context.Background()
	got, err := e.Document(ctx, mtDOCX, "", docx(t, "Quarterly report", "Zürich meeting notes"), 1<<20)
	if err != nil || !strings.Contains(got, "Quarterly report") || !strings.Contains(got, "Zürich meeting notes") {
		t.Fatalf("docx: %q, %v", got, err)
	}
	// By extension when the type says nothing.
	got, err = e.Document(ctx, "application/octet-stream", "Notes.ODT", odt(t, "Grüße aus Berlin", "二つ目"), 1<<20)
	if err != nil || !strings.Contains(got, "Grüße aus Berlin") || !strings.Contains(got, "二つ目") {
		t.Fatalf("odt: %q, %v", got, err)
	}
	// Output bounded.
	got, err = e.Document(ctx, mtDOCX, "", docx(t, strings.Repeat("word ", 10000)), 100)
	if err != nil || len(got) > 100 || !strings.HasPrefix(got, "word word") {
		t.Fatalf("docx cut at 100 bytes: %d bytes %q, %v", len(got), got[:min(len(got), 40)], err)
	}
	// Unknown types yield nothing, without error.
	if got, err := e.Document(ctx, "application/x-unknown", "a.bin", []byte("xx"), 100); got != "" || err != nil {
		t.Fatalf("unknown: %q %v", got, err)
	}
	// Not a zip.
	if _, err := e.Document(ctx, mtDOCX, "", []byte("not a zip"), 100); err == nil {
		t.Fatal("garbage docx: no error")
	}
}

func TestZipBomb(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	ctx := context.Background()
	// 64 MB of zeros in document.xml: compresses ~1000:1.
	big := "<w:document>" + strings.Repeat("\x20", 64<<20) + "</w:document>"
	bomb := zipDoc(t, map[string]string{"word/document.xml": big})
	if len(bomb) > 1<<20 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	_, err := e.Document(ctx, mtDOCX, "", bomb, 1<<20)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("zip bomb: %v, want ErrLimit", err)
	}
	// The same with a header that lies about the size.
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write([]byte(big))
	fw.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate,
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: 100, CRC32: crc32.ChecksumIEEE([]byte(big))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw.Bytes())
	zw.Close()
	_, err = e.Document(ctx, mtDOCX, "", b.Bytes(), 1<<20)
	if err == nil {
		t.Fatal("lying zip bomb: no error")
	}
	// Too many entries.
	many := map[string]string{}
	for i := range 3000 {
		many[fmt.Sprintf("x/%d", i)] = ""
	}
	if _, err := e.Document(ctx, mtDOCX, "", zipDoc(t, many), 1<<20); !errors.Is(err, ErrLimit) {
		t.Fatalf("3000 entries: %v", err)
	}
}

func TestXMLBombs(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	ctx := context.Background()
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><office:document-content><text:p>&lol9;</text:p></office:document-content>`
	got, err := e.Document(ctx, mtODT, "", zipDoc(t, map[string]string{"content.xml": laughs}), 1<<20)
	if err == nil || strings.Contains(got, "lollol") {
		t.Fatalf("billion laughs: %d bytes, %v", len(got), err)
	}
	deep := "<a>" + strings.Repeat("<b>", 100000) + "x" + strings.Repeat("</b>", 100000) + "</a>"
	_, err = e.Document(ctx, mtODT, "", zipDoc(t, map[string]string{"content.xml": deep}), 1<<20)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("deep XML: %v, want ErrLimit", err)
	}
	// External entities are not fetched (encoding/xml has no resolver).
	xxe := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><r><text:p>&e;</text:p></r>`
	got, _ = e.Document(ctx, mtODT, "", zipDoc(t, map[string]string{"content.xml": xxe}), 1<<20)
	if strings.Contains(got, "root:") {
		t.Fatal("external entity expanded")
	}
}

func TestRTF(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	rtf := `{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator Foo;}\f0 Hello \'e9t\'e9 world\par Second {\b line}\}}`
	got, err := e.Document(context.Background(), "application/rtf", "", []byte(rtf), 1000)
	if err != nil || !strings.Contains(got, "Hello été world") || !strings.Contains(got, "Second line}") || strings.Contains(got, "Arial") || strings.Contains(got, "Foo") {
		t.Fatalf("rtf: %q, %v", got, err)
	}
}

func needPDF(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) not installed")
	}
}

func TestPDF(t *testing.T) {
	t.Parallel()
	needPDF(t)
	e := New(Limits{}, nil)
	ctx := context.Background()
	got, err := e.Document(ctx, "application/pdf", "", pdfDoc("Invoice number 4711", "Payment due in thirty days"), 1<<20)
	if err != nil || !strings.Contains(got, "Invoice number 4711") || !strings.Contains(got, "thirty days") {
		t.Fatalf("pdf: %q, %v", got, err)
	}
	// Output cut at the limit.
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("line %d of a long document", i))
	}
	got, err = e.Document(ctx, "application/pdf", "", pdfDoc(lines...), 50)
	if err != nil || len(got) > 50 || !strings.HasPrefix(got, "line 0") {
		t.Fatalf("pdf cut: %q, %v", got, err)
	}
	// Garbage fails, once, with an error.
	if _, err := e.Document(ctx, "application/pdf", "x.pdf", []byte("%PDF-1.4 garbage"), 1000); err == nil {
		t.Fatal("garbage PDF: no error")
	}
	// A document that takes longer than the time limit is killed.
	slow := New(Limits{Timeout: time.Millisecond}, nil)
	if _, err := slow.Document(ctx, "application/pdf", "", pdfDoc("x"), 1000); !errors.Is(err, ErrLimit) {
		t.Fatalf("timeout: %v, want ErrLimit", err)
	}
}

func TestPDFSandbox(t *testing.T) {
	t.Parallel()
	needPDF(t)
	e := New(Limits{}, nil)
	if e.pdf == nil {
		t.Fatal("no pdf runner")
	}
	argv := strings.Join(e.pdf.command(), " ")
	if _, err := exec.LookPath("prlimit"); err == nil && !strings.Contains(argv, "--fsize=0") {
		t.Fatalf("pdftotext without prlimit: %s", argv)
	}
	if e.pdf.bwrap != "" && !strings.Contains(argv, "--unshare-all") {
		t.Fatalf("pdftotext without namespaces: %s", argv)
	}
	t.Logf("pdftotext runs as: %s", argv)
}

// message builds a MIME message with a text body, an HTML alternative
// and attachments.
func message(atts map[string][]byte) []byte {
	var b strings.Builder
	b.WriteString("From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.org>\r\nTo: Bob <bob@example.com>\r\nCc: carol@example.net\r\n" +
		"Subject: Projekt Übersicht\r\nMessage-ID: <abc123@example.org>\r\nList-ID: <dev.lists.example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n" +
		"Content-Type: multipart/alternative; boundary=YY\r\n\r\n--YY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body words\r\n" +
		"--YY\r\nContent-Type: text/html\r\n\r\n<p>html <b>bold</b> text</p><script>nope()</script>\r\n--YY--\r\n")
	for name, data := range atts {
		fmt.Fprintf(&b, "--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
			name, base64.StdEncoding.EncodeToString(data))
	}
	b.WriteString("--XX--\r\n")
	return []byte(b.String())
}

func TestMessage(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	atts := map[string][]byte{"a.docx": docx(t, "docx attachment text"), "b.odt": odt(t, "odt attachment text"), "broken.docx": []byte("nope")}
	raw := message(atts)
	m, err := e.Message(context.Background(), bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want string }{
		{m.From, "Jürgen <juergen@example.org>"}, {m.To, "bob@example.com"}, {m.Cc, "carol@example.net"},
		{m.Subject, "Projekt Übersicht"}, {m.IDs, "abc123@example.org"}, {m.IDs, "dev.lists.example.org"},
		{m.Body, "plain body words"}, {m.Body, "html  bold  text"}, {m.Attach, "docx attachment text"}, {m.Attach, "odt attachment text"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%q does not contain %q", c.got, c.want)
		}
	}
	if strings.Contains(m.Body, "nope()") {
		t.Errorf("script in body: %q", m.Body)
	}
	if len(m.Failures) != 1 || m.Failures[0].Part != "broken.docx" {
		t.Errorf("failures: %+v", m.Failures)
	}
	// The text limit covers body and attachments together.
	small := New(Limits{MaxText: 20}, nil)
	m, err = small.Message(context.Background(), bytes.NewReader(raw), int64(len(raw)))
	if err != nil || int64(len(m.Body)+len(m.Attach)) > 20 {
		t.Fatalf("limited: body %q attach %q, %v", m.Body, m.Attach, err)
	}
}

// Deeply nested MIME is bounded by the parser's depth limit.
func TestNestedMIME(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Subject: deep\r\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	raw := []byte(b.String())
	e := New(Limits{}, nil)
	m, err := e.Message(context.Background(), bytes.NewReader(raw), int64(len(raw)))
	if err != nil || m.Subject != "deep" || len(m.Failures) != 1 {
		t.Fatalf("deep MIME: %+v, %v", m, err)
	}
}

// A 50 MB body: the parser streams through it once (64 KB at a time),
// the text is read only as far as the limit needs.
func TestHugeBody(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Subject: huge\r\nContent-Type: text/plain\r\n\r\n")
	line := "lorem ipsum dolor sit amet consectetur adipiscing elit sed do\r\n"
	for b.Len() < 50<<20 {
		b.WriteString(line)
	}
	raw := b.String()
	e := New(Limits{}, nil)
	r := &countingReaderAt{r: strings.NewReader(raw)}
	m, err := e.Message(context.Background(), r, int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(m.Body)) > DefaultLimits().MaxText || !strings.HasPrefix(m.Body, "lorem ipsum") {
		t.Fatalf("body of %d bytes", len(m.Body))
	}
	if r.n > int64(len(raw))+8*DefaultLimits().MaxText {
		t.Fatalf("read %d bytes of a %d-byte message for %d bytes of text", r.n, len(raw), len(m.Body))
	}
}

type countingReaderAt struct {
	r interface {
		ReadAt(p []byte, off int64) (int, error)
	}
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

func TestObjects(t *testing.T) {
	t.Parallel()
	e := New(Limits{}, nil)
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Budget review\r\nLOCATION:Room 4\\, Berlin\r\n" +
		"DESCRIPTION:Bring the quarterly\r\n  figures\\nand coffee\r\nORGANIZER;CN=\"Ann: Boss\":mailto:ann@example.org\r\n" +
		"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	m, err := e.Message(context.Background(), strings.NewReader(ics), int64(len(ics)))
	if err != nil || m.Subject != "Budget review" || m.From != "Ann: Boss <ann@example.org>" || m.To != "Bob <bob@example.org>" ||
		!strings.Contains(m.Body, "Room 4, Berlin") || !strings.Contains(m.Body, "quarterly figures\nand coffee") {
		t.Fatalf("event: %+v %v", m, err)
	}
	vcf := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jürgen Müller\r\nN:Müller;Jürgen;;;\r\nitem1.EMAIL;TYPE=work:jm@example.de\r\nORG:Acme GmbH\r\nNOTE:met at the fair\r\nEND:VCARD\r\n"
	m, err = e.Message(context.Background(), strings.NewReader(vcf), int64(len(vcf)))
	if err != nil || m.Subject != "Jürgen Müller" || m.To != "jm@example.de" || !strings.Contains(m.Body, "Acme GmbH") || !strings.Contains(m.Body, "met at the fair") {
		t.Fatalf("contact: %+v %v", m, err)
	}
}
