// Package jscontact converts between vCard 3.0/4.0 (RFC 2426, RFC 6350)
// and JSContact Card objects (RFC 9553), as RFC 9555 maps them.
//
// Cards are the JSON forms (map[string]any as encoding/json decodes
// them), so that JMAP patches apply to them directly. A vCard property
// with no JSContact counterpart goes into "vCardProps" (RFC 9555 §3.3.1:
// [name, parameters, type, value] entries; here the type is "unknown"
// and the value the one written, escapes included) and comes back as
// written; a Card property with no vCard counterpart is written as
// JSPROP;JSPTR=<name> with its JSON value (RFC 9555 §3.2.1) and read
// back. Merge keeps the original lines of what an edit did not
// change, so parameters not mapped (X- parameters, groups such as Apple's
// item1.) survive an edit made through JSContact.
//
// The package is pure: no I/O, no clock.
package jscontact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/contentline"
	"github.com/roost-mail/roost/internal/proto/vcard"
)

// Card is a JSContact Card in its JSON form.
type Card = map[string]any

// handled are the Card properties ToVCard maps; others are written as
// JSPROP.
var handled = map[string]bool{}

func init() {
	for _, k := range []string{"@type", "version", "uid", "prodId", "kind", "updated", "created", "name", "nicknames",
		"organizations", "titles", "emails", "phones", "addresses", "onlineServices", "links", "cryptoKeys", "calendars",
		"schedulingAddresses", "directories", "notes", "anniversaries", "keywords", "media", "members", "relatedTo",
		"preferredLanguages", "personalInfo", "vCardProps"} {
		handled[k] = true
	}
}

var contextsOf = map[string]string{"work": "work", "home": "private"}

