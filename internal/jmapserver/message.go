package jmapserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/store"
)

// message is a parsed stored message.
type message struct {
	item *store.Item
	raw  *bytes.Reader
	root *mime.Part
	// partBase, when set, prefixes the blob ids of the parts instead of
	// the item's (a message parsed from a blob, Email/parse).
	partBase string
}

// itemOf returns a live mail item of the account's store; an item of
// another store, a deleted one or one the principal may not read is
// store.ErrNotFound (existence does not leak).
func (s *Server) itemOf(ctx context.Context, storeID, itemID int64) (*store.Item, error) {
	it, err := s.o.Store.GetItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	if it.StoreID != storeID || it.Deleted {
		return nil, fmt.Errorf("item %d: %w", itemID, store.ErrNotFound)
	}
	f, err := s.o.Store.GetFolder(ctx, it.FolderID)
	if err != nil {
		return nil, err
	}
	if !isMailFolder(f) {
		return nil, fmt.Errorf("item %d is not mail: %w", itemID, store.ErrNotFound)
	}
	return it, nil
}

// maxParsedMessage bounds the bytes read to parse one message.
const maxParsedMessage = 100 << 20

func (s *Server) loadMessage(ctx context.Context, it *store.Item) (*message, error) {
	rc, err := s.o.Store.OpenItem(ctx, it.ID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxParsedMessage))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", it.ID, err)
	}
	root, err := mime.Parse(b, mime.Limits{})
	var le *mime.LimitError
	if err != nil && !errors.As(err, &le) {
		return nil, fmt.Errorf("parse item %d: %w", it.ID, err)
	}
	return &message{item: it, raw: bytes.NewReader(b), root: root}, nil
}

