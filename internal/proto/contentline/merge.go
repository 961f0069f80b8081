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
	lines := func(ps Props, g string) []string {
		var out []string
		for _, p := range ps {
			if groupOf(p.Name) == g {
				out = append(out, PropString(p))
			}
		}
		slices.Sort(out)
		return out
	}
	var out Props
	done := map[string]bool{}
	for _, p := range upd {
		g := groupOf(p.Name)
		if done[g] {
			continue
		}
		done[g] = true
		if slices.Equal(lines(canon, g), lines(upd, g)) && len(lines(orig, g)) > 0 {
			for _, op := range orig {
				if groupOf(op.Name) == g {
					out = append(out, op)
				}
			}
			continue
		}
		O, C := propsOf(orig, g, groupOf), propsOf(canon, g, groupOf)
		U := propsOf(upd, g, groupOf)
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

func propsOf(ps Props, g string, groupOf func(string) string) []*Property {
	var out []*Property
	for _, p := range ps {
		if groupOf(p.Name) == g {
			out = append(out, p)
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
