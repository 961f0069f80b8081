package eas

import (
	"errors"
	"net/url"
	"testing"

	"github.com/roost-mail/roost/internal/proto/wbxml"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	r, err := ParseQuery("Cmd=Sync&User=alice%40acme.test&DeviceId=ABC123&DeviceType=iPhone")
	if err != nil || r.Cmd != "Sync" || r.User != "alice@acme.test" || r.DeviceID != "ABC123" || r.DeviceType != "iPhone" {
		t.Fatalf("plain: %+v %v", r, err)
	}
	in := Request{Cmd: "SendMail", Version: "14.1", DeviceID: "Dev1", DeviceType: "Android", User: "bob",
		PolicyKey: 3942919513, HasPolicyKey: true, SaveInSent: true, ItemID: "5:9", Locale: 0x409}
	q := EncodeBase64Query(in)
	r, err = ParseQuery(q)
	if err != nil || r != in {
		t.Fatalf("base64: %+v %v\nwant %+v", r, err, in)
	}
	// Percent-encoded, and raw with "+" and "/" (which a query decoder
	// would turn into a space).
	for k := uint32(0); k < 300; k++ {
		in.PolicyKey = k * 16777259
		q := EncodeBase64Query(in)
		for _, v := range []string{q, url.QueryEscape(q)} {
			if r, err := ParseQuery(v); err != nil || r != in {
				t.Fatalf("base64 %q: %+v %v", v, r, err)
			}
		}
	}
	// Bad lines: empty, missing or bad device ids, truncated base64.
	for _, bad := range []string{"", "Cmd=Sync&DeviceId=&DeviceType=x", "Cmd=Sync&DeviceId=a/b&DeviceType=x",
		"Cmd=Sync&DeviceId=" + string(make([]byte, 40)) + "&DeviceType=x", "AAAA", "!!!", "jQAJBBAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"Cmd=Sync&DeviceId=abc"} {
		if _, err := ParseQuery(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("Cmd=Sync&User=a&DeviceId=ABC&DeviceType=x")
	f.Add(EncodeBase64Query(Request{Cmd: "Ping", Version: "16.1", DeviceID: "d", DeviceType: "t", HasPolicyKey: true, PolicyKey: 7}))
	f.Fuzz(func(t *testing.T, q string) {
		r, err := ParseQuery(q)
		if err == nil && (r.Cmd == "" || !validDeviceID(r.DeviceID)) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(wbxml.El(AirSync, "Sync", wbxml.El(AirSync, "Collections", wbxml.El(AirSync, "Collection",
		wbxml.Str(AirSync, "SyncKey", "0"), wbxml.Str(AirSync, "CollectionId", "5")))))
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Decode(data, wbxml.Limits{MaxBytes: 1 << 16})
		if err == nil {
			XML(n)
		}
	})
}
