package contentline

import "strings"

// Props is the ordered property list of an iCalendar component or a vCard.
type Props []*Property

// Prop returns the first property with the given name, or nil.
func (ps Props) Prop(name string) *Property {
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// All returns the properties with the given name, in order.
func (ps Props) All(name string) []*Property {
	var out []*Property
	for _, p := range ps {
		if strings.EqualFold(p.Name, name) {
			out = append(out, p)
		}
	}
	return out
}

// Text returns the unescaped text of the first named property, or "".
func (ps Props) Text(name string) string {
	if p := ps.Prop(name); p != nil {
		return p.Text()
	}
	return ""
}

// Set replaces every property named p.Name by p.
func (ps *Props) Set(p *Property) {
	p.Name = strings.ToUpper(p.Name)
	ps.Del(p.Name)
	*ps = append(*ps, p)
}

// Del removes every property with the given name.
func (ps *Props) Del(name string) {
	out := (*ps)[:0]
	for _, p := range *ps {
		if !strings.EqualFold(p.Name, name) {
			out = append(out, p)
		}
	}
	clear((*ps)[len(out):])
	*ps = out
}
