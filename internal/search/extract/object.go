package extract

import (
	"bytes"
	"io"
	"strings"
)

// Calendar objects (RFC 5545) and contacts (RFC 6350) are stored as
// they are, not as MIME messages: their text is in properties. An event
// or task's SUMMARY is its subject, ORGANIZER its sender and ATTENDEEs
// its recipients (name and address), DESCRIPTION, LOCATION, COMMENT and
// CATEGORIES its body; a contact's FN is its subject, its addresses
// (EMAIL) its recipients, and names, organisation, title, notes, postal
// addresses and telephone numbers its body.

// isObject reports whether content starts like an iCalendar or vCard
// object.
func isObject(head []byte) bool {
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	up := bytes.ToUpper(head[:min(len(head), 16)])
	return bytes.HasPrefix(up, []byte("BEGIN:VCALENDAR")) || bytes.HasPrefix(up, []byte("BEGIN:VCARD"))
}

// object extracts the text of an iCalendar or vCard object of size
// bytes, at most max bytes of text in all.
func object(r io.ReaderAt, size, max int64) (*Message, error) {
	data, err := io.ReadAll(io.NewSectionReader(r, 0, min(size, 16*max+64<<10)))
	if err != nil {
		return nil, err
	}
	// Unfold (RFC 5545 §3.1): a line break followed by a space or tab
	// continues the line.
	text := strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(string(data))
	var subject, from, to, body strings.Builder
	add := func(b *strings.Builder, s string) {
		if s == "" || int64(subject.Len()+from.Len()+to.Len()+body.Len()+len(s)) > max {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		nameParams, value, ok := cutValue(line)
		if !ok {
			continue
		}
		name, params, _ := strings.Cut(nameParams, ";")
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:] // vCard groups: "item1.EMAIL"
		}
		value = unescapeText(value)
		switch strings.ToUpper(name) {
		case "SUMMARY", "FN":
			add(&subject, value)
		case "ORGANIZER":
			add(&from, person(params, value))
		case "ATTENDEE":
			add(&to, person(params, value))
		case "EMAIL":
			add(&to, value)
		case "N", "ADR", "ORG", "CATEGORIES", "RESOURCES", "NICKNAME": // structured: components apart
			add(&body, strings.Join(strings.FieldsFunc(value, func(r rune) bool { return r == ';' || r == ',' }), " "))
		case "DESCRIPTION", "LOCATION", "COMMENT", "TITLE", "ROLE", "NOTE", "TEL", "CONTACT":
			add(&body, value)
		}
	}
	m := &Message{Subject: subject.String(), From: from.String(), To: to.String(), Body: body.String()}
	m.Bytes = int64(len(m.Subject) + len(m.From) + len(m.To) + len(m.Body))
	return m, nil
}

// cutValue splits a content line at the colon that ends its name and
// parameters (a colon inside a quoted parameter value does not count).
func cutValue(line string) (string, string, bool) {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case ':':
			if !quoted {
				return line[:i], line[i+1:], true
			}
		}
	}
	return "", "", false
}

// person is "CN <address>" from a CN parameter and a mailto: value.
func person(params, value string) string {
	addr := value
	if len(addr) >= 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	for _, p := range strings.Split(params, ";") {
		if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "CN") {
			return strings.Trim(v, `"`) + " <" + addr + ">"
		}
	}
	return addr
}

// unescapeText undoes TEXT escaping (RFC 5545 §3.3.11, RFC 6350 §3.4).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`).Replace(s)
}
