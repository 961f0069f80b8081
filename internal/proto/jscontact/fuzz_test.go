package jscontact

import (
	"encoding/json"
	"testing"

	"github.com/roost-mail/roost/internal/proto/vcard"
)

// FuzzFromVCard: any vCard the parser accepts converts, its Card
// converts back to a vCard that parses, and Merge does not fail.
func FuzzFromVCard(f *testing.F) {
	f.Add(crlf(v4))
	f.Add(crlf(v3))
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := vcard.Decode(b, vcard.Limits{MaxBytes: 64 << 10})
		if err != nil || len(cs) != 1 {
			return
		}
		o := roundJSON(t, FromVCard(cs[0]))
		back, err := ToVCard(o, cs[0].Version())
		if err != nil {
			return // FromVCard reads more leniently than ToVCard writes
		}
		out, err := vcard.Marshal(back)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := vcard.Decode(out, vcard.Limits{}); err != nil {
			t.Fatalf("written vCard does not parse: %v\n%s", err, out)
		}
		Merge(cs[0], back)
	})
}

// FuzzToVCard: any JSON object converts or is refused with a PropError;
// what converts writes a vCard that parses.
func FuzzToVCard(f *testing.F) {
	f.Add([]byte(`{"@type":"Card","uid":"u","name":{"full":"A B","components":[{"kind":"given","value":"A"}]},
		"emails":{"e1":{"address":"a@b.test","contexts":{"work":true},"pref":1}},"anniversaries":{"y":{"kind":"birth","date":{"@type":"PartialDate","month":2,"day":3}}},
		"vCardProps":[["x-a",{"group":"item1","x-p":["1","2"]},"unknown","v"]]}`), "4.0")
	f.Add([]byte(`{"@type":"Card","uid":"u","media":{"m":{"kind":"photo","uri":"data:image/png;base64,AAAA"}}}`), "3.0")
	f.Fuzz(func(t *testing.T, b []byte, version string) {
		var o Card
		if json.Unmarshal(b, &o) != nil || o == nil {
			return
		}
		c, err := ToVCard(o, version)
		if err != nil {
			if _, ok := err.(*PropError); !ok {
				t.Fatalf("error %T %v is not a PropError", err, err)
			}
			return
		}
		out, err := vcard.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		cs, err := vcard.Decode(out, vcard.Limits{})
		if err != nil || len(cs) != 1 {
			t.Fatalf("written vCard does not parse: %v\n%s", err, out)
		}
		FromVCard(cs[0])
	})
}