// keywords maps IMAP flags to JMAP keywords (RFC 8621 §4.1.1): system
// flags to their $ names, keywords lowercased (JMAP keywords are
// case-insensitive). \Deleted and \Recent have no keyword.
func keywords(flags []string) map[string]bool {
	out := map[string]bool{}
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			out["$seen"] = true
		case `\flagged`:
			out["$flagged"] = true
		case `\answered`:
			out["$answered"] = true
		case `\draft`:
			out["$draft"] = true
		case `\deleted`, `\recent`:
		default:
			if !strings.HasPrefix(f, `\`) {
				out[strings.ToLower(f)] = true
			}
		}
	}
	return out
}

// flagOf is the inverse of keywords for one keyword.
func flagOf(kw string) string {
	switch strings.ToLower(kw) {
	case "$seen":
		return `\Seen`
	case "$flagged":
		return `\Flagged`
	case "$answered":
		return `\Answered`
	case "$draft":
		return `\Draft`
	}
	return kw
}

func utcDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// emailAddress is RFC 8621 §4.1.2.3.
type emailAddress struct {
	Name  *string `json:"name"`
	Email string  `json:"email"`
}

type addressGroup struct {
	Name      *string        `json:"name"`
	Addresses []emailAddress `json:"addresses"`
}

func groupedAddresses(v string) []addressGroup {
	var out []addressGroup
	cur := -1
	for _, a := range mime.ParseAddressList(v) {
		switch a.Kind {
		case mime.AddrGroupStart:
			name := mime.DecodeHeaderValue(a.Mailbox)
			out = append(out, addressGroup{Name: &name, Addresses: []emailAddress{}})
			cur = len(out) - 1
		case mime.AddrGroupEnd:
			cur = -1
		default:
			ea := emailAddress{Email: a.Mailbox + "@" + a.Host}
			if a.Host == "" || a.Host == mime.MissingDomain {
				ea.Email = a.Mailbox
			}
			if a.Name != "" {
				n := mime.DecodeHeaderValue(a.Name)
				ea.Name = &n
			}
			if cur < 0 {
				if len(out) == 0 || out[len(out)-1].Name != nil {
					out = append(out, addressGroup{Addresses: []emailAddress{}})
				}
				out[len(out)-1].Addresses = append(out[len(out)-1].Addresses, ea)
			} else {
				out[cur].Addresses = append(out[cur].Addresses, ea)
			}
		}
	}
	return out
}

func addresses(v string) []emailAddress {
	out := []emailAddress{}
	for _, g := range groupedAddresses(v) {
		out = append(out, g.Addresses...)
	}
	return out
}

func asText(v string) string {
	return strings.TrimSpace(mime.DecodeHeaderValue(v))
}

func asURLs(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") {
			out = append(out, f[1:len(f)-1])
		}
	}
	return out
}

// headerForm computes one parsed form of a header value (RFC 8621
// §4.1.2); field is the raw Field (for asRaw).
func headerForm(f mime.Field, form string) any {
	switch form {
	case "Raw":
		raw := string(f.Raw)
		if i := strings.IndexByte(raw, ':'); i >= 0 {
			raw = raw[i+1:]
		}
		return strings.TrimRight(raw, "\r\n")
	case "Text":
		return asText(f.Value)
	case "Addresses":
		return addresses(f.Value)
	case "GroupedAddresses":
		return groupedAddresses(f.Value)
	case "MessageIds":
		ids := mime.ParseMessageIDs(f.Value)
		if len(ids) == 0 {
			return nil
		}
		return ids
	case "Date":
		t, ok := mime.ParseDate(f.Value)
		if !ok {
			return nil
		}
		return t.Format(time.RFC3339)
	case "URLs":
		u := asURLs(f.Value)
		if u == nil {
			return nil
		}
		return u
	}
	return nil
}

// headerProperty parses "header:Name[:asForm][:all]"; ok is false for a
// malformed one.
func headerProperty(p string) (name, form string, all, ok bool) {
	f := strings.Split(p, ":")
	if len(f) < 2 || len(f) > 4 || f[0] != "header" || f[1] == "" {
		return "", "", false, false
	}
	name, form = f[1], "Raw"
	rest := f[2:]
	if len(rest) > 0 && rest[len(rest)-1] == "all" {
		all = true
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 1 {
		if !strings.HasPrefix(rest[0], "as") {
			return "", "", false, false
		}
		form = rest[0][2:]
	} else if len(rest) > 1 {
		return "", "", false, false
	}
	switch form {
	case "Raw", "Text", "Addresses", "GroupedAddresses", "MessageIds", "Date", "URLs":
	default:
		return "", "", false, false
	}
	return name, form, all, true
}

// headerValue answers a header:... property for header h.
func headerValue(h *mime.Header, name, form string, all bool) any {
	var fs []mime.Field
	for _, f := range h.Fields() {
		if strings.EqualFold(f.Name, name) {
			fs = append(fs, f)
		}
	}
	if all {
		out := []any{}
		for _, f := range fs {
			out = append(out, headerForm(f, form))
		}
		return out
	}
	if len(fs) == 0 {
		return nil
	}
	return headerForm(fs[len(fs)-1], form) // RFC 8621 §4.1.3: the last instance
}

func rawHeaders(h *mime.Header) []map[string]string {
	out := []map[string]string{}
	for _, f := range h.Fields() {
		if f.Name == "" {
			continue
		}
		out = append(out, map[string]string{"name": f.Name, "value": headerForm(f, "Raw").(string)})
	}
	return out
}

// bodyPart is a leaf or multipart of the body structure with its path
// (IMAP section numbers, which mime.Part.Section understands).
type bodyPart struct {
	p    *mime.Part
	path []int
	subs []*bodyPart
}

func (m *message) structure() *bodyPart {
	var build func(p *mime.Part, path []int, depth int) *bodyPart
	build = func(p *mime.Part, path []int, depth int) *bodyPart {
		bp := &bodyPart{p: p, path: path}
		if p.IsMultipart() && depth < pmimeMaxDepth {
			for i, c := range p.Children {
				cp := append(append([]int(nil), path...), i+1)
				bp.subs = append(bp.subs, build(c, cp, depth+1))
			}
		}
		return bp
	}
	if m.root.IsMultipart() {
		return build(m.root, nil, 0)
	}
	return build(m.root, []int{1}, 0)
}

func (bp *bodyPart) typ() string { return bp.p.MediaType + "/" + bp.p.SubType }

func (bp *bodyPart) name() string {
	n := bp.p.Filename()
	if n == "" {
		return ""
	}
	return mime.DecodeHeaderValue(n)
}

func isInlineMediaType(t string) bool {
	return strings.HasPrefix(t, "image/") || strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")
}

// parseStructure is RFC 8621 §4.1.4's algorithm for textBody, htmlBody
// and attachments. A nil list pointer stands for the algorithm's null.
func parseStructure(parts []*bodyPart, multipartType string, inAlternative bool, htmlBody, textBody, attachments *[]*bodyPart) {
	textLength, htmlLength := -1, -1
	if textBody != nil {
		textLength = len(*textBody)
	}
	if htmlBody != nil {
		htmlLength = len(*htmlBody)
	}
	for i, part := range parts {
		t := part.typ()
		isMultipart := part.p.IsMultipart() && part.subs != nil
		isInline := part.p.Disposition != "attachment" &&
			(t == "text/plain" || t == "text/html" || isInlineMediaType(t)) &&
			(i == 0 || (multipartType != "related" && (isInlineMediaType(t) || part.name() == "")))
		switch {
		case isMultipart:
			sub := part.p.SubType
			parseStructure(part.subs, sub, inAlternative || sub == "alternative", htmlBody, textBody, attachments)
		case isInline:
			if multipartType == "alternative" {
				switch t {
				case "text/plain":
					*textBody = append(*textBody, part)
				case "text/html":
					*htmlBody = append(*htmlBody, part)
				default:
					*attachments = append(*attachments, part)
				}
				continue
			} else if inAlternative {
				if t == "text/plain" {
					htmlBody = nil
				}
				if t == "text/html" {
					textBody = nil
				}
			}
			if textBody != nil {
				*textBody = append(*textBody, part)
			}
			if htmlBody != nil {
				*htmlBody = append(*htmlBody, part)
			}
			if (textBody == nil || htmlBody == nil) && isInlineMediaType(t) {
				*attachments = append(*attachments, part)
			}
		default:
			*attachments = append(*attachments, part)
		}
	}
	if multipartType == "alternative" && textBody != nil && htmlBody != nil {
		if textLength == len(*textBody) && htmlLength != len(*htmlBody) {
			*textBody = append(*textBody, (*htmlBody)[htmlLength:]...)
		}
		if htmlLength == len(*htmlBody) && textLength != len(*textBody) {
			*htmlBody = append(*htmlBody, (*textBody)[textLength:]...)
		}
	}
}

// bodies returns textBody, htmlBody and attachments.
func (m *message) bodies() (text, html, att []*bodyPart) {
	root := m.structure()
	text, html, att = []*bodyPart{}, []*bodyPart{}, []*bodyPart{}
	if root.subs != nil {
		parseStructure(root.subs, root.p.SubType, root.p.SubType == "alternative", &html, &text, &att)
	} else {
		parseStructure([]*bodyPart{root}, "mixed", false, &html, &text, &att)
	}
	return text, html, att
}

func partID(path []int) string {
	var b strings.Builder
	for i, n := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, n)
	}
	return b.String()
}

// defaultBodyProperties is RFC 8621 §4.2's default for bodyProperties.
var defaultBodyProperties = []string{"partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language", "location"}

func (m *message) partObject(bp *bodyPart, props []string) map[string]any {
	o := map[string]any{}
	p := bp.p
	leaf := bp.subs == nil
	for _, prop := range props {
		switch prop {
		case "partId":
			if leaf {
				o[prop] = partID(bp.path)
			} else {
				o[prop] = nil
			}
		case "blobId":
			if leaf {
				if m.partBase != "" {
					o[prop] = m.partBase + strings.TrimPrefix(partBlobID(0, bp.path), "p0")
				} else {
					o[prop] = partBlobID(m.item.ID, bp.path)
				}
			} else {
				o[prop] = nil
			}
		case "size":
			if leaf {
				n, err := p.DecodedSize(m.raw)
				if err != nil {
					n = p.Size()
				}
				o[prop] = n
			} else {
				o[prop] = 0
			}
		case "headers":
			o[prop] = rawHeaders(&p.Header)
		case "name":
			if n := bp.name(); n != "" {
				o[prop] = n
			} else {
				o[prop] = nil
			}
		case "type":
			o[prop] = bp.typ()
		case "charset":
			if p.MediaType == "text" {
				cs := p.Charset()
				if cs == "" {
					cs = "us-ascii"
				}
				o[prop] = cs
			} else {
				o[prop] = nil
			}
		case "disposition":
			o[prop] = nullIfEmpty(p.Disposition)
		case "cid":
			id := strings.TrimSpace(p.ID)
			id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
			o[prop] = nullIfEmpty(id)
		case "language":
			if len(p.Language) == 0 {
				o[prop] = nil
			} else {
				o[prop] = p.Language
			}
		case "location":
			o[prop] = nullIfEmpty(p.Location)
		case "subParts":
			if leaf {
				o[prop] = nil
			} else {
				subs := []map[string]any{}
				for _, c := range bp.subs {
					subs = append(subs, m.partObject(c, props))
				}
				o[prop] = subs
			}
		default:
			if name, form, all, ok := headerProperty(prop); ok {
				o[prop] = headerValue(&p.Header, name, form, all)
			}
		}
	}
	return o
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bodyValue is RFC 8621 §4.1.4 EmailBodyValue.
type bodyValue struct {
	Value             string `json:"value"`
	IsEncodingProblem bool   `json:"isEncodingProblem"`
	IsTruncated       bool   `json:"isTruncated"`
}

func (m *message) bodyValue(bp *bodyPart, maxBytes int) bodyValue {
	p := bp.p
	var bv bodyValue
	if !p.CanDecode() {
		bv.IsEncodingProblem = true
	}
	data, err := io.ReadAll(io.LimitReader(p.DecodedBody(m.raw), int64(4*maxBytes+4096)))
	if err != nil {
		bv.IsEncodingProblem = true
	}
	cs := p.Charset()
	if cs == "" {
		cs = "us-ascii"
	}
	text, ok := mime.DecodeCharset(cs, data)
	if !ok {
		bv.IsEncodingProblem = true
		text = strings.ToValidUTF8(string(data), "\uFFFD")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if maxBytes > 0 && len(text) > maxBytes {
		cut := maxBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
		bv.IsTruncated = true
	}
	bv.Value = text
	return bv
}

// preview is up to 256 characters of the first text body (RFC 8621
// §4.1.4).
func (m *message) preview() string {
	text, html, _ := m.bodies()
	var src *bodyPart
	for _, l := range [][]*bodyPart{text, html} {
		for _, bp := range l {
			if bp.p.MediaType == "text" {
				src = bp
				break
			}
		}
		if src != nil {
			break
		}
	}
	if src == nil {
		return ""
	}
	var v string
	if src.p.SubType == "html" {
		v = src.p.Text(m.raw, 4096)
	} else {
		v = m.bodyValue(src, 4096).Value
	}
	v = strings.Join(strings.Fields(v), " ")
	if utf8.RuneCountInString(v) > 256 {
		r := []rune(v)
		v = string(r[:256])
	}
	return v
}

func (m *message) hasAttachment() bool {
	_, _, att := m.bodies()
	for _, a := range att {
		if a.p.Disposition == "attachment" || a.name() != "" || !isInlineMediaType(a.typ()) {
			return true
		}
	}
	return false
}
