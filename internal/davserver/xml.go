package davserver

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// XML namespaces of WebDAV, CalDAV, CardDAV and the common extensions.
const (
	nsDAV     = "DAV:"
	nsCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
	nsApple   = "http://apple.com/ns/ical/"
)

// prefixes used when writing responses.
var prefixes = map[string]string{nsDAV: "D", nsCalDAV: "C", nsCardDAV: "CR", nsCS: "CS", nsApple: "A"}

// XML request bodies are bounded: bytes by Options.MaxXMLBytes, and the
// tree by these.
const (
	maxXMLDepth    = 32
	maxXMLElements = 20000
	maxXMLText     = 1 << 20
)

// errBadXML is wrapped by every rejection of a request body.
var errBadXML = errors.New("bad XML request body")

// node is one element of a parsed request body.
type node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*node
	Text     string // character data directly inside, concatenated

	buf []byte // character data while parsing
}

func (n *node) is(space, local string) bool { return n.Name.Space == space && n.Name.Local == local }

// child returns the first child with the name, or nil.
func (n *node) child(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

func (n *node) attr(local string) string {
	for _, a := range n.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == n.Name.Space) {
			return a.Value
		}
	}
	return ""
}

// parseXML reads a request body of at most max bytes into a tree. A
// DOCTYPE (and so every entity declaration: XXE, billion laughs) is
// refused, as are trees deeper than maxXMLDepth or larger than
// maxXMLElements. An empty body yields a nil node.
func parseXML(r io.Reader, max int64) (*node, error) {
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadXML, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: body larger than %d bytes", errTooLarge, max)
	}
	return parseXMLBytes(body)
}

var errTooLarge = errors.New("request body too large")

func parseXMLBytes(body []byte) (*node, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return input, nil
		}
		return nil, fmt.Errorf("charset %q not supported", charset)
	}
	var (
		stack []*node
		root  *node
		count int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: DOCTYPE and other directives are not allowed", errBadXML)
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, fmt.Errorf("%w: processing instruction %q", errBadXML, t.Target)
			}
		case xml.StartElement:
			if count++; count > maxXMLElements {
				return nil, fmt.Errorf("%w: more than %d elements", errBadXML, maxXMLElements)
			}
			if len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d", errBadXML, maxXMLDepth)
			}
			n := &node{Name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" && a.Value == "" {
					// XML Namespaces 1.0 §3 (NSC: No Prefix Undeclaring).
					return nil, fmt.Errorf("%w: empty namespace for prefix %q", errBadXML, a.Name.Local)
				}
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" && a.Name.Space == "" {
					continue
				}
				n.Attr = append(n.Attr, a)
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", errBadXML)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unbalanced end tag", errBadXML)
			}
			n := stack[len(stack)-1]
			n.Text, n.buf = string(n.buf), nil
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("%w: text outside the root element", errBadXML)
				}
				continue
			}
			n := stack[len(stack)-1]
			if len(n.buf)+len(t) > maxXMLText {
				return nil, fmt.Errorf("%w: text longer than %d bytes", errBadXML, maxXMLText)
			}
			n.buf = append(n.buf, t...)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errBadXML)
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: unclosed element", errBadXML)
	}
	return root, nil
}

// encodeInner re-encodes n's content (children and text, in order of
// appearance as far as the tree keeps it) with explicit namespaces, for
// storing a dead property value.
func encodeInner(n *node) string {
	var b strings.Builder
	if len(n.Children) == 0 {
		xmlEscape(&b, n.Text)
		return b.String()
	}
	if strings.TrimSpace(n.Text) != "" {
		xmlEscape(&b, n.Text)
	}
	for _, c := range n.Children {
		encodeElem(&b, c)
	}
	return b.String()
}

