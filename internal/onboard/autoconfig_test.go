package onboard_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/store"
)

// A strict reading of Thunderbird's documented format
// (https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat):
// every element must be one the format defines, in a parent that may hold
// it, with the documented attributes and value sets, and the required
// children present.
type elemRule struct {
	attrs    []string
	children []string // allowed
	required []string
	values   []string // allowed text (nil: any)
}

var tbFormat = map[string]elemRule{
	"clientConfig": {attrs: []string{"version"}, children: []string{"emailProvider", "addressBook", "calendar", "webMail", "clientConfigUpdate", "oAuth2"},
		required: []string{"emailProvider"}},
	"emailProvider": {attrs: []string{"id"}, children: []string{"domain", "displayName", "displayShortName", "incomingServer", "outgoingServer", "documentation", "enable", "instructions"},
		required: []string{"domain", "incomingServer", "outgoingServer"}},
	"incomingServer": {attrs: []string{"type"}, children: []string{"hostname", "port", "socketType", "authentication", "username", "password", "pop3"},
		required: []string{"hostname", "port", "socketType", "authentication", "username"}},
	"outgoingServer": {attrs: []string{"type"}, children: []string{"hostname", "port", "socketType", "authentication", "username", "password", "addThisServer", "useGlobalPreferredServer"},
		required: []string{"hostname", "port", "socketType", "authentication"}},
	"addressBook":    {attrs: []string{"type"}, children: []string{"username", "authentication", "serverURL"}, required: []string{"username", "authentication", "serverURL"}},
	"calendar":       {attrs: []string{"type"}, children: []string{"username", "authentication", "serverURL"}, required: []string{"username", "authentication", "serverURL"}},
	"socketType":     {values: []string{"plain", "SSL", "STARTTLS"}},
	"authentication": {values: []string{"password-cleartext", "password-encrypted", "NTLM", "GSSAPI", "client-IP-address", "TLS-client-cert", "OAuth2", "none", "http-basic", "http-digest"}},
	"domain":         {}, "displayName": {}, "displayShortName": {}, "hostname": {}, "port": {}, "username": {}, "serverURL": {},
}

var typeAttr = map[string][]string{"incomingServer": {"imap", "pop3"}, "outgoingServer": {"smtp"}, "addressBook": {"carddav"}, "calendar": {"caldav"}}

func validateClientConfig(doc []byte) error {
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	d.Strict = true
	type frame struct {
		name string
		seen []string
		text strings.Builder
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			rule, ok := tbFormat[t.Name.Local]
			if !ok || t.Name.Space != "" {
				return fmt.Errorf("unknown element %v", t.Name)
			}
			if len(stack) == 0 && t.Name.Local != "clientConfig" {
				return fmt.Errorf("root is %s", t.Name.Local)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if !slices.Contains(tbFormat[p.name].children, t.Name.Local) {
					return fmt.Errorf("%s may not hold %s", p.name, t.Name.Local)
				}
				p.seen = append(p.seen, t.Name.Local)
			}
			for _, a := range t.Attr {
				if !slices.Contains(rule.attrs, a.Name.Local) {
					return fmt.Errorf("%s has unknown attribute %s", t.Name.Local, a.Name.Local)
				}
				if a.Name.Local == "type" && !slices.Contains(typeAttr[t.Name.Local], a.Value) {
					return fmt.Errorf("%s type=%q", t.Name.Local, a.Value)
				}
				if a.Name.Local == "version" && a.Value != "1.1" {
					return fmt.Errorf("version %q", a.Value)
				}
			}
			stack = append(stack, &frame{name: t.Name.Local})
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			rule := tbFormat[f.name]
			for _, r := range rule.required {
				if !slices.Contains(f.seen, r) {
					return fmt.Errorf("%s lacks %s", f.name, r)
				}
			}
			txt := strings.TrimSpace(f.text.String())
			if rule.values != nil && !slices.Contains(rule.values, txt) {
				return fmt.Errorf("%s %q not in %v", f.name, txt, rule.values)
			}
			if f.name == "port" {
				if n, err := strconv.Atoi(txt); err != nil || n < 1 || n > 65535 {
					return fmt.Errorf("port %q", txt)
				}
			}
			if f.name == "serverURL" {
				if u, err := url.Parse(txt); err != nil || u.Scheme != "https" || u.Host == "" {
					return fmt.Errorf("serverURL %q", txt)
				}
			}
			if len(rule.children) == 0 && txt == "" {
				return fmt.Errorf("%s is empty", f.name)
			}
		}
	}
	return nil
}

func TestAutoconfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, body := e.do(t, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.org", "", "")
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	if err := validateClientConfig([]byte(body)); err != nil {
		t.Fatalf("not Thunderbird's format: %v\n%s", err, body)
	}
	var cc struct {
		Incoming []struct {
			Type     string `xml:"type,attr"`
			Host     string `xml:"hostname"`
			Port     int    `xml:"port"`
			Socket   string `xml:"socketType"`
			Username string `xml:"username"`
		} `xml:"emailProvider>incomingServer"`
		Outgoing []struct {
			Port   int    `xml:"port"`
			Socket string `xml:"socketType"`
		} `xml:"emailProvider>outgoingServer"`
		Calendar string `xml:"calendar>serverURL"`
		Contacts string `xml:"addressBook>serverURL"`
	}
	if err := xml.Unmarshal([]byte(body), &cc); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintln(cc.Incoming, cc.Outgoing, cc.Calendar, cc.Contacts)
	want := "[{imap mail.example.net 993 SSL alice@example.org} {imap mail.example.net 143 STARTTLS alice@example.org} " +
		"{pop3 mail.example.net 995 SSL alice@example.org}] [{465 SSL} {587 STARTTLS}] https://mail.example.net/dav/ https://mail.example.net/dav/\n"
	if got != want {
		t.Errorf("settings\n got %s\nwant %s", got, want)
	}

	// An address nobody has gets the same answer (only the address differs).
	_, other := e.do(t, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=nobody@example.org", "", "")
	if strings.ReplaceAll(other, "nobody@", "alice@") != body {
		t.Errorf("an unknown user's answer differs:\n%s", other)
	}

	// The autoconfig host, without an address: the placeholder.
	st, body = e.do(t, "GET", "/mail/config-v1.1.xml", "autoconfig.example.org", "")
	if st != 200 || !strings.Contains(body, "<username>%EMAILADDRESS%</username>") {
		t.Errorf("autoconfig host: %d %s", st, body)
	}
	if err := validateClientConfig([]byte(body)); err != nil {
		t.Error(err)
	}

	// A per-domain public host name wins.
	h := "imap.example.org"
	if err := e.db.SetDomainProps(store.SystemContext(context.Background()), "example.org", map[string]*string{"public_hostname": &h}); err != nil {
		t.Fatal(err)
	}
	_, body = e.do(t, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@example.org", "", "")
	if !strings.Contains(body, "<hostname>imap.example.org</hostname>") || strings.Contains(body, "mail.example.net") {
		t.Errorf("domain override not used:\n%s", body)
	}
}

// TestAutoconfigRefusals: unknown domains, malformed addresses and Host
// headers naming other domains all get one and the same refusal.
func TestAutoconfigRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, ref := e.do(t, "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@unknown.test", "", "")
	for _, c := range []struct{ path, host string }{
		{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@unknown.test", ""},
		{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=not-an-address", ""},
		{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a@b@example.org", ""},
		{"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=%3Cx%3E@example.org", ""},
		{"/.well-known/autoconfig/mail/config-v1.1.xml", ""},
		{"/mail/config-v1.1.xml", "autoconfig.unknown.test"},
		{"/mail/config-v1.1.xml", "example.org"},
		{"/mail/config-v1.1.xml?emailaddress=alice@example.org", "autoconfig.unknown.test"},
		{"/mail/config-v1.1.xml?emailaddress=eve@unknown.test", "autoconfig.example.org"},
	} {
		st, body := e.do(t, "GET", c.path, c.host, "")
		if st != 404 || body != ref {
			t.Errorf("%s (Host %s): %d %q, want the refusal %q", c.path, c.host, st, body, ref)
		}
	}
}

// FuzzAutoconfigAddress: any emailaddress either is refused as not served
// or yields a document in Thunderbird's format.
func FuzzAutoconfigAddress(f *testing.F) {
	for _, s := range []string{"alice@example.org", "a@b@example.org", "<x>@example.org", "x@EXAMPLE.ORG.", "&amp;@example.org", "\x00@example.org", "@", ""} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, addr string) {
		a, err := e.svc.Lookup(context.Background(), addr)
		if errors.Is(err, onboard.ErrUnknownDomain) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if a.Domain != "example.org" {
			t.Fatalf("%q accepted for domain %q", addr, a.Domain)
		}
		doc, err := onboard.Autoconfig(a)
		if err != nil {
			return // not representable in XML (invalid UTF-8, control characters)
		}
		if err := validateClientConfig(doc); err != nil {
			t.Fatalf("%q: %v\n%s", addr, err, doc)
		}
	})
}
