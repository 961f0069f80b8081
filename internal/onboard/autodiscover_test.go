package onboard_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/onboard"
)

func poxRequest(email, schema string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + email + `</EMailAddress>
    <AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

type poxAnswer struct {
	XMLName  xml.Name
	Response struct {
		XMLName xml.Name
		Account struct {
			AccountType string
			Action      string
			Protocol    []struct {
				Type, Server, LoginName, SSL, Encryption string
				Port                                     int
			}
		}
		Error struct {
			ErrorCode int
		}
		User struct {
			EMailAddress string
		}
		Action struct {
			Settings struct {
				Server []struct {
					Type string
					URL  string `xml:"Url"`
				}
			}
			Error struct {
				Status  int
				Message string
			}
		}
	}
}

func TestAutodiscoverPOX(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, body := e.do(t, "POST", "/autodiscover/autodiscover.xml", "autodiscover.example.org", poxRequest("alice@example.org", onboard.SchemaOutlook), "Content-Type", "text/xml")
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	var a poxAnswer
	if err := xml.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.XMLName.Space != "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006" || a.Response.XMLName.Space != onboard.SchemaOutlook {
		t.Errorf("namespaces %v %v", a.XMLName, a.Response.XMLName)
	}
	got := fmt.Sprint(a.Response.Account)
	want := "{email settings [{IMAP mail.example.net alice@example.org on SSL 993} {SMTP mail.example.net alice@example.org on SSL 465}]}"
	if got != want {
		t.Errorf("outlook answer\n got %s\nwant %s", got, want)
	}
	// The same shape for a user that does not exist.
	_, other := e.do(t, "POST", "/autodiscover/autodiscover.xml", "", poxRequest("ghost@example.org", onboard.SchemaOutlook))
	if strings.ReplaceAll(other, "ghost@", "alice@") != body {
		t.Errorf("unknown user answered differently:\n%s", other)
	}
	// Outlook's capitalised path.
	if st, _ := e.do(t, "POST", "/Autodiscover/Autodiscover.xml", "", poxRequest("alice@example.org", onboard.SchemaOutlook)); st != 200 {
		t.Errorf("capitalised path: %d", st)
	}

	// mobilesync: the ActiveSync URL.
	_, body = e.do(t, "POST", "/autodiscover/autodiscover.xml", "", poxRequest("alice@example.org", onboard.SchemaMobileSync))
	a = poxAnswer{}
	if err := xml.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.Response.XMLName.Space != onboard.SchemaMobileSync || len(a.Response.Action.Settings.Server) != 1 ||
		a.Response.Action.Settings.Server[0].Type != "MobileSync" ||
		a.Response.Action.Settings.Server[0].URL != "https://mail.example.net/Microsoft-Server-ActiveSync" ||
		a.Response.User.EMailAddress != "alice@example.org" {
		t.Errorf("mobilesync answer: %s", body)
	}

	// An unknown schema: error 601.
	_, body = e.do(t, "POST", "/autodiscover/autodiscover.xml", "", poxRequest("alice@example.org", "urn:x-unknown"))
	if a = (poxAnswer{}); xml.Unmarshal([]byte(body), &a) != nil || a.Response.Error.ErrorCode != 601 {
		t.Errorf("unknown schema: %s", body)
	}

	// Unknown domains and malformed addresses: one answer, error 600.
	_, ref := e.do(t, "POST", "/autodiscover/autodiscover.xml", "", poxRequest("alice@unknown.test", onboard.SchemaOutlook))
	if a = (poxAnswer{}); xml.Unmarshal([]byte(ref), &a) != nil || a.Response.Error.ErrorCode != 600 {
		t.Errorf("unknown domain: %s", ref)
	}
	for _, addr := range []string{"bob@other.test", "no-at-sign", "@example.org"} {
		if st, b := e.do(t, "POST", "/autodiscover/autodiscover.xml", "autodiscover.example.org", poxRequest(addr, onboard.SchemaOutlook)); st != 200 || b != ref {
			t.Errorf("%s: %d %s", addr, st, b)
		}
	}
}

// TestAutodiscoverBadXML: oversize, malformed, XXE and foreign documents
// are refused with 400 and error 600, and the server keeps serving.
func TestAutodiscoverBadXML(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	xxe := `<?xml version="1.0"?>
<!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
<Request><EMailAddress>&xxe;</EMailAddress></Request></Autodiscover>`
	lol := `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>` +
		`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>&b;@example.org</EMailAddress></Request></Autodiscover>`
	big := poxRequest("alice@example.org", onboard.SchemaOutlook)
	big = strings.Replace(big, "<Request>", "<Request><Pad>"+strings.Repeat("x", onboard.MaxRequestBytes)+"</Pad>", 1)
	deep := `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>` +
		strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50) + `<EMailAddress>alice@example.org</EMailAddress></Request></Autodiscover>`
	cases := map[string]string{
		"xxe":       xxe,
		"billion":   lol,
		"oversize":  big,
		"deep":      deep,
		"malformed": `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.org</Request>`,
		"foreign":   `<Autodiscover xmlns="urn:evil"><Request><EMailAddress>alice@example.org</EMailAddress></Request></Autodiscover>`,
		"no-ns":     `<Autodiscover><Request><EMailAddress>alice@example.org</EMailAddress></Request></Autodiscover>`,
		"empty":     ``,
		"pi":        `<?xml-stylesheet href="http://evil/x"?>` + poxRequest("alice@example.org", onboard.SchemaOutlook)[len(`<?xml version="1.0" encoding="utf-8"?>`):],
		"no-email":  strings.Replace(poxRequest("", onboard.SchemaOutlook), "<EMailAddress></EMailAddress>", "", 1),
	}
	for name, body := range cases {
		st, out := e.do(t, "POST", "/autodiscover/autodiscover.xml", "", body)
		var a poxAnswer
		if st != 400 || xml.Unmarshal([]byte(out), &a) != nil || a.Response.Error.ErrorCode != 600 {
			t.Errorf("%s: %d %s", name, st, out)
		}
		if strings.Contains(out, "root:") {
			t.Errorf("%s: file content leaked", name)
		}
		if _, err := onboard.ParsePOX(strings.NewReader(body)); !errors.Is(err, onboard.ErrBadRequest) {
			t.Errorf("%s: ParsePOX = %v", name, err)
		}
	}
	if st, _ := e.do(t, "POST", "/autodiscover/autodiscover.xml", "", poxRequest("alice@example.org", onboard.SchemaOutlook)); st != 200 {
		t.Errorf("server stopped answering: %d", st)
	}
}

func TestAutodiscoverJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{
		"/autodiscover/autodiscover.json?Email=alice@example.org&Protocol=AutodiscoverV1",
		"/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=AutodiscoverV1",
		"/autodiscover/autodiscover.json/v1.0/ghost@example.org?Protocol=AutodiscoverV1",
	} {
		st, body := e.do(t, "GET", path, "", "")
		var ans onboard.JSONAnswer
		if st != 200 || json.Unmarshal([]byte(body), &ans) != nil || ans.URL != "https://mail.example.net/autodiscover/autodiscover.xml" || ans.Protocol != "AutodiscoverV1" {
			t.Errorf("%s: %d %s", path, st, body)
		}
	}
	st, body := e.do(t, "GET", "/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=ActiveSync", "", "")
	var ans onboard.JSONAnswer
	if st != 200 || json.Unmarshal([]byte(body), &ans) != nil || ans.Protocol != "ActiveSync" || ans.URL != "https://mail.example.net/Microsoft-Server-ActiveSync" {
		t.Errorf("ActiveSync: %d %s", st, body)
	}
	if st, body := e.do(t, "GET", "/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=Rest", "", ""); st != 400 || !strings.Contains(body, "ProtocolNotSupported") {
		t.Errorf("Rest: %d %s", st, body)
	}
	_, ref := e.do(t, "GET", "/autodiscover/autodiscover.json?Email=alice@unknown.test&Protocol=AutodiscoverV1", "", "")
	for _, p := range []string{"/autodiscover/autodiscover.json?Email=junk&Protocol=AutodiscoverV1", "/autodiscover/autodiscover.json/v1.0/x@other.test?Protocol=ActiveSync"} {
		if st, b := e.do(t, "GET", p, "", ""); st != 404 || b != ref {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
}

func FuzzParsePOX(f *testing.F) {
	f.Add(poxRequest("alice@example.org", onboard.SchemaOutlook))
	f.Add(poxRequest("alice@example.org", onboard.SchemaMobileSync))
	f.Add(`<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`)
	f.Add(`<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>a@b.c</EMailAddress></Request></Autodiscover>`)
	f.Fuzz(func(t *testing.T, in string) {
		req, err := onboard.ParsePOX(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, onboard.ErrBadRequest) {
				t.Fatalf("error outside ErrBadRequest: %v", err)
			}
			return
		}
		if len(in) > onboard.MaxRequestBytes || req.Email == "" || req.Schema == "" {
			t.Fatalf("accepted %q as %+v", in, req)
		}
		// Whatever was accepted must produce a well-formed answer.
		out, err := onboard.POXResponse(req, onboard.Account{Address: req.Email, Username: req.Email, Domain: "example.org", Settings: testSettings})
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(out))
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("answer not well-formed: %v\n%s", err, out)
				}
				break
			}
		}
	})
}

// Without a published HTTPS port there is no ActiveSync to point at: the
// mobilesync answer is an Action/Error, and the JSON one 400.
func TestMobileSyncWithoutHTTPS(t *testing.T) {
	t.Parallel()
	a := onboard.Account{Address: "alice@example.org", Domain: "example.org", Username: "alice@example.org",
		Settings: onboard.Settings{Host: "mail.example.net", IMAPS: 993}}
	out, err := onboard.POXResponse(onboard.POXRequest{Email: a.Address, Schema: onboard.SchemaMobileSync}, a)
	if err != nil || !strings.Contains(string(out), "<Status>1</Status>") || strings.Contains(string(out), "<Settings>") {
		t.Fatalf("%v %s", err, out)
	}
	if st, body := onboard.JSONResponse("ActiveSync", a); st != 400 {
		t.Fatalf("%d %s", st, body)
	}
}
