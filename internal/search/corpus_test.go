package search

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The test corpus: messages in English, German and Japanese/Chinese with
// known words, built by the tests (no files from elsewhere).

var english = strings.Fields(`account agenda approval budget calendar client contract deadline delivery design
document draft estimate feedback forecast holiday invoice launch ledger meeting milestone network office
payment planning policy product project proposal purchase quarter release report request review revenue
roadmap salary schedule security server shipment signature sprint strategy summary supplier support
survey team ticket training travel update vendor version warehouse website workshop`)

var german = strings.Fields(`Abteilung Angebot Anfrage Auftrag Ausschreibung Bestellung Besprechung Bericht
Büro Entwurf Ergebnis Frühstück Gebäude Genehmigung Geschäftsführung Grüße Häuser Kunde Lieferung Mitarbeiter
Müller Planung Prüfung Rechnung Schlüssel Straße Termin Übersicht Umsatz Unterlagen Verkauf Vertrag
Wartung Zahlung Zeitplan Zuständigkeit`)

var cjkWords = strings.Fields(`東京 大阪 会議 資料 予算 報告 契約 北京 上海 销售 市场 项目 计划 客户 会社 新製品`)

// corpusMsg is one message and the words it was made of.
type corpusMsg struct {
	raw     string
	subject []string
	body    []string
	from    string
}

func buildCorpus(n int, seed uint64) []corpusMsg {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]corpusMsg, n)
	for i := range out {
		var vocab []string
		switch i % 3 {
		case 0:
			vocab = english
		case 1:
			vocab = german
		default:
			vocab = cjkWords
		}
		pick := func(k int) []string {
			w := make([]string, k)
			for j := range w {
				w[j] = vocab[r.IntN(len(vocab))]
			}
			return w
		}
		m := corpusMsg{subject: pick(3), body: pick(20 + r.IntN(20)), from: fmt.Sprintf("user%d", i%50)}
		sep := " "
		if i%3 == 2 {
			sep = "" // CJK text runs without spaces
		}
		html := i%7 == 3
		var b strings.Builder
		fmt.Fprintf(&b, "From: User %d <%s@example.org>\r\nTo: team@example.com\r\nSubject: %s\r\nMessage-ID: <m%d@example.org>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n",
			i%50, m.from, strings.Join(m.subject, " "), i)
		if html {
			fmt.Fprintf(&b, "Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p></body></html>\r\n", strings.Join(m.body, sep))
		} else {
			fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", strings.Join(m.body, sep))
		}
		m.raw = b.String()
		out[i] = m
	}
	return out
}

// withAttachment is a message with one attachment.
func withAttachment(subject, filename, mediaType string, data []byte) string {
	return fmt.Sprintf("From: docs@example.org\r\nTo: team@example.com\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"+
		"--BB\r\nContent-Type: %s\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--BB--\r\n",
		subject, mediaType, filename, base64.StdEncoding.EncodeToString(data))
}

func zipOf(t testing.TB, entries map[string]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return b.Bytes()
}

func testDOCX(t testing.TB, text string) []byte {
	return zipOf(t, map[string]string{"word/document.xml": `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>` +
		text + `</w:t></w:r></w:p></w:body></w:document>`})
}

func testODT(t testing.TB, text string) []byte {
	return zipOf(t, map[string]string{"mimetype": "application/vnd.oasis.opendocument.text",
		"content.xml": `<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text><text:p>` +
			text + `</text:p></office:text></office:body></office:document-content>`})
}

// testPDF is a one-page PDF showing one line of ASCII text.
func testPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (%s) Tj ET\n", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