// FromVCard converts a vCard to a Card.
func FromVCard(c *vcard.Card) Card {
	o := Card{"@type": "Card", "version": "1.0", "uid": c.UID()}
	var unmapped []any
	keepProp := func(p *contentline.Property) { unmapped = append(unmapped, entry(p)) }
	n := map[string]int{}
	id := func(prefix string) string {
		n[prefix]++
		return prefix + strconv.Itoa(n[prefix])
	}
	coll := func(key string) map[string]any {
		m, _ := o[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
			o[key] = m
		}
		return m
	}
	// contexts and pref of a property (RFC 9555 §2.3.x TYPE, PREF).
	ctxPref := func(p *contentline.Property, obj map[string]any, known map[string]string) map[string]any {
		ctx := map[string]any{}
		var rest []string
		for _, t := range p.Types() {
			if c, ok := contextsOf[t]; ok {
				ctx[c] = true
			} else if known != nil && known[t] != "" {
				rest = append(rest, t)
			} else if t != "internet" && t != "x400" {
				rest = append(rest, t)
			}
		}
		if len(ctx) > 0 {
			obj["contexts"] = ctx
		}
		if pr := p.Pref(); pr > 0 {
			obj["pref"] = pr
		}
		if l := p.Param("LABEL"); l != "" && p.Name != "ADR" {
			obj["label"] = l
		}
		feats := map[string]any{}
		for _, t := range rest {
			if known != nil {
				if f, ok := known[t]; ok {
					feats[f] = true
				}
			}
		}
		return feats
	}
	for _, p := range c.Props {
		switch p.Name {
		case "VERSION":
		case "UID":
			if len(p.Params) > 0 {
				keepProp(p)
			}
		case "KIND", "X-ADDRESSBOOKSERVER-KIND":
			switch k := strings.ToLower(strings.TrimSpace(p.Text())); k {
			case "individual", "group", "org", "location", "device", "application":
				o["kind"] = k
			default:
				keepProp(p)
			}
		case "FN":
			name := coll("name")
			name["@type"] = "Name"
			if _, dup := name["full"]; dup {
				keepProp(p)
			} else {
				name["full"] = p.Text()
			}
		case "N":
			name := coll("name")
			name["@type"] = "Name"
			if _, dup := name["components"]; dup {
				keepProp(p)
				continue
			}
			f := p.Structured()
			kinds := []string{"surname", "given", "given2", "title", "credential"}
			var comps []any
			for i, vals := range f {
				if i >= len(kinds) {
					break
				}
				for _, v := range vals {
					if v != "" {
						comps = append(comps, map[string]any{"@type": "NameComponent", "kind": kinds[i], "value": v})
					}
				}
			}
			if comps != nil {
				name["components"] = comps
			}
			if s := p.Param("SORT-AS"); s != "" {
				name["sortAs"] = map[string]any{"surname": s}
			}
		case "NICKNAME":
			for _, v := range p.TextList() {
				if v = strings.TrimSpace(v); v != "" {
					nk := map[string]any{"@type": "Nickname", "name": v}
					ctxPref(p, nk, nil)
					coll("nicknames")[id("k")] = nk
				}
			}
		case "ORG":
			f := p.Structured()
			org := map[string]any{"@type": "Organization"}
			if len(f) > 0 && len(f[0]) > 0 && f[0][0] != "" {
				org["name"] = f[0][0]
			}
			var units []any
			for _, vals := range f[min(1, len(f)):] {
				for _, v := range vals {
					if v != "" {
						units = append(units, map[string]any{"@type": "OrgUnit", "name": v})
					}
				}
			}
			if units != nil {
				org["units"] = units
			}
			if s := p.Param("SORT-AS"); s != "" {
				org["sortAs"] = s
			}
			ctxPref(p, org, nil)
			coll("organizations")[id("o")] = org
		case "TITLE", "ROLE":
			t := map[string]any{"@type": "Title", "name": p.Text(), "kind": strings.ToLower(p.Name)}
			coll("titles")[id("t")] = t
		case "EMAIL":
			e := map[string]any{"@type": "EmailAddress", "address": strings.TrimSpace(p.Text())}
			ctxPref(p, e, nil)
			coll("emails")[id("e")] = e
		case "TEL":
			t := map[string]any{"@type": "Phone", "number": strings.TrimSpace(p.Text())}
			feats := ctxPref(p, t, phoneFeatures)
			if len(feats) > 0 {
				t["features"] = feats
			}
			coll("phones")[id("p")] = t
		case "ADR":
			a := map[string]any{"@type": "Address"}
			f := p.Structured()
			kinds := []string{"postOfficeBox", "apartment", "name", "locality", "region", "postcode", "country"}
			var comps []any
			for i, vals := range f {
				if i >= len(kinds) {
					break
				}
				for _, v := range vals {
					if v != "" {
						comps = append(comps, map[string]any{"@type": "AddressComponent", "kind": kinds[i], "value": v})
					}
				}
			}
			if comps != nil {
				a["components"] = comps
			}
			if l := p.Param("LABEL"); l != "" {
				a["full"] = l
			}
			if g := p.Param("GEO"); g != "" {
				a["coordinates"] = g
			}
			if tz := p.Param("TZ"); tz != "" {
				a["timeZone"] = tz
			}
			if cc := p.Param("CC"); cc != "" {
				a["countryCode"] = cc
			}
			ctxPref(p, a, nil)
			coll("addresses")[id("a")] = a
		case "IMPP":
			s := map[string]any{"@type": "OnlineService", "uri": p.Value}
			if sv := p.Param("X-SERVICE-TYPE"); sv != "" {
				s["service"] = sv
			}
			ctxPref(p, s, nil)
			coll("onlineServices")[id("s")] = s
		case "URL", "KEY", "CALURI", "FBURL", "CALADRURI", "SOURCE":
			if strings.EqualFold(p.Param("ENCODING"), "b") || strings.EqualFold(p.Param("ENCODING"), "BASE64") {
				keepProp(p)
				continue
			}
			key, typ, prefix := map[string][3]string{
				"URL": {"links", "Link", "l"}, "KEY": {"cryptoKeys", "CryptoKey", "k"}, "CALURI": {"calendars", "Calendar", "c"},
				"FBURL": {"calendars", "Calendar", "f"}, "CALADRURI": {"schedulingAddresses", "SchedulingAddress", "s"},
				"SOURCE": {"directories", "Directory", "d"},
			}[p.Name][0], map[string]string{"URL": "Link", "KEY": "CryptoKey", "CALURI": "Calendar", "FBURL": "Calendar",
				"CALADRURI": "SchedulingAddress", "SOURCE": "Directory"}[p.Name], map[string]string{"URL": "l", "KEY": "key",
				"CALURI": "c", "FBURL": "f", "CALADRURI": "sa", "SOURCE": "d"}[p.Name]
			u := map[string]any{"@type": typ, "uri": p.Value}
			switch p.Name {
			case "CALURI":
				u["kind"] = "calendar"
			case "FBURL":
				u["kind"] = "freeBusy"
			case "SOURCE":
				u["kind"] = "entry"
			}
			if mt := p.Param("MEDIATYPE"); mt != "" {
				u["mediaType"] = mt
			}
			ctxPref(p, u, nil)
			coll(key)[id(prefix)] = u
		case "NOTE":
			coll("notes")[id("n")] = map[string]any{"@type": "Note", "note": p.Text()}
		case "BDAY", "ANNIVERSARY":
			d, ok := dateObject(p.Value)
			if !ok || len(p.Params) > 0 && !strings.EqualFold(p.Param("VALUE"), "date") {
				keepProp(p)
				continue
			}
			kind := "birth"
			if p.Name == "ANNIVERSARY" {
				kind = "wedding"
			}
			coll("anniversaries")[id("y")] = map[string]any{"@type": "Anniversary", "kind": kind, "date": d}
		case "CATEGORIES":
			for _, v := range p.TextList() {
				if v = strings.TrimSpace(v); v != "" {
					coll("keywords")[v] = true
				}
			}
		case "PHOTO", "LOGO", "SOUND":
			uri := p.Value
			if enc := strings.ToLower(p.Param("ENCODING")); enc == "b" || enc == "base64" {
				mt := "application/octet-stream"
				if t := p.Types(); len(t) > 0 {
					mt = mediaTypeOf(p.Name, t[0])
				}
				uri = "data:" + mt + ";base64," + strings.Join(strings.Fields(p.Value), "")
			}
			m := map[string]any{"@type": "Media", "kind": strings.ToLower(p.Name), "uri": uri}
			if mt := p.Param("MEDIATYPE"); mt != "" {
				m["mediaType"] = mt
			}
			if pr := p.Pref(); pr > 0 {
				m["pref"] = pr
			}
			coll("media")[id("m")] = m
		case "MEMBER", "X-ADDRESSBOOKSERVER-MEMBER":
			coll("members")[p.Value] = true
		case "RELATED":
			rel := map[string]any{}
			for _, t := range p.Types() {
				rel[t] = true
			}
			coll("relatedTo")[p.Value] = map[string]any{"@type": "Relation", "relation": rel}
		case "REV", "CREATED":
			t, err := vcard.ParseTimestamp(p.Value)
			if err != nil {
				keepProp(p)
				continue
			}
			key := "updated"
			if p.Name == "CREATED" {
				key = "created"
			}
			o[key] = t.UTC().Format("2006-01-02T15:04:05Z")
		case "PRODID":
			o["prodId"] = p.Text()
		case "LANG":
			l := map[string]any{"@type": "LanguagePref", "language": p.Value}
			ctxPref(p, l, nil)
			coll("preferredLanguages")[id("lang")] = l
		case "JSPROP":
			var v any
			k := p.Param("JSPTR")
			if k == "" || strings.ContainsAny(k, "/~") || handled[k] || json.Unmarshal([]byte(p.Text()), &v) != nil {
				keepProp(p)
				continue
			}
			o[k] = v
		case "EXPERTISE", "HOBBY", "INTEREST":
			pi := map[string]any{"@type": "PersonalInfo", "kind": strings.ToLower(p.Name), "value": p.Text()}
			if lv := strings.ToLower(p.Param("LEVEL")); lv == "high" || lv == "medium" || lv == "low" {
				pi["level"] = lv
			} else if lv == "expert" || lv == "beginner" || lv == "average" {
				pi["level"] = map[string]string{"expert": "high", "average": "medium", "beginner": "low"}[lv]
			}
			coll("personalInfo")[id("i")] = pi
		default:
			keepProp(p)
		}
	}
	if len(unmapped) > 0 {
		o["vCardProps"] = unmapped
	}
	return o
}

