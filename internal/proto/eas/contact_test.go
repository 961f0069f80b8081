package eas

import (
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

const testCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Carol Jones\r\nN:Jones;Carol;Ann;Dr.;PhD\r\nORG:Acme;Research\r\n" +
	"TITLE:Chemist\r\nEMAIL:a@x.test\r\nEMAIL;TYPE=home:b@x.test\r\nTEL;TYPE=cell:1\r\nTEL;TYPE=work:2\r\nTEL;TYPE=work:3\r\n" +
	"TEL;TYPE=home:4\r\nTEL;TYPE=work,fax:5\r\nTEL:6\r\nADR;TYPE=home:;;Street 1;Town;;123;Land\r\nBDAY:19800517\r\n" +
	"URL:https://x.test\r\nNICKNAME:CJ\r\nCATEGORIES:A,B\r\nNOTE:hello\\nworld\r\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\nEND:VCARD\r\n"

// A card survives vCard → EAS → vCard with the fields both express.
func TestContactRoundTrip(t *testing.T) {
	t.Parallel()
	cards, err := vcard.Decode([]byte(testCard), vcard.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	fields, note := ContactData(cards[0])
	ad := wbxml.El(AirSync, "ApplicationData", fields...)
	want := map[string]string{"FirstName": "Carol", "LastName": "Jones", "MiddleName": "Ann", "Title": "Dr.", "Suffix": "PhD",
		"CompanyName": "Acme", "Department": "Research", "JobTitle": "Chemist", "Email1Address": "a@x.test", "Email2Address": "b@x.test",
		"MobilePhoneNumber": "1", "BusinessPhoneNumber": "2", "Business2PhoneNumber": "3", "HomePhoneNumber": "4", "BusinessFaxNumber": "5",
		"Home2PhoneNumber": "6", "HomeStreet": "Street 1", "HomeCity": "Town", "HomePostalCode": "123", "HomeCountry": "Land",
		"Birthday": "1980-05-17T00:00:00.000Z", "WebPage": "https://x.test", "NickName": "CJ"}
	for k, v := range want {
		if got := ad.ChildText(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if note != "hello\nworld" {
		t.Errorf("note %q", note)
	}
	// Back into the same card: nothing lost, the photo kept.
	ApplyContact(cards[0], ad, note, true)
	b, err := vcard.Marshal(cards[0])
	if err != nil {
		t.Fatal(err)
	}
	back, err := vcard.Decode(b, vcard.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	f2, n2 := ContactData(back[0])
	if XML(wbxml.El(AirSync, "ApplicationData", f2...)) != XML(ad) || n2 != note {
		t.Fatalf("round trip:\n%s\nvs\n%s", XML(wbxml.El(AirSync, "ApplicationData", f2...)), XML(ad))
	}
	if !strings.Contains(string(b), "PHOTO") || !strings.Contains(string(b), "UID:x") {
		t.Fatalf("lost what EAS does not carry:\n%s", b)
	}
}

func FuzzContact(f *testing.F) {
	f.Add([]byte(testCard))
	f.Fuzz(func(t *testing.T, data []byte) {
		cards, err := vcard.Decode(data, vcard.Limits{MaxBytes: 1 << 16})
		if err != nil || len(cards) == 0 {
			return
		}
		fields, note := ContactData(cards[0])
		ad := wbxml.El(AirSync, "ApplicationData", fields...)
		if _, err := Encode(ad); err != nil {
			t.Fatalf("contact data does not encode: %v", err)
		}
		c := &vcard.Card{}
		ApplyContact(c, ad, note, true)
		b, err := vcard.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := vcard.Decode(b, vcard.Limits{}); err != nil {
			t.Fatalf("the written card does not parse: %v\n%s", err, b)
		}
	})
}
