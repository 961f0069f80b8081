package easserver

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// maxMessageRead bounds how much of one message is read to render it.
const maxMessageRead = 64 << 20

// bodyPref is a client's body preference (airsyncbase:BodyPreference).
type bodyPref struct {
	typ       int // 1 plain, 2 HTML, 3 RTF, 4 MIME
	truncate  int // bytes; 0 = whole
	allOrNone bool
	preview   int
}

// bodyOptions are the Options of a collection that shape item bodies.
type bodyOptions struct {
	prefs       []bodyPref
	mimeSupport int // 0 never, 1 S/MIME only, 2 always
	mimeTrunc   int // 12.1-style MIMETruncation, bytes; 0 whole
}

var mimeTruncations = []int{0, 4096, 5120, 7168, 10240, 20480, 51200, 102400, 0}

func parseBodyOptions(opts *wbxml.Node) bodyOptions {
	var o bodyOptions
	if opts == nil {
		return o
	}
	for _, bp := range opts.All("BodyPreference") {
		p := bodyPref{}
		p.typ, _ = strconv.Atoi(bp.ChildText("Type"))
		p.truncate, _ = strconv.Atoi(bp.ChildText("TruncationSize"))
		p.allOrNone = bp.ChildText("AllOrNone") == "1"
		p.preview, _ = strconv.Atoi(bp.ChildText("Preview"))
		if p.truncate < 0 {
			p.truncate = 0
		}
		o.prefs = append(o.prefs, p)
	}
	o.mimeSupport, _ = strconv.Atoi(opts.ChildText("MIMESupport"))
	if t, err := strconv.Atoi(opts.ChildText("MIMETruncation")); err == nil && t >= 0 && t < len(mimeTruncations) {
		o.mimeTrunc = mimeTruncations[t]
	}
	return o
}

// choose picks the body to send: the first preference Roost can serve
// (MIME only with MIMESupport), else whole plain text.
func (o bodyOptions) choose() bodyPref {
	for _, p := range o.prefs {
		switch p.typ {
		case 1, 2:
			return p
		case 4:
			if o.mimeSupport == 2 || o.mimeSupport == 1 {
				return p
			}
		}
	}
	if len(o.prefs) == 0 && o.mimeSupport == 2 {
		return bodyPref{typ: 4, truncate: o.mimeTrunc}
	}
	return bodyPref{typ: 1}
}

// message is a parsed stored message.
type message struct {
	raw  []byte
	root *mime.Part
}

func (c *call) readMessage(ctx context.Context, itemID int64) (*message, error) {
	rc, err := c.s.o.Store.OpenItem(ctx, itemID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxMessageRead))
	if err != nil {
		return nil, fmt.Errorf("read item %d: %w", itemID, err)
	}
	root, err := mime.Parse(raw, mime.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("parse item %d: %w", itemID, err)
	}
	return &message{raw: raw, root: root}, nil
}

func (m *message) header(name string) string {
	return strings.ToValidUTF8(mime.DecodeHeaderValue(m.root.Header.Get(name)), "\uFFFD")
}

// bodyPart returns the first text part of subtype sub that is not an
// attachment.
func (m *message) bodyPart(sub string) *mime.Part {
	var found *mime.Part
	m.root.Walk(func(q *mime.Part) bool {
		if q.MediaType == "text" && q.SubType == sub && q.Disposition != "attachment" {
			found = q
			return false
		}
		return q == m.root || q.IsMultipart()
	})
	return found
}

func (m *message) decodeText(p *mime.Part) string {
	data, _ := io.ReadAll(io.LimitReader(p.DecodedBody(bytes.NewReader(m.raw)), maxMessageRead))
	s, ok := mime.DecodeCharset(p.Charset(), data)
	if !ok {
		s = strings.ToValidUTF8(string(data), "\uFFFD")
	}
	return s
}

// plain is the message's text: its text/plain part, or its HTML reduced
// to text.
func (m *message) plain() string {
	if p := m.bodyPart("plain"); p != nil {
		return m.decodeText(p)
	}
	if p := m.bodyPart("html"); p != nil {
		return p.Text(bytes.NewReader(m.raw), maxMessageRead)
	}
	return ""
}

// htmlBody is the message's HTML, or its text in <pre>.
func (m *message) htmlBody() string {
	if p := m.bodyPart("html"); p != nil {
		return m.decodeText(p)
	}
	return "<html><body><pre>" + html.EscapeString(m.plain()) + "</pre></body></html>"
}

// attachment is a part offered as an attachment, numbered by its place
// in a walk of the message.
type attachment struct {
	n    int
	part *mime.Part
	name string
}

func (m *message) attachments() []attachment {
	var out []attachment
	i := 0
	m.root.Walk(func(q *mime.Part) bool {
		i++
		if q.IsMultipart() || q == m.root {
			return true
		}
		name := q.Filename()
		if q.Disposition == "attachment" || (name != "" && q.Disposition != "inline") {
			if name == "" {
				name = "attachment"
			}
			out = append(out, attachment{n: i, part: q, name: strings.ToValidUTF8(name, "_")})
		}
		return len(out) < 100
	})
	return out
}

