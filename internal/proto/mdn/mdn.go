// Package mdn reads and writes Message Disposition Notifications (RFC
// 8098): the machine-readable message/disposition-notification part and
// the multipart/report message that carries it. It knows nothing of
// storage or transport.
//
// Invariants: Parse bounds everything a sender controls (MaxFieldsSize
// bytes, MaxFields fields, MaxErrors Error fields); Format of a parsed
// Report parses back to the same Report.
package mdn

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Limits on a parsed disposition-notification part.
const (
	MaxFieldsSize = 64 << 10 // bytes of the part read
	MaxFields     = 256      // header fields
	MaxErrors     = 16       // Error fields kept
)

// Disposition is RFC 8098 §3.2.6: action mode, sending mode and type.
type Disposition struct {
	ActionMode  string // "manual-action" or "automatic-action"
	SendingMode string // "mdn-sent-manually" or "mdn-sent-automatically"
	Type        string // "deleted", "dispatched", "displayed", "processed"
}

// Report is the content of a message/disposition-notification part.
// Address fields keep their address type ("rfc822; a@b").
type Report struct {
	ReportingUA       string
	MDNGateway        string
	OriginalRecipient string
	FinalRecipient    string
	OriginalMessageID string
	Disposition       Disposition
	Errors            []string
	// Extensions are the other fields (extension-field, RFC 8098 §3.1),
	// by name as written.
	Extensions map[string]string
}

// Values RFC 8098 §3.2.6 defines.
var (
	ActionModes  = []string{"manual-action", "automatic-action"}
	SendingModes = []string{"mdn-sent-manually", "mdn-sent-automatically"}
	Types        = []string{"deleted", "dispatched", "displayed", "processed"}
)

// ErrSyntax is returned for a part that is not a disposition notification.
var ErrSyntax = errors.New("mdn: not a disposition notification")

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// ParseDisposition parses a Disposition field value:
// action-mode "/" sending-mode ";" disposition-type ["/" modifiers].
func ParseDisposition(v string) (Disposition, error) {
	var d Disposition
	modes, typ, ok := strings.Cut(v, ";")
	if !ok {
		return d, fmt.Errorf("%w: disposition %q has no type", ErrSyntax, v)
	}
	am, sm, ok := strings.Cut(modes, "/")
	if !ok {
		return d, fmt.Errorf("%w: disposition %q has no sending mode", ErrSyntax, v)
	}
	d.ActionMode = strings.ToLower(strings.TrimSpace(stripComments(am)))
	d.SendingMode = strings.ToLower(strings.TrimSpace(stripComments(sm)))
	typ, _, _ = strings.Cut(typ, "/") // modifiers (error, RFC 8098 §3.2.6.3) are not kept
	d.Type = strings.ToLower(strings.TrimSpace(stripComments(typ)))
	if !oneOf(d.ActionMode, ActionModes) || !oneOf(d.SendingMode, SendingModes) || !oneOf(d.Type, Types) {
		return d, fmt.Errorf("%w: disposition %q", ErrSyntax, v)
	}
	return d, nil
}

// String is the Disposition field value.
func (d Disposition) String() string {
	return d.ActionMode + "/" + d.SendingMode + "; " + d.Type
}

// Valid reports whether every part of d is a value RFC 8098 defines.
func (d Disposition) Valid() bool {
	return oneOf(d.ActionMode, ActionModes) && oneOf(d.SendingMode, SendingModes) && oneOf(d.Type, Types)
}

