package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestOnboardingServed runs Roost with public_hostname and public_ports
// and asks its HTTPS listener for autoconfig, autodiscover and the
// profile: the public names are handed out, and the profile is signed with
// the server's own TLS key.
func TestOnboardingServed(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "roost-onb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "roost.toml")
	https, imapAddr := freePort(t), freePort(t)
	writeConfig(t, cfg, dir, fmt.Sprintf("https_listen = %q\nimaps_listen = %q\nsubmissions_listen = %q\n"+
		"imap_listen = %q\nallow_plaintext_auth = true\n"+
		"public_hostname = \"mail.example.net\"\npublic_ports = [\"imaps=993\", \"submissions=465\", \"https=443\"]\n",
		https, freePort(t), freePort(t), imapAddr))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr syncBuf
	go func() { done <- Run(ctx, Options{ConfigPath: cfg, Stdout: &stdout, Stderr: &stderr, Version: "test"}) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "https listener", func() bool {
		select {
		case err := <-done:
			// Run ended early, e.g. a port taken between freeAddr and
			// the start: say why instead of waiting out the deadline.
			done <- err
			t.Fatalf("roost stopped during its start: %v\n%s\n%s", err, stdout.String(), stderr.String())
		default:
		}
		return strings.Contains(stdout.String(), "is running")
	})

	admin := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(dir, "admin.sock"))
	}}}
	for _, c := range []struct{ path, body string }{
		{"/v1/domains", `{"name":"example.org"}`},
		{"/v1/users", `{"login":"alice","email":"alice@example.org","name":"Alice","password":"pw-alice-1"}`},
	} {
		resp, err := admin.Post("http://roost"+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(method, path, host, body, user string) (int, string) {
		req, _ := http.NewRequest(method, "https://"+https+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if user != "" {
			req.SetBasicAuth(user, "pw-alice-1")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := get("GET", "/mail/config-v1.1.xml?emailaddress=alice@example.org", "autoconfig.example.org", "", "")
	for _, want := range []string{"<hostname>mail.example.net</hostname>", "<port>993</port>", "<port>465</port>", "<serverURL>https://mail.example.net/dav/</serverURL>"} {
		if st != 200 || !strings.Contains(body, want) {
			t.Errorf("autoconfig lacks %s: %d\n%s", want, st, body)
		}
	}
	if st, _ := get("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice@other.test", "", "", ""); st != 404 {
		t.Errorf("foreign domain: %d", st)
	}
	st, body = get("POST", "/autodiscover/autodiscover.xml", "", `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.org</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`, "")
	if st != 200 || !strings.Contains(body, "<Server>mail.example.net</Server>") {
		t.Errorf("autodiscover: %d %s", st, body)
	}
	if st, _ := get("GET", "/profile.mobileconfig", "", "", ""); st != 401 {
		t.Errorf("profile without login: %d", st)
	}
	st, body = get("GET", "/profile.mobileconfig", "", "", "alice")
	if st != 200 {
		t.Fatalf("profile: %d %s", st, body)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		return
	}
	f := filepath.Join(dir, "p.mobileconfig")
	os.WriteFile(f, []byte(body), 0o600)
	out, err := exec.Command("openssl", "smime", "-verify", "-inform", "DER", "-in", f,
		"-CAfile", filepath.Join(dir, "tls", "cert.pem"), "-purpose", "any").Output()
	if err != nil || !bytes.Contains(out, []byte("<string>mail.example.net</string>")) {
		t.Errorf("profile not signed by the server's certificate: %v\n%s", err, out)
	}
	// The user has the mobile feature: an Exchange ActiveSync account is
	// in the profile; without a second factor no password is.
	if !bytes.Contains(out, []byte("<string>com.apple.eas.account</string>")) {
		t.Errorf("no ActiveSync account in the profile:\n%s", out)
	}
	if bytes.Contains(out, []byte("<key>IncomingPassword</key>")) {
		t.Errorf("a password in the profile of a user without a second factor:\n%s", out)
	}

	// With a second factor (issue 18): the profile carries an app
	// password that logs in, and a newer profile replaces it.
	req, _ := http.NewRequest("PUT", "http://roost/v1/users/alice/totp", nil)
	if resp, err := admin.Do(req); err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("enable TOTP: %v %v", err, resp)
	}
	profilePassword := func() string {
		t.Helper()
		st, body := get("GET", "/profile.mobileconfig", "", "", "alice")
		if st != 200 {
			t.Fatalf("profile: %d %s", st, body)
		}
		os.WriteFile(f, []byte(body), 0o600)
		out, err := exec.Command("openssl", "smime", "-verify", "-inform", "DER", "-in", f,
			"-CAfile", filepath.Join(dir, "tls", "cert.pem"), "-purpose", "any").Output()
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		m := regexp.MustCompile(`<key>IncomingPassword</key>\s*<string>([^<]+)</string>`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no app password in the profile of a user with a second factor:\n%s", out)
		}
		for _, k := range []string{"OutgoingPassword", "CalDAVPassword", "CardDAVPassword", "Password"} {
			if !bytes.Contains(out, []byte("<key>"+k+"</key>")) {
				t.Errorf("profile lacks %s", k)
			}
		}
		return string(m[1])
	}
	imapOK := func(pw string) bool {
		c, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		r.ReadString('\n')
		return strings.HasPrefix(imapLine(t, c, r, "LOGIN alice@example.org "+pw), "t OK")
	}
	first := profilePassword()
	if !imapOK(first) {
		t.Fatal("the profile's app password does not log in to IMAP")
	}
	second := profilePassword()
	if second == first || !imapOK(second) {
		t.Fatal("a newer profile did not get a new working app password")
	}
	if imapOK(first) {
		t.Error("the older profile's app password still logs in")
	}
}