var phoneFeatures = map[string]string{"voice": "voice", "cell": "mobile", "fax": "fax", "pager": "pager", "text": "text",
	"video": "video", "textphone": "textphone", "main-number": "main-number"}

func mediaTypeOf(prop, t string) string {
	t = strings.ToLower(t)
	if strings.Contains(t, "/") {
		return t
	}
	switch prop {
	case "SOUND":
		return "audio/" + t
	}
	return "image/" + t
}

// dateObject reads a vCard date (RFC 6350 §4.3.1, "--MMDD" and "YYYY-MM-DD" included) as a PartialDate.
func dateObject(v string) (map[string]any, bool) {
	v = strings.TrimSpace(v)
	if t, err := vcard.ParseTimestamp(v); err == nil && strings.ContainsAny(v, "Tt") {
		return map[string]any{"@type": "Timestamp", "utc": t.UTC().Format("2006-01-02T15:04:05Z")}, true
	}
	s := strings.ReplaceAll(v, "-", "")
	d := map[string]any{"@type": "PartialDate"}
	switch {
	case strings.HasPrefix(v, "--") && len(s) == 4:
		m, e1 := strconv.Atoi(s[:2])
		day, e2 := strconv.Atoi(s[2:])
		if e1 != nil || e2 != nil || m < 1 || m > 12 || day < 1 || day > 31 {
			return nil, false
		}
		d["month"], d["day"] = m, day
	case len(s) == 8:
		y, e0 := strconv.Atoi(s[:4])
		m, e1 := strconv.Atoi(s[4:6])
		day, e2 := strconv.Atoi(s[6:])
		if e0 != nil || e1 != nil || e2 != nil || m < 1 || m > 12 || day < 1 || day > 31 {
			return nil, false
		}
		d["year"], d["month"], d["day"] = y, m, day
	case len(s) == 4 && !strings.HasPrefix(v, "-"):
		y, err := strconv.Atoi(s)
		if err != nil {
			return nil, false
		}
		d["year"] = y
	default:
		return nil, false
	}
	return d, true
}

