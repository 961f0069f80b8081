package jscontact

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/contentline"
	"github.com/roost-mail/roost/internal/proto/vcard"
)

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

const v4 = `BEGIN:VCARD
VERSION:4.0
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
KIND:individual
FN:Dr. John Stevenson
N;SORT-AS=Stevenson:Stevenson;John;Philip,Paul;Dr.;Jr.,M.D.
NICKNAME:Johnny,JS
ORG:ACME Inc.;Sales;EMEA
TITLE:Research Scientist
ROLE:Project Leader
EMAIL;TYPE=work;PREF=1:john@acme.test
EMAIL;TYPE=home:johnny@home.test
TEL;VALUE=uri;TYPE=voice,home:tel:+1-555-555-5555
TEL;TYPE=cell,work:+1-555-555-1234
ADR;TYPE=work;LABEL="Main St 1^nSpringfield";CC=US:;Suite 2;Main St 1;Springfield;IL;62701;USA
IMPP;PREF=1:xmpp:john@acme.test
URL:https://acme.test/~john
NOTE:Likes tea\, not coffee
BDAY:19531015
ANNIVERSARY:--0412
CATEGORIES:friends,work
PHOTO:https://acme.test/john.jpg
RELATED;TYPE=friend:urn:uuid:03a0e51f-d1aa-4385-8a53-e29025acd8af
REV:20220101T120000Z
PRODID:-//Example//EN
LANG;PREF=1:en
KEY:https://acme.test/john.asc
CALURI:https://acme.test/cal/john
FBURL:https://acme.test/fb/john
CALADRURI:mailto:john@acme.test
EXPERTISE;LEVEL=high:chemistry
HOBBY:reading
GENDER:M
TZ:America/Chicago
X-ABLABEL:custom
item1.X-ABDATE:2010-01-01
END:VCARD
`

const v3 = `BEGIN:VCARD
VERSION:3.0
UID:v3-card
FN:Jane Roe
N:Roe;Jane;;;
EMAIL;TYPE=INTERNET,WORK,pref:jane@corp.test
item1.EMAIL;TYPE=INTERNET:jane@home.test
item1.X-ABLabel:_$!<Other>!$_
TEL;TYPE=CELL:+49 170 1234567
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==
X-ADDRESSBOOKSERVER-KIND:group
X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:member-1
BDAY:1980-02-29
END:VCARD
`

func decode(t testing.TB, s string) *vcard.Card {
	t.Helper()
	cs, err := vcard.Decode(crlf(s), vcard.Limits{})
	if err != nil || len(cs) != 1 {
		t.Fatalf("decode: %v", err)
	}
	return cs[0]
}