func encodeElem(b *strings.Builder, n *node) {
	b.WriteString("<x:")
	b.WriteString(n.Name.Local)
	b.WriteString(` xmlns:x="`)
	xmlEscape(b, n.Name.Space)
	b.WriteString(`"`)
	for _, a := range n.Attr {
		if a.Name.Space != "" {
			continue
		}
		b.WriteString(" " + a.Name.Local + `="`)
		xmlEscape(b, a.Value)
		b.WriteString(`"`)
	}
	b.WriteString(">")
	b.WriteString(encodeInner(n))
	b.WriteString("</x:")
	b.WriteString(n.Name.Local)
	b.WriteString(">")
}

func xmlEscape(b *strings.Builder, s string) {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	b.Write(buf.Bytes())
}

func escapeString(s string) string {
	var b strings.Builder
	xmlEscape(&b, s)
	return b.String()
}

// propName is a property's qualified name.
type propName = xml.Name

// elem writes <prefix:local>inner</prefix:local> for a property name,
// declaring the namespace inline when it has no fixed prefix.
func elem(name propName, inner string) string {
	open, close := tagFor(name)
	if inner == "" {
		return strings.TrimSuffix(open, ">") + "/>"
	}
	return open + inner + close
}

func tagFor(name propName) (open, close string) {
	if p, ok := prefixes[name.Space]; ok {
		return "<" + p + ":" + name.Local + ">", "</" + p + ":" + name.Local + ">"
	}
	if name.Space == "" {
		return "<" + name.Local + ` xmlns="">`, "</" + name.Local + ">"
	}
	return "<X:" + name.Local + ` xmlns:X="` + escapeString(name.Space) + `">`, "</X:" + name.Local + ">"
}

// multistatus builds a 207 Multi-Status body (RFC 4918 §13).
type multistatus struct {
	b bytes.Buffer
	// minimal leaves out 404 propstats (RFC 8144 §2 "Prefer:
	// return=minimal", and the older "Brief: t").
	minimal bool
}

func newMultistatus(r *http.Request) *multistatus {
	m := &multistatus{}
	if r != nil {
		prefer := strings.ToLower(strings.Join(r.Header.Values("Prefer"), ","))
		m.minimal = strings.Contains(prefer, "return=minimal") || strings.EqualFold(strings.TrimSpace(r.Header.Get("Brief")), "t")
	}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	m.b.WriteString(`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/">`)
	return m
}

// propstat is one group of properties with one status.
type propstat struct {
	status int
	props  []string // encoded property elements
	err    string   // encoded precondition element, optional
}

// response adds a response for href with its propstats.
func (m *multistatus) response(href string, ps []propstat) {
	m.b.WriteString("<D:response><D:href>")
	m.b.WriteString(escapeString(href))
	m.b.WriteString("</D:href>")
	wrote := false
	for _, p := range ps {
		if len(p.props) == 0 && p.err == "" || m.minimal && p.status == http.StatusNotFound {
			continue
		}
		wrote = true
		m.b.WriteString("<D:propstat><D:prop>")
		for _, e := range p.props {
			m.b.WriteString(e)
		}
		m.b.WriteString("</D:prop><D:status>")
		m.b.WriteString(statusLine(p.status))
		m.b.WriteString("</D:status>")
		if p.err != "" {
			m.b.WriteString("<D:error>" + p.err + "</D:error>")
		}
		m.b.WriteString("</D:propstat>")
	}
	if !wrote {
		// RFC 4918 §14.24: a response holds a propstat or a status.
		m.b.WriteString("<D:propstat><D:prop/><D:status>" + statusLine(http.StatusOK) + "</D:status></D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// statusResponse adds a response carrying only a status.
func (m *multistatus) statusResponse(href string, status int) {
	m.b.WriteString("<D:response><D:href>")
	m.b.WriteString(escapeString(href))
	m.b.WriteString("</D:href><D:status>")
	m.b.WriteString(statusLine(status))
	m.b.WriteString("</D:status></D:response>")
}

// raw appends an element after the responses (sync-token).
func (m *multistatus) raw(s string) { m.b.WriteString(s) }

func (m *multistatus) bytes() []byte {
	m.b.WriteString("</D:multistatus>")
	return m.b.Bytes()
}