func entry(p *contentline.Property) []any {
	params := map[string]any{}
	for _, pa := range p.Params {
		name := strings.ToLower(pa.Name)
		var vals []any
		if prev, ok := params[name]; ok {
			switch pv := prev.(type) {
			case string:
				vals = []any{pv}
			case []any:
				vals = pv
			}
		}
		for _, v := range pa.Values {
			vals = append(vals, v)
		}
		if len(vals) == 1 {
			params[name] = vals[0]
		} else {
			params[name] = vals
		}
	}
	if p.Group != "" {
		params["group"] = p.Group
	}
	return []any{strings.ToLower(p.Name), params, "unknown", p.Value}
}

// PropError is a Card that cannot be converted: Prop names the
// offending property (a JMAP invalidProperties error).
type PropError struct {
	Prop string
	Msg  string
}

func (e *PropError) Error() string { return "jscontact: " + e.Prop + ": " + e.Msg }

func perr(prop, format string, args ...any) *PropError {
	return &PropError{Prop: prop, Msg: fmt.Sprintf(format, args...)}
}

// MaxEntries bounds each map or list of a Card ToVCard converts.
const MaxEntries = 1000

// ToVCard converts a Card to a vCard of the given version ("3.0" or
// "4.0").
func ToVCard(o Card, version string) (*vcard.Card, error) {
	if path, ok := cleanStrings(o, "", 0); !ok {
		return nil, perr(path, "control characters, or nested too deep")
	}
	c, err := toVCard(o, version)
	if err != nil {
		return nil, err
	}
	b, err := vcard.Marshal(c)
	if err != nil {
		return nil, perr("", "%v", err)
	}
	// What is written must read back with the parser's limits.
	if _, err := vcard.Decode(b, vcard.Limits{}); err != nil {
		return nil, perr("", "too large: %v", err)
	}
	return c, nil
}