// stripComments removes RFC 5322 comments (nested, with quoted pairs).
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && depth > 0 && i+1 < len(s):
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fields splits a header block into unfolded (name, value) pairs; a
// line that is neither a field nor a continuation is a syntax error.
func fields(b []byte) ([][2]string, error) {
	if len(b) > MaxFieldsSize {
		return nil, fmt.Errorf("%w: part larger than %d bytes", ErrSyntax, MaxFieldsSize)
	}
	var out [][2]string
	for _, line := range bytes.Split(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n")) {
		l := string(line)
		switch {
		case strings.TrimSpace(l) == "":
			// RFC 8098 §3.1: the per-message and per-recipient groups
			// may be separated by a blank line; they are read as one.
		case l[0] == ' ' || l[0] == '\t':
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: continuation before the first field", ErrSyntax)
			}
			out[len(out)-1][1] += " " + l
		default:
			name, val, ok := strings.Cut(l, ":")
			name = strings.TrimRight(name, " \t")
			if !ok || !fieldName(name) {
				return nil, fmt.Errorf("%w: line %.40q", ErrSyntax, l)
			}
			if len(out) >= MaxFields {
				return nil, fmt.Errorf("%w: more than %d fields", ErrSyntax, MaxFields)
			}
			out = append(out, [2]string{name, val})
		}
	}
	for i := range out {
		out[i][1] = clean(out[i][1])
	}
	return out, nil
}

// Parse reads the body of a message/disposition-notification part.
// Final-Recipient and Disposition are required (RFC 8098 §3.1).
func Parse(b []byte) (*Report, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	r := &Report{}
	var haveDisp bool
	for _, f := range fs {
		name, val := f[0], f[1]
		switch strings.ToLower(name) {
		case "reporting-ua":
			r.ReportingUA = val
		case "mdn-gateway":
			r.MDNGateway = val
		case "original-recipient":
			r.OriginalRecipient = val
		case "final-recipient":
			r.FinalRecipient = val
		case "original-message-id":
			r.OriginalMessageID = val
		case "disposition":
			d, err := ParseDisposition(val)
			if err != nil {
				return nil, err
			}
			r.Disposition, haveDisp = d, true
		case "error":
			if val != "" && len(r.Errors) < MaxErrors {
				r.Errors = append(r.Errors, val)
			}
		default:
			if val == "" {
				continue
			}
			if r.Extensions == nil {
				r.Extensions = map[string]string{}
			}
			if old, dup := r.Extensions[name]; dup {
				val = old + ", " + val
			}
			r.Extensions[name] = val
		}
	}
	if r.FinalRecipient == "" || !haveDisp {
		return nil, fmt.Errorf("%w: Final-Recipient and Disposition are required", ErrSyntax)
	}
	return r, nil
}

// clean makes a value safe for one header line.
func clean(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Format writes r as the body of a message/disposition-notification
// part (CRLF line ends). Values are written on one line each, with
// line breaks and runs of white space folded to single spaces.
func (r *Report) Format() []byte {
	var b bytes.Buffer
	put := func(name, v string) {
		if v = clean(v); v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	put("Reporting-UA", r.ReportingUA)
	put("MDN-Gateway", r.MDNGateway)
	put("Original-Recipient", r.OriginalRecipient)
	put("Final-Recipient", r.FinalRecipient)
	put("Original-Message-ID", r.OriginalMessageID)
	put("Disposition", r.Disposition.String())
	for _, e := range r.Errors {
		put("Error", e)
	}
	names := make([]string, 0, len(r.Extensions))
	for n := range r.Extensions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if ValidFieldName(n) {
			put(n, r.Extensions[n])
		}
	}
	return b.Bytes()
}

// ValidFieldName reports whether n is a header field name (RFC 5322
// §3.6.8) that is not one of the fields Report has.
func ValidFieldName(n string) bool {
	if !fieldName(n) {
		return false
	}
	switch strings.ToLower(n) {
	case "reporting-ua", "mdn-gateway", "original-recipient", "final-recipient", "original-message-id", "disposition", "error":
		return false
	}
	return true
}

// fieldName reports whether n is printable US-ASCII without a colon, at
// most 76 bytes (RFC 5322 §2.2 and §2.1.1 for one line).
func fieldName(n string) bool {
	if n == "" || len(n) > 76 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}
