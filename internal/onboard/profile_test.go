package onboard_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/onboard"
)

// verifyProfile checks a signed profile with openssl (signature against
// the certificate as trust anchor) and reads the plist it carries with
// Python's plistlib, returning the plist as JSON-decoded data.
func verifyProfile(t *testing.T, der []byte, certPEM string) map[string]any {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "p.mobileconfig")
	if err := os.WriteFile(in, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "smime", "-verify", "-inform", "DER", "-in", in, "-CAfile", certPEM, "-purpose", "any").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("openssl smime -verify: %v %s", err, stderr)
	}
	py := `import plistlib, sys, json
p = plistlib.loads(sys.stdin.buffer.read())
json.dump(p, sys.stdout)`
	cmd := exec.Command("/usr/bin/python3", "-c", py)
	cmd.Stdin = strings.NewReader(string(out))
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("plistlib: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProfileDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, _ := e.do(t, "GET", "/profile.mobileconfig", "", "")
	if st != 401 {
		t.Errorf("without a login: %d", st)
	}
	st, _ = e.do(t, "GET", "/profile.mobileconfig", "", "", "Authorization", "Basic "+b64("alice:wrong"))
	if st != 401 {
		t.Errorf("wrong password: %d", st)
	}
	st, body := e.do(t, "GET", "/profile.mobileconfig", "", "", "Authorization", "Basic "+b64("alice@example.org:secret-pw"))
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	m := verifyProfile(t, []byte(body), e.certPEM)
	if m["PayloadType"] != "Configuration" || m["PayloadVersion"] != 1.0 {
		t.Errorf("top level: %v", m)
	}
	content, _ := m["PayloadContent"].([]any)
	types := map[string]map[string]any{}
	for _, c := range content {
		p := c.(map[string]any)
		types[p["PayloadType"].(string)] = p
		for _, k := range []string{"PayloadUUID", "PayloadIdentifier", "PayloadVersion"} {
			if p[k] == nil {
				t.Errorf("%s lacks %s", p["PayloadType"], k)
			}
		}
	}
	mail := types["com.apple.mail.managed"]
	if mail == nil || mail["IncomingMailServerHostName"] != "mail.example.net" || mail["IncomingMailServerPortNumber"] != 993.0 ||
		mail["IncomingMailServerUseSSL"] != true || mail["OutgoingMailServerPortNumber"] != 465.0 || mail["EmailAddress"] != "alice@example.org" ||
		mail["IncomingMailServerUsername"] != "alice@example.org" || mail["EmailAccountType"] != "EmailTypeIMAP" {
		t.Errorf("mail payload: %v", mail)
	}
	if c := types["com.apple.caldav.account"]; c == nil || c["CalDAVPrincipalURL"] != "https://mail.example.net/dav/principals/alice/" || c["CalDAVPort"] != 443.0 {
		t.Errorf("caldav payload: %v", c)
	}
	if c := types["com.apple.carddav.account"]; c == nil || c["CardDAVHostName"] != "mail.example.net" || c["CardDAVUseSSL"] != true {
		t.Errorf("carddav payload: %v", c)
	}
	if strings.Contains(body, "secret-pw") {
		t.Error("the password is in the profile")
	}
}

// TestSignRSA: an RSA server key signs as well as the ECDSA one.
func TestSignRSA(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rsa.example.net"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := filepath.Join(t.TempDir(), "rsa.pem")
	os.WriteFile(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	a := onboard.Account{Address: "bob@example.org", Username: "bob@example.org", Domain: "example.org", Settings: testSettings}
	signed, err := onboard.Sign(onboard.MobileConfig(onboard.ProfileUser{Login: "bob", Address: "bob@example.org", FullName: "Bob & <Co>"}, a),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := verifyProfile(t, signed, certPEM)
	if m["PayloadDisplayName"] != "Roost: bob@example.org" {
		t.Errorf("plist: %v", m)
	}
	// A different trust anchor must not verify.
	other := newEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p"), signed, 0o600)
	if exec.Command("openssl", "smime", "-verify", "-inform", "DER", "-in", filepath.Join(dir, "p"), "-CAfile", other.certPEM, "-purpose", "any").Run() == nil {
		t.Error("verified against the wrong certificate")
	}
}
