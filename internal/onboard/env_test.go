package onboard_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/onboard"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// env is a real store with tenant acme, domain example.org, user alice
// (password "secret-pw"), served by the onboarding endpoints.
type env struct {
	db      *sqlstore.DB
	svc     *onboard.Service
	srv     *httptest.Server
	cert    tls.Certificate
	certPEM string // file with the certificate, for openssl -CAfile
}

var testSettings = onboard.Settings{Host: "mail.example.net", IMAP: 143, IMAPS: 993, POP3: 0, POP3S: 995,
	Submission: 587, Submissions: 465, HTTPS: 443}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs, BlobGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sys := store.SystemContext(ctx)
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddDomain(sys, "acme", "example.org"); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPasswordWith("secret-pw", auth.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(sys, "acme", store.User{Login: "alice", Email: "alice@example.org", FullName: "Alice Liddell",
		Active: true, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, cert: selfSigned(t)}
	e.certPEM = filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(e.certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	e.svc = &onboard.Service{Props: db.DomainProps, User: db.GetUser, Settings: func() onboard.Settings { return testSettings }}
	authn := &directory.Authenticator{Store: db, Throttle: &auth.Throttle{}}
	mux := http.NewServeMux()
	e.svc.Mount(mux, onboard.HandlerOptions{
		Authenticate: func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
			return authn.Authenticate(ctx, login, pw, remote, "imap")
		},
		Certificate: func() tls.Certificate { return e.cert }})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "mail.example.net"},
		DNSNames: []string{"mail.example.net"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageEmailProtection}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// do sends a request with an optional Host header and returns status and body.
func (e *env) do(t *testing.T, method, path, host, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
