package contentline

import (
	"slices"
	"strconv"
	"strings"
)

// Structured splits a structured value at unescaped ";" into fields and
// each field at unescaped "," into values, unescaping them (RFC 6350
// §3.4, RFC 5545 §3.1.1). An empty field gives no values.
func (p *Property) Structured() [][]string {
	var out [][]string
	for _, field := range splitUnescaped(p.Value, ';') {
		var vals []string
		if field != "" {
			for _, v := range splitUnescaped(field, ',') {
				vals = append(vals, unescapeText(v))
			}
		}
		out = append(out, vals)
	}
	return out
}

// FormatStructured is the inverse of Structured.
func FormatStructured(fields [][]string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(';')
		}
		for j, v := range f {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(escapeText(v))
		}
	}
	return b.String()
}

func splitUnescaped(v string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case sep:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// Types returns the TYPE values of p in lower case, split at commas
// (vCard 3.0 and 4.0 both allow TYPE=a,b and TYPE="a,b"), without "pref".
func (p *Property) Types() []string {
	var out []string
	for _, v := range p.ParamValues("TYPE") {
		for _, t := range strings.Split(v, ",") {
			t = strings.ToLower(strings.TrimSpace(t))
			if t != "" && t != "pref" && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// Pref returns the preference of p: PREF (1 most preferred to 100, RFC
// 6350 §5.3), 1 for the vCard 3.0 TYPE=pref, 0 for none.
func (p *Property) Pref() int {
	if v := p.Param("PREF"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 100 {
			return n
		}
	}
	for _, v := range p.ParamValues("TYPE") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "pref") {
				return 1
			}
		}
	}
	return 0
}