func toVCard(o Card, version string) (*vcard.Card, error) {
	if version != "3.0" {
		version = "4.0"
	}
	v3 := version == "3.0"
	if t, _ := o["@type"].(string); t != "Card" {
		return nil, perr("@type", "must be Card")
	}
	uid, ok := o["uid"].(string)
	if !ok || uid == "" || len(uid) > 1024 {
		return nil, perr("uid", "a non-empty string is required")
	}
	c := &vcard.Card{}
	add := func(name, value string, params ...contentline.Param) *contentline.Property {
		p := &contentline.Property{Name: name, Value: value, Params: params}
		c.Props = append(c.Props, p)
		return p
	}
	text := func(s string) string {
		p := &contentline.Property{}
		p.SetText(s)
		return p.Value
	}
	add("VERSION", version)
	add("UID", text(uid))
	if s, ok := o["prodId"].(string); ok {
		add("PRODID", text(s))
	}
	if k, ok := o["kind"].(string); ok && k != "" {
		switch k {
		case "individual", "group", "org", "location", "device", "application":
		default:
			return nil, perr("kind", "unknown value %q", k)
		}
		if v3 {
			if k == "group" {
				add("X-ADDRESSBOOKSERVER-KIND", k)
			}
		} else {
			add("KIND", k)
		}
	} else if o["kind"] != nil {
		return nil, perr("kind", "not a string")
	}
	for _, k := range []string{"updated", "created"} {
		if s, ok := o[k].(string); ok {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, perr(k, "not a UTCDateTime")
			}
			name := "REV"
			if k == "created" {
				if v3 {
					continue
				}
				name = "CREATED"
			}
			add(name, t.UTC().Format("20060102T150405Z"))
		} else if o[k] != nil {
			return nil, perr(k, "not a string")
		}
	}
	// params builds TYPE and PREF from contexts, features and pref.
	params := func(m map[string]any, features map[string]string, featKey string) []contentline.Param {
		var types []string
		if ctx, ok := m["contexts"].(map[string]any); ok {
			for _, k := range sortedKeys(ctx) {
				switch k {
				case "work":
					types = append(types, "work")
				case "private":
					types = append(types, "home")
				}
			}
		}
		if f, ok := m[featKey].(map[string]any); ok && features != nil {
			for _, k := range sortedKeys(f) {
				for vt, jf := range features {
					if jf == k {
						types = append(types, vt)
					}
				}
			}
		}
		var ps []contentline.Param
		pref, _ := m["pref"].(float64)
		if n, ok := m["pref"].(int); ok {
			pref = float64(n)
		}
		if pref >= 1 && pref <= 100 && pref == math.Trunc(pref) {
			if v3 {
				types = append(types, "pref")
			} else {
				ps = append(ps, contentline.Param{Name: "PREF", Values: []string{strconv.Itoa(int(pref))}})
			}
		}
		if len(types) > 0 {
			sort.Strings(types)
			ps = append([]contentline.Param{{Name: "TYPE", Values: []string{strings.Join(types, ",")}}}, ps...)
		}
		if l, ok := m["label"].(string); ok && l != "" {
			ps = append(ps, contentline.Param{Name: "LABEL", Values: []string{l}})
		}
		return ps
	}
	objects := func(key string) (map[string]any, []string, error) {
		v, ok := o[key]
		if !ok || v == nil {
			return nil, nil, nil
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) > MaxEntries {
			return nil, nil, perr(key, "not an object of at most %d entries", MaxEntries)
		}
		for k, e := range m {
			if _, ok := e.(map[string]any); !ok && key != "keywords" && key != "members" {
				return nil, nil, perr(key+"/"+k, "not an object")
			}
		}
		return m, sortedKeys(m), nil
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	// Name.
	fn := ""
	if v, ok := o["name"]; ok && v != nil {
		name, ok := v.(map[string]any)
		if !ok {
			return nil, perr("name", "not a Name")
		}
		fn = str(name, "full")
		comps, _ := name["components"].([]any)
		if len(comps) > MaxEntries {
			return nil, perr("name/components", "too many")
		}
		fields := make([][]string, 5)
		idx := map[string]int{"surname": 0, "surname2": 0, "given": 1, "given2": 2, "title": 3, "credential": 4, "generation": 4}
		var parts []string
		for i, e := range comps {
			cm, ok := e.(map[string]any)
			if !ok {
				return nil, perr(fmt.Sprintf("name/components/%d", i), "not a NameComponent")
			}
			k, val := str(cm, "kind"), str(cm, "value")
			j, known := idx[k]
			if !known {
				if k == "separator" {
					continue
				}
				return nil, perr(fmt.Sprintf("name/components/%d/kind", i), "unknown value %q", k)
			}
			fields[j] = append(fields[j], val)
			parts = append(parts, val)
		}
		if len(comps) > 0 {
			p := add("N", contentline.FormatStructured(fields))
			if sa, ok := name["sortAs"].(map[string]any); ok {
				if s := str(sa, "surname"); s != "" {
					p.SetParam("SORT-AS", s)
				}
			}
		}
		if fn == "" && len(parts) > 0 {
			// Given first, as people write names.
			fn = strings.TrimSpace(strings.Join(append(append([]string{}, fields[3]...), append(fields[1], append(fields[2], append(fields[0], fields[4]...)...)...)...), " "))
		}
	}
	if fn == "" {
		// FN is required (RFC 6350 §6.2.1); fall back to an email.
		if em, ok := o["emails"].(map[string]any); ok {
			for _, k := range sortedKeys(em) {
				if m, ok := em[k].(map[string]any); ok && str(m, "address") != "" {
					fn = str(m, "address")
					break
				}
			}
		}
	}
	add("FN", text(fn))
	if v3 && c.Prop("N") == nil {
		add("N", ";;;;") // required in vCard 3.0
	}
	m, keys, err := objects("nicknames")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		add("NICKNAME", text(str(m[k].(map[string]any), "name")))
	}
	m, keys, err = objects("organizations")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		org := m[k].(map[string]any)
		fields := [][]string{{str(org, "name")}}
		units, _ := org["units"].([]any)
		for _, u := range units {
			if um, ok := u.(map[string]any); ok {
				fields = append(fields, []string{str(um, "name")})
			}
		}
		p := add("ORG", contentline.FormatStructured(fields), params(org, nil, "")...)
		if s := str(org, "sortAs"); s != "" {
			p.SetParam("SORT-AS", s)
		}
	}
	m, keys, err = objects("titles")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		t := m[k].(map[string]any)
		name := "TITLE"
		if str(t, "kind") == "role" {
			name = "ROLE"
		}
		add(name, text(str(t, "name")))
	}
	m, keys, err = objects("emails")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		e := m[k].(map[string]any)
		addr := str(e, "address")
		if addr == "" {
			return nil, perr("emails/"+k+"/address", "required")
		}
		ps := params(e, nil, "")
		if v3 {
			ps = append([]contentline.Param{{Name: "TYPE", Values: []string{"INTERNET"}}}, ps...)
		}
		add("EMAIL", text(addr), ps...)
	}
	m, keys, err = objects("phones")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		ph := m[k].(map[string]any)
		num := str(ph, "number")
		if num == "" {
			return nil, perr("phones/"+k+"/number", "required")
		}
		add("TEL", text(num), params(ph, phoneFeatures, "features")...)
	}
	m, keys, err = objects("addresses")
	if err != nil {
		return nil, err
	}
	adrIdx := map[string]int{"postOfficeBox": 0, "apartment": 1, "room": 1, "floor": 1, "building": 1, "name": 2, "number": 2,
		"block": 2, "direction": 2, "landmark": 2, "subdistrict": 3, "district": 3, "locality": 3, "region": 4, "postcode": 5, "country": 6}
	for _, k := range keys {
		a := m[k].(map[string]any)
		fields := make([][]string, 7)
		comps, _ := a["components"].([]any)
		if len(comps) > MaxEntries {
			return nil, perr("addresses/"+k+"/components", "too many")
		}
		for i, e := range comps {
			cm, ok := e.(map[string]any)
			if !ok {
				return nil, perr(fmt.Sprintf("addresses/%s/components/%d", k, i), "not an AddressComponent")
			}
			kind, val := str(cm, "kind"), str(cm, "value")
			if kind == "separator" {
				continue
			}
			j, known := adrIdx[kind]
			if !known {
				return nil, perr(fmt.Sprintf("addresses/%s/components/%d/kind", k, i), "unknown value %q", kind)
			}
			if n := len(fields[j]); n > 0 && (j == 2) {
				fields[j][n-1] += " " + val // street name and number on one line
			} else {
				fields[j] = append(fields[j], val)
			}
		}
		ps := params(a, nil, "")
		if s := str(a, "full"); s != "" {
			ps = append(ps, contentline.Param{Name: "LABEL", Values: []string{s}})
		}
		if !v3 {
			for _, f := range []struct{ key, param string }{{"coordinates", "GEO"}, {"timeZone", "TZ"}, {"countryCode", "CC"}} {
				if s := str(a, f.key); s != "" {
					ps = append(ps, contentline.Param{Name: f.param, Values: []string{s}})
				}
			}
		}
		add("ADR", contentline.FormatStructured(fields), ps...)
	}
	m, keys, err = objects("onlineServices")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		s := m[k].(map[string]any)
		uri := str(s, "uri")
		if uri == "" {
			uri = str(s, "user")
		}
		if uri == "" {
			return nil, perr("onlineServices/"+k+"/uri", "required")
		}
		ps := params(s, nil, "")
		if sv := str(s, "service"); sv != "" {
			ps = append(ps, contentline.Param{Name: "X-SERVICE-TYPE", Values: []string{sv}})
		}
		add("IMPP", uri, ps...)
	}
	for _, f := range []struct{ key, name string }{{"links", "URL"}, {"cryptoKeys", "KEY"}, {"calendars", ""},
		{"schedulingAddresses", "CALADRURI"}, {"directories", "SOURCE"}} {
		m, keys, err = objects(f.key)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			u := m[k].(map[string]any)
			uri := str(u, "uri")
			if uri == "" {
				return nil, perr(f.key+"/"+k+"/uri", "required")
			}
			name := f.name
			if f.key == "calendars" {
				name = "CALURI"
				if str(u, "kind") == "freeBusy" {
					name = "FBURL"
				}
			}
			ps := params(u, nil, "")
			if mt := str(u, "mediaType"); mt != "" && !v3 {
				ps = append(ps, contentline.Param{Name: "MEDIATYPE", Values: []string{mt}})
			}
			add(name, uri, ps...)
		}
	}
	m, keys, err = objects("notes")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		add("NOTE", text(str(m[k].(map[string]any), "note")))
	}
	m, keys, err = objects("anniversaries")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		a := m[k].(map[string]any)
		name := "ANNIVERSARY"
		if str(a, "kind") == "birth" {
			name = "BDAY"
		}
		d, _ := a["date"].(map[string]any)
		v, ok := dateValue(d, v3)
		if !ok {
			return nil, perr("anniversaries/"+k+"/date", "not a PartialDate or Timestamp")
		}
		add(name, v)
	}
	if kw, ok := o["keywords"].(map[string]any); ok && len(kw) > 0 {
		if len(kw) > MaxEntries {
			return nil, perr("keywords", "too many")
		}
		var vals []string
		for _, k := range sortedKeys(kw) {
			if kw[k] != true {
				return nil, perr("keywords/"+k, "must be true")
			}
			vals = append(vals, text(k))
		}
		add("CATEGORIES", strings.Join(vals, ","))
	} else if o["keywords"] != nil && !ok {
		return nil, perr("keywords", "not an object")
	}
	m, keys, err = objects("media")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		md := m[k].(map[string]any)
		name := strings.ToUpper(str(md, "kind"))
		if name != "PHOTO" && name != "LOGO" && name != "SOUND" {
			return nil, perr("media/"+k+"/kind", "unknown value")
		}
		uri := str(md, "uri")
		if uri == "" {
			return nil, perr("media/"+k+"/uri", "required")
		}
		var ps []contentline.Param
		if v3 && strings.HasPrefix(uri, "data:") {
			if head, data, ok := strings.Cut(uri[5:], ","); ok && strings.HasSuffix(head, ";base64") {
				if _, err := base64.StdEncoding.DecodeString(data); err == nil {
					mt := strings.TrimSuffix(head, ";base64")
					_, sub, _ := strings.Cut(mt, "/")
					ps = append(ps, contentline.Param{Name: "ENCODING", Values: []string{"b"}})
					if sub != "" {
						ps = append(ps, contentline.Param{Name: "TYPE", Values: []string{strings.ToUpper(sub)}})
					}
					add(name, data, ps...)
					continue
				}
			}
		}
		if v3 {
			ps = append(ps, contentline.Param{Name: "VALUE", Values: []string{"uri"}})
		} else if mt := str(md, "mediaType"); mt != "" {
			ps = append(ps, contentline.Param{Name: "MEDIATYPE", Values: []string{mt}})
		}
		add(name, uri, ps...)
	}
	if mem, ok := o["members"].(map[string]any); ok {
		if len(mem) > MaxEntries {
			return nil, perr("members", "too many")
		}
		name := "MEMBER"
		if v3 {
			name = "X-ADDRESSBOOKSERVER-MEMBER"
		}
		for _, k := range sortedKeys(mem) {
			if mem[k] == true {
				add(name, k)
			}
		}
	}
	m, keys, err = objects("relatedTo")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		rel, _ := m[k].(map[string]any)["relation"].(map[string]any)
		var ps []contentline.Param
		if len(rel) > 0 {
			ps = append(ps, contentline.Param{Name: "TYPE", Values: []string{strings.Join(sortedKeys(rel), ",")}})
		}
		name := "RELATED"
		add(name, k, ps...)
	}
	m, keys, err = objects("preferredLanguages")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		l := m[k].(map[string]any)
		name := "LANG"
		add(name, str(l, "language"), params(l, nil, "")...)
	}
	m, keys, err = objects("personalInfo")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		pi := m[k].(map[string]any)
		name := strings.ToUpper(str(pi, "kind"))
		if name != "EXPERTISE" && name != "HOBBY" && name != "INTEREST" {
			return nil, perr("personalInfo/"+k+"/kind", "unknown value")
		}
		p := add(name, text(str(pi, "value")))
		if lv := str(pi, "level"); lv != "" {
			p.SetParam("LEVEL", lv)
		}
	}
	// Properties with no vCard form travel as JSPROP (RFC 9555 §3.2.1).
	for _, k := range sortedKeys(o) {
		if handled[k] || o[k] == nil {
			continue
		}
		if k == "" || len(k) > 256 || strings.ContainsAny(k, "\"/~") {
			return nil, perr(k, "not a property name")
		}
		b, err := json.Marshal(o[k])
		if err != nil {
			return nil, perr(k, "%v", err)
		}
		p := add("JSPROP", text(string(b)))
		p.SetParam("JSPTR", k)
	}
	if v, ok := o["vCardProps"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok || len(l) > MaxEntries {
			return nil, perr("vCardProps", "not a list of at most %d entries", MaxEntries)
		}
		for i, e := range l {
			p, err := entryProp(e)
			if err != nil {
				return nil, perr(fmt.Sprintf("vCardProps/%d", i), "%v", err)
			}
			if p.Name == "VERSION" || p.Name == "BEGIN" || p.Name == "END" {
				return nil, perr(fmt.Sprintf("vCardProps/%d", i), "reserved property")
			}
			c.Props = append(c.Props, p)
		}
	}
	return c, nil
}

