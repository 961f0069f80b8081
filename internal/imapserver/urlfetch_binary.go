package imapserver

import (
	"bytes"
	"errors"
	"io"

	"github.com/roost-mail/roost/internal/mail/urlauth"
	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// URLAUTH=BINARY, RFC 5524: a URLFETCH parameter list asks for the
// part's BODYPARTSTRUCTURE and its content as stored (BODY) or with the
// transfer encodings undone (BINARY). The answer is NIL as a whole when
// the URL does not resolve, and BINARY NIL when the content cannot be
// decoded (RFC 5524 §4).

// urlFetchExt answers one URL that came with a parameter list.
func (s *session) urlFetchExt(r *urlauth.Resolver, url string, o imap.URLFetchOpts) error {
	p, err := r.FetchPart(s.ctx, s.urlAccess(), url)
	switch {
	case errors.Is(err, urlauth.ErrInvalid), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
		return s.w.URLFetchExt(url, nil)
	case err != nil:
		return wrap(opMessage, err)
	}
	out := &imap.URLFetchPart{Data: o.Data}
	bs := p.Part
	switch o.Data {
	case "BODY":
		if p.Whole {
			out.Content = p.Cut(p.Data)
		} else {
			out.Content = p.Cut(p.Data[p.Part.BodyStart:p.Part.BodyEnd])
		}
	case "BINARY":
		// The body structure describes the data sent (RFC 5524 §5): the
		// converted entity, parsed again.
		ent, err := binaryEntity(nil, p.Data, p.Part)
		if err != nil {
			out.NIL = true
			break
		}
		conv, _ := mime.Parse(ent, mime.Limits{})
		if conv != nil {
			conv.Walk(func(q *mime.Part) bool {
				if !q.IsMultipart() && q.Message == nil && q.Encoding == "binary" {
					q.Encoding = dataDomain(ent[q.BodyStart:q.BodyEnd])
				}
				return true
			})
			bs = conv
		}
		if p.Whole {
			out.Content = p.Cut(ent)
		} else {
			b, _ := binaryBody(nil, p.Data, p.Part)
			out.Content = p.Cut(b)
		}
	}
	if o.BodyPartStructure {
		out.BodyPartStructure = mime.AppendBodyStructure(nil, bs, true, s.w.UTF8)
	}
	s.w.URLFetchExt(url, out)
	return nil
}

var errUndecodable = errors.New("unknown Content-Transfer-Encoding")

// binaryEntity appends entity q (header and body) with every transfer
// encoding below it undone and its Content-Transfer-Encoding field saying
// so, as RFC 5524 §3 describes a converted message/rfc822 or multipart.
func binaryEntity(dst, data []byte, q *mime.Part) ([]byte, error) {
	hdr := data[q.HeaderStart:q.HeaderEnd]
	if !q.IsMultipart() && q.Message == nil && (q.Encoding == "base64" || q.Encoding == "quoted-printable") {
		dst = appendBinaryHeader(dst, hdr)
	} else {
		dst = append(dst, hdr...)
	}
	return binaryBody(dst, data, q)
}

// binaryBody appends q's body with its transfer encodings undone.
func binaryBody(dst, data []byte, q *mime.Part) ([]byte, error) {
	var kids []*mime.Part
	switch {
	case q.IsMultipart():
		kids = q.Children
	case q.Message != nil:
		kids = []*mime.Part{q.Message}
	default:
		if !q.CanDecode() {
			return nil, errUndecodable
		}
		b, err := io.ReadAll(q.DecodedBody(bytes.NewReader(data)))
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	}
	at := q.BodyStart
	for _, c := range kids {
		if c.HeaderStart < at || c.BodyEnd > q.BodyEnd {
			return nil, errUndecodable // offsets out of order: do not guess
		}
		dst = append(dst, data[at:c.HeaderStart]...)
		var err error
		if dst, err = binaryEntity(dst, data, c); err != nil {
			return nil, err
		}
		at = c.BodyEnd
	}
	return append(dst, data[at:q.BodyEnd]...), nil
}

// appendBinaryHeader appends a header block with its
// Content-Transfer-Encoding field (folded lines included) replaced by
// "Content-Transfer-Encoding: binary".
func appendBinaryHeader(dst, hdr []byte) []byte {
	const field = "content-transfer-encoding:"
	skipping := false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line = hdr[:i+1]
		}
		hdr = hdr[len(line):]
		if skipping && (line[0] == ' ' || line[0] == '\t') {
			continue
		}
		skipping = false
		if len(line) >= len(field) && bytes.EqualFold(line[:len(field)], []byte(field)) {
			skipping = true
			eol := "\n"
			if bytes.HasSuffix(line, []byte("\r\n")) {
				eol = "\r\n"
			}
			dst = append(append(dst, "Content-Transfer-Encoding: binary"...), eol...)
			continue
		}
		dst = append(dst, line...)
	}
	return dst
}

// dataDomain names the transfer encoding that data needs as it is
// (RFC 2045 §2.7-2.9).
func dataDomain(data []byte) string {
	enc := "7bit"
	for _, c := range data {
		switch {
		case c == 0:
			return "binary"
		case c >= 0x80:
			enc = "8bit"
		}
	}
	return enc
}