// partByNumber returns the part at walk position n (attachments' file
// references).
func (m *message) partByNumber(n int) *mime.Part {
	var found *mime.Part
	i := 0
	m.root.Walk(func(q *mime.Part) bool {
		i++
		if i == n {
			found = q
			return false
		}
		return true
	})
	return found
}

// cut shortens s to at most n bytes on a character boundary.
func cut(s string, n int) string {
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func em(name, v string) *wbxml.Node  { return wbxml.Str(eas.Email, name, v) }
func asb(name, v string) *wbxml.Node { return wbxml.Str(eas.AirSyncBase, name, v) }

// easTime formats a time as ActiveSync dates are written.
func easTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// displayNames is DisplayTo: the recipients' names (or addresses).
func displayNames(v string) string {
	var names []string
	for _, a := range mime.ParseAddressList(v) {
		if a.Kind != 0 {
			continue
		}
		n := mime.DecodeHeaderValue(a.Name)
		if n == "" {
			n = a.Mailbox + "@" + a.Host
		}
		names = append(names, n)
	}
	return strings.ToValidUTF8(strings.Join(names, "; "), "\uFFFD")
}

// flagsData are the Read and Flag elements of a message's flags.
func flagsData(flags []string) []*wbxml.Node {
	read := "0"
	if slices.Contains(flags, `\Seen`) {
		read = "1"
	}
	flag := wbxml.El(eas.Email, "Flag")
	if slices.Contains(flags, `\Flagged`) {
		flag.Add(em("FlagStatus", "2"), em("FlagType", "Flag for follow up"))
	}
	return []*wbxml.Node{em("Read", read), flag}
}

// mailData renders a message as Email-class ApplicationData
// ([MS-ASEMAIL] §2.2.2).
func (c *call) mailData(m *message, it *store.Item, fileRef string, o bodyOptions) *wbxml.Node {
	ad := wbxml.El(eas.AirSync, "ApplicationData")
	add := func(name, v string) {
		if v != "" {
			ad.Add(em(name, v))
		}
	}
	add("To", m.header("To"))
	add("Cc", m.header("Cc"))
	add("From", m.header("From"))
	add("Subject", m.header("Subject"))
	add("ReplyTo", m.header("Reply-To"))
	ad.Add(em("DateReceived", easTime(it.InternalDate)))
	add("DisplayTo", displayNames(m.root.Header.Get("To")))
	add("ThreadTopic", mime.BaseSubject(m.header("Subject")))
	imp := "1"
	switch strings.TrimSpace(m.root.Header.Get("X-Priority")) {
	case "1", "2":
		imp = "2"
	case "4", "5":
		imp = "0"
	}
	ad.Add(em("Importance", imp))
	ad.Add(flagsData(it.Flags)[0])
	if c.version >= "12.0" {
		if atts := m.attachments(); len(atts) > 0 {
			an := wbxml.El(eas.AirSyncBase, "Attachments")
			for _, a := range atts {
				an.Add(wbxml.El(eas.AirSyncBase, "Attachment",
					asb("DisplayName", a.name),
					asb("FileReference", fileRef+":"+strconv.Itoa(a.n)),
					asb("Method", "1"),
					asb("EstimatedDataSize", strconv.FormatInt(a.part.Size(), 10))))
			}
			ad.Add(an)
		}
	}
	ad.Add(c.bodyData(m, o.choose()))
	ad.Add(em("MessageClass", "IPM.Note"), em("InternetCPID", "65001"), flagsData(it.Flags)[1],
		em("ContentClass", "urn:content-classes:message"))
	nat := "1"
	if m.bodyPart("html") != nil {
		nat = "2"
	}
	ad.Add(asb("NativeBodyType", nat))
	return ad
}

// body is the airsyncbase:Body for a preference, truncated as asked.
func (c *call) bodyData(m *message, p bodyPref) *wbxml.Node {
	var data string
	switch p.typ {
	case 2:
		data = m.htmlBody()
	case 4:
		// MIME goes as it is stored, 8-bit bytes and all: opaque.
		b := wbxml.El(eas.AirSyncBase, "Body", asb("Type", "4"), asb("EstimatedDataSize", strconv.Itoa(len(m.raw))))
		raw := m.raw
		if p.truncate > 0 && len(raw) > p.truncate {
			b.Add(asb("Truncated", "1"))
			if p.allOrNone {
				return b
			}
			raw = raw[:p.truncate]
		}
		return b.Add(wbxml.Opq(eas.AirSyncBase, "Data", raw))
	default:
		p.typ = 1
		data = m.plain()
	}
	b := wbxml.El(eas.AirSyncBase, "Body", asb("Type", strconv.Itoa(p.typ)),
		asb("EstimatedDataSize", strconv.Itoa(len(data))))
	if p.truncate > 0 && len(data) > p.truncate {
		b.Add(asb("Truncated", "1"))
		if p.allOrNone {
			return b
		}
		data = cut(data, p.truncate)
	}
	if data != "" {
		b.Add(asb("Data", strings.ReplaceAll(data, "\x00", "")))
	}
	if p.preview > 0 {
		b.Add(asb("Preview", cut(strings.Join(strings.Fields(m.plain()), " "), min(p.preview, 255))))
	}
	return b
}