// dateValue writes a PartialDate or Timestamp as a vCard date.
func dateValue(d map[string]any, v3 bool) (string, bool) {
	if d == nil {
		return "", false
	}
	if d["@type"] == "Timestamp" {
		s, _ := d["utc"].(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", false
		}
		return t.UTC().Format("20060102T150405Z"), true
	}
	num := func(k string, lo, hi int) (int, bool, bool) {
		v, ok := d[k]
		if !ok || v == nil {
			return 0, false, true
		}
		f, ok := v.(float64)
		if n, isInt := v.(int); isInt {
			f, ok = float64(n), true
		}
		if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			return 0, false, false
		}
		return int(f), true, true
	}
	y, hasY, ok1 := num("year", 1, 9999)
	m, hasM, ok2 := num("month", 1, 12)
	day, hasD, ok3 := num("day", 1, 31)
	if !ok1 || !ok2 || !ok3 {
		return "", false
	}
	switch {
	case hasY && hasM && hasD:
		if v3 {
			return fmt.Sprintf("%04d-%02d-%02d", y, m, day), true
		}
		return fmt.Sprintf("%04d%02d%02d", y, m, day), true
	case !hasY && hasM && hasD:
		return fmt.Sprintf("--%02d%02d", m, day), true
	case hasY && !hasM && !hasD:
		return fmt.Sprintf("%04d", y), true
	}
	return "", false
}

