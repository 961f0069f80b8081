package sasl

import (
	"encoding/json"
	"testing"
)

func TestParseOAuthBearer(t *testing.T) {
	// RFC 7628 §4.1 (the example's token) and variants.
	ok := []struct {
		in   string
		want Bearer
	}{
		{"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
			Bearer{AuthzID: "user@example.com", Token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", Host: "server.example.com", Port: "143"}},
		{"n,,\x01auth=bearer abc.def-ghi\x01\x01", Bearer{Token: "abc.def-ghi"}},
		{"y,a=we=2Cird=3D,\x01auth=Bearer t\x01\x01", Bearer{AuthzID: "we,ird=", Token: "t"}},
	}
	for _, c := range ok {
		got, err := ParseOAuthBearer([]byte(c.in))
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", "n,", "n,,", "n,,\x01", "n,,\x01\x01", // no auth
		"p=tls-unique,,\x01auth=Bearer t\x01\x01", // channel binding
		"n,a=x,y,\x01auth=Bearer t\x01\x01",       // comma in saslname
		"n,a=x=41,\x01auth=Bearer t\x01\x01",      // bad escape
		"n,,\x01auth=Basic dXNlcjpwdw==\x01\x01",  // not a bearer
		"n,,\x01auth=Bearer \x01\x01",             // empty token
		"n,,\x01auth=Bearer a b\x01\x01",          // space in token
		"n,,\x01auth=Bearer t\x01",                // no final kvsep
		"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01",
		"n,,\x01=x\x01auth=Bearer t\x01\x01",
		"n,,\x01auth=Bearer t=x\x01\x01",
	}
	for _, in := range bad {
		if _, err := ParseOAuthBearer([]byte(in)); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func TestParseXOAuth2(t *testing.T) {
	got, err := ParseXOAuth2([]byte("user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"))
	if err != nil || got.AuthzID != "someuser@example.com" || got.Token != "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg" {
		t.Errorf("%+v, %v", got, err)
	}
	if _, err := ParseXOAuth2([]byte("user=a\x01\x01")); err == nil {
		t.Error("no auth accepted")
	}
}

func TestErrorChallenge(t *testing.T) {
	var v map[string]string
	if err := json.Unmarshal(ErrorChallenge("invalid_token", "", ""), &v); err != nil || v["status"] != "invalid_token" || len(v) != 1 {
		t.Errorf("%v %v", v, err)
	}
}

// FuzzBearer: the parsers never panic, and what they accept has a token
// of b64token characters.
func FuzzBearer(f *testing.F) {
	f.Add([]byte("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"))
	f.Add([]byte("user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"))
	f.Add([]byte("n,,\x01auth=Bearer t\x01\x01"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, parse := range []func([]byte) (Bearer, error){ParseOAuthBearer, ParseXOAuth2} {
			b, err := parse(msg)
			if err != nil {
				continue
			}
			if b.Token == "" {
				t.Fatalf("%q: accepted without a token", msg)
			}
			if _, err := bearerToken("Bearer " + b.Token); err != nil {
				t.Fatalf("%q: token %q does not parse again", msg, b.Token)
			}
		}
	})
}
