package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// zipFormat is an office format stored as XML in a zip container (OOXML,
// ECMA-376; OpenDocument, OASIS ODF 1.2): the entries holding its text.
type zipFormat struct {
	mediaType, ext string
	entries        []string // path.Match patterns
}

var zipFormats = []zipFormat{
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx",
		[]string{"word/document.xml", "word/header*.xml", "word/footer*.xml", "word/footnotes.xml", "word/endnotes.xml"}},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx",
		[]string{"xl/sharedStrings.xml", "xl/worksheets/sheet*.xml"}},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx",
		[]string{"ppt/slides/slide*.xml", "ppt/notesSlides/notesSlide*.xml"}},
	{"application/vnd.oasis.opendocument.text", ".odt", []string{"content.xml"}},
	{"application/vnd.oasis.opendocument.spreadsheet", ".ods", []string{"content.xml"}},
	{"application/vnd.oasis.opendocument.presentation", ".odp", []string{"content.xml"}},
}

// zipText reads the format's text entries. Limits: the number of entries
// in the container, the bytes an entry may expand to (at most MaxRatio
// times its compressed size, and no more than the text still wanted
// times a factor for markup), and XML depth (xmlText).
func (e *Extractor) zipText(ctx context.Context, data []byte, f zipFormat, limit int64) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("%s: %w", f.ext, err)
	}
	if len(zr.File) > e.lim.MaxEntries {
		return "", fmt.Errorf("%w: %s with %d entries, more than %d", ErrLimit, f.ext, len(zr.File), e.lim.MaxEntries)
	}
	var out strings.Builder
	for _, zf := range zr.File {
		if !matchAny(f.entries, zf.Name) {
			continue
		}
		left := limit - int64(out.Len())
		if left <= 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return out.String(), err
		}
		// A zip bomb: an entry may expand to MaxRatio times its
		// compressed size, whatever its header declares.
		ratioCap := max(int64(zf.CompressedSize64+1)*e.lim.MaxRatio, minRatioCap)
		if zf.UncompressedSize64 > uint64(ratioCap) {
			return out.String(), fmt.Errorf("%w: %s entry %s expands %d to %d bytes", ErrLimit, f.ext, zf.Name, zf.CompressedSize64, zf.UncompressedSize64)
		}
		// XML markup is most of an entry: read up to 16 times the text
		// still wanted.
		budget := min(16*left+64<<10, ratioCap)
		rc, err := zf.Open()
		if err != nil {
			return out.String(), fmt.Errorf("%s entry %s: %w", f.ext, zf.Name, err)
		}
		lr := &countReader{r: io.LimitReader(rc, budget+1)}
		s, err := xmlText(ctx, lr, e.lim.MaxDepth, left)
		rc.Close()
		if lr.n > budget {
			if budget == ratioCap {
				return out.String(), fmt.Errorf("%w: %s entry %s expands more than %d times", ErrLimit, f.ext, zf.Name, e.lim.MaxRatio)
			}
			err = nil // cut where enough text was read
		}
		if out.Len() > 0 && s != "" {
			out.WriteByte('\n')
		}
		out.WriteString(s)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return out.String(), fmt.Errorf("%s entry %s: %w", f.ext, zf.Name, err)
		}
	}
	return out.String(), nil
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// minRatioCap is what any entry may expand to: the ratio limit is for
// bombs, and small entries of repetitive XML compress very well.
const minRatioCap = 1 << 20

// breakAfter are elements whose end separates words: paragraphs, cells,
// tabs and line breaks of OOXML (w:, a:, x:) and ODF (text:, table:).
var breakAfter = map[string]bool{
	"p": true, "h": true, "tab": true, "br": true, "cr": true, "tc": true, "si": true, "c": true,
	"table-cell": true, "line-break": true, "s": true, "list-item": true, "row": true, "tr": true,
}

// xmlText collects the character data of an XML document, at most max
// bytes, failing past maxDepth nested elements. encoding/xml does not
// expand entities a DTD declares (an undeclared entity is an error), so
// "billion laughs" documents fail instead of growing.
func xmlText(ctx context.Context, r io.Reader, maxDepth int, max int64) (string, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var b strings.Builder
	depth := 0
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return b.String(), ctx.Err()
		}
		tok, err := d.RawToken()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxDepth {
				return b.String(), fmt.Errorf("%w: XML nested deeper than %d", ErrLimit, maxDepth)
			}
		case xml.EndElement:
			depth--
			if breakAfter[t.Name.Local] && b.Len() > 0 && int64(b.Len()) < max {
				b.WriteByte('\n')
			}
		case xml.CharData:
			if depth == 0 {
				continue
			}
			if int64(b.Len()+len(t)) > max {
				b.Write(t[:max-int64(b.Len())])
				return cutUTF8(b.String(), int(max)), nil
			}
			b.Write(t)
		case xml.Directive:
			// A DTD: entities declared in it are never expanded.
		}
	}
}