func entryProp(e any) (*contentline.Property, error) {
	l, ok := e.([]any)
	if !ok || len(l) != 4 {
		return nil, fmt.Errorf("not a [name, parameters, type, value] entry")
	}
	name, _ := l[0].(string)
	params, ok2 := l[1].(map[string]any)
	val, ok3 := l[3].(string)
	if !contentline.ValidName(name) || !ok2 || !ok3 || strings.ContainsAny(val, "\r\n\x00") || len(params) > 100 {
		return nil, fmt.Errorf("bad entry")
	}
	p := &contentline.Property{Name: strings.ToUpper(name), Value: val}
	for _, k := range sortedKeys(params) {
		if k == "group" {
			g, ok := params[k].(string)
			if !ok || !contentline.ValidName(g) {
				return nil, fmt.Errorf("bad group")
			}
			p.Group = g
			continue
		}
		if !contentline.ValidName(k) {
			return nil, fmt.Errorf("bad parameter name")
		}
		var vals []string
		switch pv := params[k].(type) {
		case string:
			vals = []string{pv}
		case []any:
			for _, x := range pv {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("bad parameter value")
				}
				vals = append(vals, s)
			}
		default:
			return nil, fmt.Errorf("bad parameter value")
		}
		p.Params = append(p.Params, contentline.Param{Name: strings.ToUpper(k), Values: vals})
	}
	return p, nil
}