func roundJSON(t testing.TB, o Card) Card {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var out Card
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFromVCard(t *testing.T) {
	o := roundJSON(t, FromVCard(decode(t, v4)))
	get := func(path string) any {
		var v any = map[string]any(o)
		for _, k := range strings.Split(path, "/") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		}
		return v
	}
	for path, want := range map[string]any{
		"uid":                               "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
		"kind":                              "individual",
		"name/full":                         "Dr. John Stevenson",
		"nicknames/k2/name":                 "JS",
		"organizations/o1/name":             "ACME Inc.",
		"titles/t2/kind":                    "role",
		"emails/e1/address":                 "john@acme.test",
		"emails/e1/pref":                    float64(1),
		"emails/e1/contexts/work":           true,
		"emails/e2/contexts/private":        true,
		"phones/p2/features/mobile":         true,
		"phones/p1/number":                  "tel:+1-555-555-5555",
		"addresses/a1/full":                 "Main St 1\nSpringfield",
		"addresses/a1/countryCode":          "US",
		"onlineServices/s1/uri":             "xmpp:john@acme.test",
		"links/l1/uri":                      "https://acme.test/~john",
		"notes/n1/note":                     "Likes tea, not coffee",
		"anniversaries/y1/kind":             "birth",
		"anniversaries/y1/date/year":        float64(1953),
		"anniversaries/y2/date/month":       float64(4),
		"keywords/friends":                  true,
		"media/m1/kind":                     "photo",
		"updated":                           "2022-01-01T12:00:00Z",
		"prodId":                            "-//Example//EN",
		"preferredLanguages/lang1/language": "en",
		"cryptoKeys/key1/uri":               "https://acme.test/john.asc",
		"calendars/f1/kind":                 "freeBusy",
		"schedulingAddresses/sa1/uri":       "mailto:john@acme.test",
		"personalInfo/i1/level":             "high",
	} {
		if got := get(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	comps := get("name/components").([]any)
	if len(comps) != 7 {
		t.Errorf("name components %v", comps)
	}
	extra, _ := json.Marshal(o["vCardProps"])
	for _, w := range []string{`"gender"`, `"tz"`, `"x-ablabel"`, `"group":"item1"`} {
		if !strings.Contains(string(extra), w) {
			t.Errorf("vCardProps lacks %s: %s", w, extra)
		}
	}
}

// TestRoundTrip: vCard → Card → vCard → Card is stable for both
// versions, and a Card made by a JMAP client survives the way to vCard
// and back.
func TestRoundTrip(t *testing.T) {
	for name, src := range map[string]string{"v4": v4, "v3": v3} {
		t.Run(name, func(t *testing.T) {
			c := decode(t, src)
			o1 := roundJSON(t, FromVCard(c))
			back, err := ToVCard(o1, c.Version())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := vcard.Marshal(back)
			cs, err := vcard.Decode(b, vcard.Limits{})
			if err != nil {
				t.Fatalf("written vCard does not parse: %v\n%s", err, b)
			}
			o2 := roundJSON(t, FromVCard(cs[0]))
			if !reflect.DeepEqual(o1, o2) {
				a, _ := json.MarshalIndent(o1, "", " ")
				z, _ := json.MarshalIndent(o2, "", " ")
				t.Fatalf("round trip differs:\n%s\n---\n%s\n%s", a, z, b)
			}
		})
	}
	card := Card{"@type": "Card", "version": "1.0", "uid": "jmap-1", "kind": "individual",
		"name":   map[string]any{"@type": "Name", "full": "Ada Lovelace", "components": []any{map[string]any{"kind": "given", "value": "Ada"}, map[string]any{"kind": "surname", "value": "Lovelace"}}},
		"emails": map[string]any{"e1": map[string]any{"@type": "EmailAddress", "address": "ada@example.test", "contexts": map[string]any{"private": true}, "pref": float64(1)}},
		"phones": map[string]any{"p1": map[string]any{"@type": "Phone", "number": "+44 20 1234", "features": map[string]any{"mobile": true}}},
		"notes":  map[string]any{"n1": map[string]any{"@type": "Note", "note": "Analytical engine; notes, and more"}},
	}
	for _, ver := range []string{"4.0", "3.0"} {
		vc, err := ToVCard(card, ver)
		if err != nil {
			t.Fatal(err)
		}
		got := roundJSON(t, FromVCard(vc))
		for _, k := range []string{"uid", "name", "emails", "phones", "notes"} {
			want := roundJSON(t, card)[k]
			if k == "name" {
				// components gain their @type
				continue
			}
			if !reflect.DeepEqual(got[k], want) {
				t.Errorf("%s: %s = %v, want %v", ver, k, got[k], want)
			}
		}
		if got["name"].(map[string]any)["full"] != "Ada Lovelace" {
			t.Errorf("%s: name %v", ver, got["name"])
		}
	}
}

func sortedLines(c *vcard.Card) string {
	var l []string
	for _, p := range c.Props {
		l = append(l, contentline.PropString(p))
	}
	slices.Sort(l)
	return strings.Join(l, "\n")
}

// TestMerge: an edit through JSContact keeps Apple's grouped labels and
// unknown parameters of the lines it did not touch.
func TestMerge(t *testing.T) {
	orig := decode(t, v3)
	o := roundJSON(t, FromVCard(orig))
	same, err := ToVCard(o, "3.0")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sortedLines(Merge(orig, same)), sortedLines(orig); got != want {
		t.Fatalf("unchanged card merged to\n%s\nwant\n%s", got, want)
	}
	o["emails"].(map[string]any)["e1"].(map[string]any)["address"] = "jane@new.test"
	o["name"].(map[string]any)["full"] = "Jane Q. Roe"
	upd, err := ToVCard(o, "3.0")
	if err != nil {
		t.Fatal(err)
	}
	m := Merge(orig, upd)
	b, _ := vcard.Marshal(m)
	s := string(b)
	for _, w := range []string{"FN:Jane Q. Roe", "jane@new.test", "item1.EMAIL;TYPE=INTERNET:jane@home.test", "item1.X-ABLABEL", "PHOTO;ENCODING=b;TYPE=JPEG"} {
		if !strings.Contains(s, w) {
			t.Errorf("merged card lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "jane@corp.test") {
		t.Errorf("old address kept:\n%s", s)
	}
}

func TestToVCardRejects(t *testing.T) {
	base := func() Card { return Card{"@type": "Card", "uid": "u", "name": map[string]any{"full": "X"}} }
	if _, err := ToVCard(base(), "4.0"); err != nil {
		t.Fatal(err)
	}
	for prop, bad := range map[string]any{
		"@type":         "Contact",
		"uid":           5,
		"kind":          "robot",
		"emails":        map[string]any{"e": map[string]any{"contexts": map[string]any{}}},
		"name":          "X",
		"anniversaries": map[string]any{"a": map[string]any{"kind": "birth", "date": map[string]any{"month": 13, "day": 1}}},
		"vCardProps":    []any{[]any{"x-a", map[string]any{}, "unknown", "a\r\nEND:VCARD"}},
		"notes":         map[string]any{"n": map[string]any{"note": "bell\x07"}},
	} {
		o := base()
		o[prop] = bad
		_, err := ToVCard(o, "4.0")
		if _, ok := err.(*PropError); !ok {
			t.Errorf("%s = %v: err %v, want a PropError", prop, bad, err)
		}
	}
}

// TestJSProp: Card properties vCard has no property for come back
// unchanged through JSPROP.
func TestJSProp(t *testing.T) {
	o := roundJSON(t, Card{"@type": "Card", "uid": "u", "name": map[string]any{"full": "X"},
		"language": "de", "example.com:tags": []any{"a", "b"}, "speakToAs": map[string]any{"grammaticalGender": "neuter"}})
	for _, ver := range []string{"3.0", "4.0"} {
		vc, err := ToVCard(o, ver)
		if err != nil {
			t.Fatal(err)
		}
		got := roundJSON(t, FromVCard(vc))
		for _, k := range []string{"language", "example.com:tags", "speakToAs"} {
			if !reflect.DeepEqual(got[k], o[k]) {
				t.Errorf("%s: %s = %v, want %v", ver, k, got[k], o[k])
			}
		}
	}
}

// TestGroupAddressAndBirthday: a group card and a card with a postal
// address and a birthday, as the web client writes them over JMAP,
// become vCard 4 KIND:group with a MEMBER per member, ADR and BDAY (and
// vCard 3's X-ADDRESSBOOKSERVER-KIND/-MEMBER), and read back the same.
func TestGroupAddressAndBirthday(t *testing.T) {
	group := Card{"@type": "Card", "version": "1.0", "uid": "urn:uuid:g-1", "kind": "group",
		"name":    map[string]any{"@type": "Name", "full": "Team"},
		"members": map[string]any{"urn:uuid:m-1": true, "urn:uuid:m-2": true}}
	person := Card{"@type": "Card", "version": "1.0", "uid": "urn:uuid:m-1", "kind": "individual",
		"name": map[string]any{"@type": "Name", "full": "Ben Colleague"},
		"addresses": map[string]any{"a1": map[string]any{"@type": "Address", "components": []any{
			map[string]any{"@type": "AddressComponent", "kind": "name", "value": "Hauptstraße 1"},
			map[string]any{"@type": "AddressComponent", "kind": "locality", "value": "Berlin"},
			map[string]any{"@type": "AddressComponent", "kind": "postcode", "value": "10115"},
			map[string]any{"@type": "AddressComponent", "kind": "country", "value": "Germany"}}}},
		"anniversaries": map[string]any{"y1": map[string]any{"@type": "Anniversary", "kind": "birth",
			"date": map[string]any{"@type": "PartialDate", "year": float64(1990), "month": float64(4), "day": float64(1)}}}}
	for _, tc := range []struct {
		version string
		card    Card
		want    []string
	}{
		{"4.0", group, []string{"KIND:group", "MEMBER:urn:uuid:m-1", "MEMBER:urn:uuid:m-2", "FN:Team"}},
		{"3.0", group, []string{"X-ADDRESSBOOKSERVER-KIND:group", "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m-1", "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m-2"}},
		{"4.0", person, []string{"ADR:;;Hauptstraße 1;Berlin;;10115;Germany", "BDAY:19900401"}},
	} {
		vc, err := ToVCard(tc.card, tc.version)
		if err != nil {
			t.Fatalf("%s: %v", tc.version, err)
		}
		b, _ := vcard.Marshal(vc)
		for _, w := range tc.want {
			if !strings.Contains(string(b), w+"\r\n") {
				t.Errorf("vCard %s lacks %s:\n%s", tc.version, w, b)
			}
		}
		cs, err := vcard.Decode(b, vcard.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		back := roundJSON(t, FromVCard(cs[0]))
		for _, k := range []string{"kind", "members", "addresses", "anniversaries"} {
			want, _ := json.Marshal(roundJSON(t, tc.card)[k])
			got, _ := json.Marshal(back[k])
			if k == "addresses" && tc.card[k] != nil {
				// The vCard's structured ADR reads back as components.
				if !strings.Contains(string(got), `"Hauptstraße 1"`) || !strings.Contains(string(got), `"locality","value":"Berlin"`) {
					t.Errorf("%s addresses read back as %s", tc.version, got)
				}
				continue
			}
			if string(want) != string(got) {
				t.Errorf("vCard %s: %s read back as %s, want %s", tc.version, k, got, want)
			}
		}
	}
}
