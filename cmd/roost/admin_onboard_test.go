package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/onboard/nsdtest"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// newOnboardEnv is newAdminEnv with onboarding configured: public host
// mail.example.net, the usual ports, a self-signed ECDSA certificate.
func newOnboardEnv(t *testing.T) (*adminEnv, string) {
	t.Helper()
	dir := shortDir(t)
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.net"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := filepath.Join(dir, "cert.pem")
	os.WriteFile(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	svc := &onboard.Service{Props: db.DomainProps, User: db.GetUser, Settings: func() onboard.Settings {
		return onboard.Settings{Host: "mail.example.net", IMAP: 143, IMAPS: 993, Submission: 587, Submissions: 465, HTTPS: 443}
	}}
	e := &adminEnv{t: t, dir: dir, db: db}
	e.api = adminapi.New(db, adminapi.Options{Version: "test-7", LoginFormat: func() string { return "%u" },
		Onboard: svc, Certificate: func() tls.Certificate { return cert }})
	e.serve(dir, func(r *http.Request) (context.Context, error) { return store.SystemContext(r.Context()), nil })
	return e, certPEM
}

func TestAdminDomainDNSAndCheck(t *testing.T) {
	t.Parallel()
	e, _ := newOnboardEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("domain", "add", "example.org", "--tenant", "acme")
	e.fails(1, "not found", "domain", "dns", "unknown.test")
	// Another tenant's administrator does not see the domain at all.
	e.ok("tenant", "create", "globex")
	e.ok("user", "create", "gus", "--tenant", "globex", "--admin", "1")
	gus := e.serveAs("gus")
	for _, args := range [][]string{{"domain", "dns", "example.org"}, {"domain", "check", "example.org"},
		{"domain", "update", "example.org", "--public-hostname", "evil.example"}} {
		wantFail(t, runIn(gus, "", args...), 1, "not found", args)
	}
	// A tenant administrator may not point the server at a DNS server of their choice.
	e.ok("user", "create", "ann", "--tenant", "acme", "--admin", "1")
	ann := e.serveAs("ann")
	args := []string{"domain", "check", "example.org", "--resolver", "127.0.0.1:9"}
	wantFail(t, runIn(ann, "", args...), 1, "only system administrators", args)
	if out := runIn(ann, "", "domain", "dns", "example.org"); out.code != 0 || !strings.Contains(out.stdout, "IN MX") {
		t.Errorf("the tenant's admin: domain dns: %+v", out)
	}

	zone := e.ok("domain", "dns", "example.org")
	for _, want := range []string{
		"example.org. 3600 IN MX 10 mail.example.net.\n",
		`example.org. 3600 IN TXT "v=spf1 mx -all"`,
		"_imaps._tcp.example.org. 3600 IN SRV 0 1 993 mail.example.net.\n",
		"_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.net.\n",
		"_pop3s._tcp.example.org. 3600 IN SRV 0 0 0 .\n",
		"_caldavs._tcp.example.org. 3600 IN SRV 0 1 443 mail.example.net.\n",
		`_carddavs._tcp.example.org. 3600 IN TXT "path=/dav/"`,
		"autoconfig.example.org. 3600 IN CNAME mail.example.net.\n",
		"autodiscover.example.org. 3600 IN CNAME mail.example.net.\n",
		"mta-sts.example.org. 3600 IN CNAME mail.example.net.\n",
		`_dmarc.example.org. 3600 IN TXT "v=DMARC1;`,
		`_smtp._tls.example.org. 3600 IN TXT "v=TLSRPTv1;`,
	} {
		if !strings.Contains(zone, want) {
			t.Errorf("domain dns lacks %q:\n%s", want, zone)
		}
	}
	if strings.Contains(zone, "_domainkey") {
		t.Errorf("a DKIM record without a key:\n%s", zone)
	}
	// With a DKIM key, its record is among them, as `domain dkim --show` prints it.
	e.ok("domain", "dkim", "example.org", "--selector", "s1")
	dk := strings.TrimSpace(e.ok("domain", "dkim", "example.org", "--show"))
	zone = e.ok("domain", "dns", "example.org")
	if !strings.Contains(zone, strings.Replace(dk, ". IN TXT", ". 3600 IN TXT", 1)) {
		t.Errorf("domain dns lacks the DKIM record %q:\n%s", dk, zone)
	}

	// The records as printed, served by a real DNS server: all present.
	// (The zone file nsd reads is the output of domain dns.)
	good := nsdtest.Start(t, map[string]string{"example.org": zone})
	out := e.ok("domain", "check", "example.org", "--resolver", good)
	if strings.Count(out, "present ") != strings.Count(zone, " IN ") || strings.Contains(out, "missing") || strings.Contains(out, "wrong") {
		t.Errorf("domain check on the published zone:\n%s", out)
	}
	var res struct {
		Results []struct{ State string }
	}
	e.okJSON(&res, "domain", "check", "example.org", "--resolver", good)
	if len(res.Results) == 0 {
		t.Error("--json: no results")
	}

	// A resolver that is no address is refused at once, not looked up 24 times.
	e.fails(1, "not a DNS server address", "domain", "check", "example.org", "--resolver", "not a host")
	e.fails(1, "not a DNS server address", "domain", "check", "example.org", "--resolver", "127.0.0.1:99999")

	// A zone with one record changed and the rest missing: exit 1.
	bad := nsdtest.Start(t, map[string]string{"example.org": "@ IN MX 10 mx.elsewhere.test.\n"})
	r := e.run("", "domain", "check", "example.org", "--resolver", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "records are not in place") || !strings.Contains(r.stdout, "wrong") ||
		!strings.Contains(r.stdout, "mx.elsewhere.test.") || strings.Contains(r.stdout, "present") {
		t.Errorf("domain check on a bad zone: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A per-domain public host name.
	e.ok("domain", "update", "example.org", "--public-hostname", "imap.example.org")
	if z := e.ok("domain", "dns", "example.org"); !strings.Contains(z, "IN MX 10 imap.example.org.") {
		t.Errorf("public host name not used:\n%s", z)
	}
	e.fails(1, "not a valid host name", "domain", "update", "example.org", "--public-hostname", "bad host")
	e.ok("domain", "update", "example.org", "--public-hostname", "")
	if z := e.ok("domain", "dns", "example.org"); !strings.Contains(z, "IN MX 10 mail.example.net.") {
		t.Errorf("public host name not reset:\n%s", z)
	}
}

func TestAdminUserProfile(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	e, certPEM := newOnboardEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("domain", "add", "example.org", "--tenant", "acme")
	e.okIn("pw\n", "user", "create", "alice", "--email", "alice@example.org", "--name", "Alice", "--tenant", "acme", "--password-stdin")
	der := e.ok("user", "profile", "alice")
	f := filepath.Join(t.TempDir(), "alice.mobileconfig")
	os.WriteFile(f, []byte(der), 0o600)
	plist, err := exec.Command("openssl", "smime", "-verify", "-inform", "DER", "-in", f, "-CAfile", certPEM, "-purpose", "any").Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", "import plistlib,sys,json; json.dump(plistlib.loads(sys.stdin.buffer.read()), sys.stdout)")
	cmd.Stdin = strings.NewReader(string(plist))
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("plistlib: %v", err)
	}
	var m struct {
		PayloadType    string
		PayloadContent []map[string]any
	}
	if err := json.Unmarshal(js, &m); err != nil || m.PayloadType != "Configuration" || len(m.PayloadContent) != 3 {
		t.Fatalf("profile: %v %s", err, js)
	}
	e.fails(1, "not found", "user", "profile", "nobody")
}