func cleanStrings(v any, path string, depth int) (string, bool) {
	if depth > 32 {
		return path, false
	}
	switch x := v.(type) {
	case string:
		for _, r := range x {
			if r < 0x20 && r != '\t' && r != '\n' || r == 0x7f {
				return path, false
			}
		}
	case map[string]any:
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "/" + k
			}
			if q, ok := cleanStrings(k, p, depth+1); !ok {
				return q, false
			}
			if q, ok := cleanStrings(e, p, depth+1); !ok {
				return q, false
			}
		}
	case []any:
		for i, e := range x {
			if q, ok := cleanStrings(e, path+"/"+strconv.Itoa(i), depth+1); !ok {
				return q, false
			}
		}
	}
	return path, true
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Merge returns updated (ToVCard's conversion of an edited Card) with
// orig's own lines kept for every property the edit did not change.
func Merge(orig, updated *vcard.Card) *vcard.Card {
	canon, err := ToVCard(FromVCard(orig), orig.Version())
	if err != nil {
		return updated
	}
	return &vcard.Card{Props: contentline.MergeProps(orig.Props, canon.Props, updated.Props, func(n string) string {
		return strings.ToUpper(n)
	})}
}

// Normalize returns o with the number and container types encoding/json
// produces.
func Normalize(o Card) Card { return normalize(o).(map[string]any) }

func normalize(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalize(e)
		}
		return l
	}
	return v
}
