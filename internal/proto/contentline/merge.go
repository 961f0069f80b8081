package contentline

import (
	"fmt"
	"slices"
	"strings"
)

// The merge of an edited object with its original, for converters that
// map only part of a format (JSCalendar, JSContact): orig is the stored
// object, canon what the converter makes of it (orig converted there and
// back), upd the converted edit. Where canon and upd agree the edit did
// not touch a property, and orig's own line, with everything the
// converter does not read, is kept.

// MergeProps keeps orig's lines of each property group whose canonical
// form (canon) equals the updated one.
func MergeProps(orig, canon, upd Props, groupOf func(name string) string) Props {
	// Each side grouped once: groupOf runs once per line, not once per
	// line and group (an object of many groups stays linear).
	byGroup := func(ps Props) map[string][]*Property {
		m := map[string][]*Property{}
		for _, p := range ps {
			g := groupOf(p.Name)
			m[g] = append(m[g], p)
		}
		return m
	}
	lines := func(ps []*Property) []string {
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, PropString(p))
		}
		slices.Sort(out)
		return out
	}
	origBy, canonBy := byGroup(orig), byGroup(canon)
	var out Props
	done := map[string]bool{}
	var updBy map[string][]*Property
	for _, p := range upd {
		g := groupOf(p.Name)
		if done[g] {
			continue
		}
		done[g] = true
		if updBy == nil {
			updBy = byGroup(upd)
		}
		O, C, U := origBy[g], canonBy[g], updBy[g]
		if len(O) > 0 && slices.Equal(lines(C), lines(U)) {
			out = append(out, O...)
			continue
		}
		single := len(O) == 1 && len(C) == 1 && len(U) == 1 && O[0].Name == U[0].Name && C[0].Name == U[0].Name
		for _, u := range U {
			var o, c *Property
			if single {
				o, c = O[0], C[0]
			} else {
				o, c = sameValued(O, u), sameValued(C, u)
			}
			out = append(out, mergeLine(o, c, u))
		}
	}
	return out
}

func sameValued(ps []*Property, u *Property) *Property {
	for _, p := range ps {
		if strings.EqualFold(p.Name, u.Name) && strings.EqualFold(foldMailto(p.Value), foldMailto(u.Value)) {
			return p
		}
	}
	return nil
}

// mergeLine is u with the parameters of o that c (o's canonical form)
// does not know: the ones the conversion does not read.
func mergeLine(o, c, u *Property) *Property {
	if o == nil || c == nil {
		return u
	}
	if PropString(c) == PropString(u) {
		return o
	}
	m := &Property{Group: o.Group, Name: u.Name, Value: u.Value}
	for _, pa := range o.Params {
		if c.Param(pa.Name) == "" && len(c.ParamValues(pa.Name)) == 0 && len(u.ParamValues(pa.Name)) == 0 {
			m.Params = append(m.Params, pa)
		}
	}
	m.Params = append(m.Params, u.Params...)
	return m
}

func PropString(p *Property) string {
	var b strings.Builder
	b.WriteString(p.Group + "." + strings.ToUpper(p.Name))
	params := slices.Clone(p.Params)
	slices.SortFunc(params, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	for _, pa := range params {
		fmt.Fprintf(&b, ";%s=%q", strings.ToUpper(pa.Name), pa.Values)
	}
	b.WriteString(":" + p.Value)
	return b.String()
}

func foldMailto(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return "mailto:" + v[7:]
	}
	return v
}
