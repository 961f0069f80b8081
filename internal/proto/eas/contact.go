package eas

import (
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/contentline"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

// Contacts between vCard (RFC 6350, and 3.0's RFC 2426) and the EAS
// contact class ([MS-ASCNTC] §2.2.2): the fields both can express. What
// the device sends replaces those fields of the stored card; everything
// else of the card (photos, custom properties, groups) is kept.

// telSlots are the EAS phone fields and the vCard TEL types that fill
// them, in order of preference.
var telSlots = []struct {
	name  string
	types []string
}{
	{"MobilePhoneNumber", []string{"cell"}},
	{"BusinessFaxNumber", []string{"work", "fax"}},
	{"HomeFaxNumber", []string{"fax"}},
	{"PagerNumber", []string{"pager"}},
	{"CarPhoneNumber", []string{"car"}},
	{"BusinessPhoneNumber", []string{"work"}},
	{"Business2PhoneNumber", []string{"work"}},
	{"HomePhoneNumber", []string{"home"}},
	{"Home2PhoneNumber", []string{"home"}},
	{"HomePhoneNumber", nil}, // an untyped number
	{"Home2PhoneNumber", nil},
}

// adrSlots map ADR types to EAS address field prefixes.
var adrSlots = []struct {
	prefix, typ string
}{{"Business", "work"}, {"Home", "home"}, {"Other", ""}}

func hasTypes(have []string, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ContactData renders a vCard as contact-class ApplicationData (without
// the Body: the caller adds it, with the note as text).
func ContactData(c *vcard.Card) (fields []*wbxml.Node, note string) {
	add := func(page byte, name, v string) {
		v = strings.TrimSpace(strings.ReplaceAll(v, "\x00", ""))
		if v != "" {
			fields = append(fields, wbxml.Str(page, name, v))
		}
	}
	if n, ok := c.N(); ok {
		add(Contacts, "LastName", strings.Join(n.Family, " "))
		add(Contacts, "FirstName", strings.Join(n.Given, " "))
		add(Contacts, "MiddleName", strings.Join(n.Additional, " "))
		add(Contacts, "Title", strings.Join(n.Prefix, " "))
		add(Contacts, "Suffix", strings.Join(n.Suffix, " "))
	}
	add(Contacts, "FileAs", c.FN())
	if p := c.Prop("ORG"); p != nil {
		f := p.Structured()
		if len(f) > 0 {
			add(Contacts, "CompanyName", strings.Join(f[0], " "))
		}
		if len(f) > 1 {
			add(Contacts, "Department", strings.Join(f[1], " "))
		}
	}
	add(Contacts, "JobTitle", c.Text("TITLE"))
	for i, e := range c.Emails() {
		if i >= 3 {
			break
		}
		add(Contacts, []string{"Email1Address", "Email2Address", "Email3Address"}[i], e.Address)
	}
	used := map[string]bool{}
	taken := map[int]bool{}
	tels := c.Tels()
	for _, slot := range telSlots {
		if used[slot.name] {
			continue
		}
		for i, t := range tels {
			if taken[i] {
				continue
			}
			if slot.types == nil || hasTypes(t.Types, slot.types) {
				if slot.name == "HomeFaxNumber" && slices.Contains(t.Types, "work") {
					continue
				}
				if slot.types != nil && slot.types[0] == "home" && slices.Contains(t.Types, "fax") {
					continue
				}
				if slot.types == nil && (slices.Contains(t.Types, "fax") || slices.Contains(t.Types, "work") || slices.Contains(t.Types, "cell")) {
					continue
				}
				add(Contacts, slot.name, strings.TrimPrefix(t.Number, "tel:"))
				used[slot.name], taken[i] = true, true
				break
			}
		}
	}
	done := map[string]bool{}
	for _, p := range c.All("ADR") {
		types := p.Types()
		prefix := "Other"
		for _, s := range adrSlots[:2] {
			if slices.Contains(types, s.typ) {
				prefix = s.prefix
			}
		}
		if done[prefix] {
			continue
		}
		done[prefix] = true
		f := p.Structured()
		for len(f) < 7 {
			f = append(f, nil)
		}
		add(Contacts, prefix+"Street", strings.Join(f[2], "\n"))
		add(Contacts, prefix+"City", strings.Join(f[3], " "))
		add(Contacts, prefix+"State", strings.Join(f[4], " "))
		add(Contacts, prefix+"PostalCode", strings.Join(f[5], " "))
		add(Contacts, prefix+"Country", strings.Join(f[6], " "))
	}
	for _, d := range []struct{ prop, name string }{{"BDAY", "Birthday"}, {"ANNIVERSARY", "Anniversary"}} {
		if t, ok := parseVDate(c.Text(d.prop)); ok {
			add(Contacts, d.name, t.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	add(Contacts, "WebPage", c.Text("URL"))
	if cats := c.Prop("CATEGORIES"); cats != nil {
		var vs []string
		for _, v := range cats.TextList() {
			if v = strings.TrimSpace(v); v != "" && len(vs) < 50 {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			cn := wbxml.El(Contacts, "Categories")
			for _, v := range vs {
				cn.Add(wbxml.Str(Contacts, "Category", v))
			}
			fields = append(fields, cn)
		}
	}
	add(Contacts2, "NickName", c.Text("NICKNAME"))
	return fields, c.Text("NOTE")
}

// parseVDate reads a vCard date: 19800517, 1980-05-17, with or without
// a time.
func parseVDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 10 && s[4] == '-' {
		s = strings.ReplaceAll(s[:10], "-", "")
	} else if len(s) > 8 {
		s = s[:8]
	}
	t, err := time.Parse("20060102", s)
	return t, err == nil
}

// contactProps are the vCard properties ApplyContact owns: it rewrites
// them from what the device sent and leaves every other one alone.
var contactProps = []string{"N", "FN", "ORG", "TITLE", "EMAIL", "TEL", "ADR", "BDAY", "ANNIVERSARY", "URL", "CATEGORIES", "NICKNAME", "NOTE"}

// ApplyContact writes the fields of contact-class ApplicationData (and
// the note, if hasNote) into card c, creating the card's FN from the
// name parts when the device sent no FileAs.
func ApplyContact(c *vcard.Card, ad *wbxml.Node, note string, hasNote bool) {
	get := func(name string) string { return strings.TrimSpace(ad.ChildText(name)) }
	for _, p := range contactProps {
		if p == "NOTE" && !hasNote {
			continue
		}
		c.Del(p)
	}
	set := func(name, typ, value string) {
		if value == "" {
			return
		}
		p := &contentline.Property{Name: name}
		p.SetText(value)
		if typ != "" {
			p.SetParam("TYPE", strings.Split(typ, ",")...)
		}
		c.Props = append(c.Props, p)
	}
	n := vcard.Name{}
	for _, f := range []struct {
		dst  *[]string
		name string
	}{{&n.Family, "LastName"}, {&n.Given, "FirstName"}, {&n.Additional, "MiddleName"}, {&n.Prefix, "Title"}, {&n.Suffix, "Suffix"}} {
		if v := get(f.name); v != "" {
			*f.dst = []string{v}
		}
	}
	c.Props = append(c.Props, &contentline.Property{Name: "N", Value: vcard.FormatStructured([][]string{n.Family, n.Given, n.Additional, n.Prefix, n.Suffix})})
	// FN is a display name. FileAs is one too (Roost sends FN there),
	// unless the device made it a sort key ("Last, First"): then the name
	// parts make FN.
	fn := get("FileAs")
	if last := get("LastName"); fn != "" && last != "" && strings.HasPrefix(fn, last+",") {
		fn = ""
	}
	if fn == "" {
		fn = strings.TrimSpace(strings.Join(slices.Concat(n.Prefix, n.Given, n.Additional, n.Family, n.Suffix), " "))
	}
	if fn == "" {
		fn = get("CompanyName")
	}
	if fn == "" {
		fn = get("Email1Address")
	}
	set("FN", "", fn)
	if co, dep := get("CompanyName"), get("Department"); co != "" || dep != "" {
		c.Props = append(c.Props, &contentline.Property{Name: "ORG", Value: vcard.FormatStructured([][]string{{co}, {dep}})})
	}
	set("TITLE", "", get("JobTitle"))
	for _, e := range []string{"Email1Address", "Email2Address", "Email3Address"} {
		v := get(e)
		if i := strings.LastIndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") {
			v = v[i+1 : len(v)-1] // "Name" <addr>
		}
		set("EMAIL", "internet", v)
	}
	for _, t := range []struct{ name, typ string }{{"MobilePhoneNumber", "cell"}, {"BusinessPhoneNumber", "work,voice"},
		{"Business2PhoneNumber", "work,voice"}, {"HomePhoneNumber", "home,voice"}, {"Home2PhoneNumber", "home,voice"},
		{"BusinessFaxNumber", "work,fax"}, {"HomeFaxNumber", "home,fax"}, {"PagerNumber", "pager"}, {"CarPhoneNumber", "car"}} {
		set("TEL", t.typ, get(t.name))
	}
	for _, s := range adrSlots {
		street, city, state, code, country := get(s.prefix+"Street"), get(s.prefix+"City"), get(s.prefix+"State"), get(s.prefix+"PostalCode"), get(s.prefix+"Country")
		if street+city+state+code+country == "" {
			continue
		}
		p := &contentline.Property{Name: "ADR", Value: vcard.FormatStructured([][]string{nil, nil, {street}, {city}, {state}, {code}, {country}})}
		if s.typ != "" {
			p.SetParam("TYPE", s.typ)
		}
		c.Props = append(c.Props, p)
	}
	for _, d := range []struct{ name, prop string }{{"Birthday", "BDAY"}, {"Anniversary", "ANNIVERSARY"}} {
		if v := get(d.name); v != "" {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				// A date: the device sends local midnight in UTC, which
				// may be the evening before; round to the nearest day.
				set(d.prop, "", t.Add(12*time.Hour).Format("2006-01-02"))
			}
		}
	}
	set("URL", "", get("WebPage"))
	if cats := ad.Child("Categories"); cats != nil {
		var vs []string
		for _, v := range cats.All("Category") {
			if s := strings.TrimSpace(v.Content()); s != "" {
				vs = append(vs, s)
			}
		}
		if len(vs) > 0 {
			p := &contentline.Property{Name: "CATEGORIES", Value: vcard.FormatStructured([][]string{vs})}
			c.Props = append(c.Props, p)
		}
	}
	set("NICKNAME", "", get("NickName"))
	if hasNote {
		set("NOTE", "", note)
	}
}
