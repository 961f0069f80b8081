package sieveserver_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/sieveserver"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

var sys = store.SystemContext(context.Background())

// cheapHash is an argon2id hash with tiny parameters (tests log in fast).
func cheapHash(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 8, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b.EncodeToString(salt), b.EncodeToString(key))
}

func password(login string) string { return "secret-" + login }

var (
	certOnce sync.Once
	certPair tls.Certificate
	certPool *x509.CertPool
	certPEM  []byte
)

func testCert() (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true, IsCA: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		certPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
		certPool = x509.NewCertPool()
		certPool.AddCert(cert)
		certPEM = []byte("-----BEGIN CERTIFICATE-----\n" + wrap64(base64.StdEncoding.EncodeToString(der)) + "-----END CERTIFICATE-----\n")
	})
	return certPair, certPool
}

func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	return b.String() + s + "\n"
}

type env struct {
	t    testing.TB
	db   *sqlstore.DB
	srv  *sieveserver.Server
	addr string
	dir  string
}

func openStore(t testing.TB) (*sqlstore.DB, string) {
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(dir, "roost.db"), Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateTenant(sys, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"alice", "bob"} {
		if _, err := db.CreateUser(sys, "acme", store.User{Login: l, Email: l + "@acme.test", Active: true, PasswordHash: cheapHash(password(l))}); err != nil {
			t.Fatal(err)
		}
	}
	return db, dir
}

func authenticator(b store.Backend) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
		sys := store.SystemContext(ctx)
		u, err := b.GetUser(sys, login)
		if err != nil {
			return nil, directory.ErrBadCredentials
		}
		if err := auth.CheckPassword(u.PasswordHash, pw); err != nil {
			return nil, directory.ErrBadCredentials
		}
		return b.Principal(sys, u.Login)
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("SIEVETEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newEnv(t testing.TB, mod func(*sieveserver.Options)) *env {
	t.Helper()
	db, dir := openStore(t)
	cert, _ := testCert()
	o := sieveserver.Options{Store: db, Logger: testLogger(), Hostname: "sieve.test",
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, Authenticate: authenticator(db),
		Limits: sieveserver.Limits{MaxLiteral: 64 << 10}}
	if mod != nil {
		mod(&o)
	}
	srv := sieveserver.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, false) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{t: t, db: db, srv: srv, addr: ln.Addr().String(), dir: dir}
}

// client is a raw ManageSieve client.
type client struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	cl := &client{t: e.t, c: c, r: bufio.NewReader(c)}
	cl.untilDone() // greeting: capabilities + OK
	return cl
}

func (c *client) line() string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s+"\r\n"); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// untilDone reads lines up to a final OK/NO/BYE; it returns the data lines
// (literals inlined) and the final line.
func (c *client) untilDone() ([]string, string) {
	c.t.Helper()
	var data []string
	for {
		l := c.line()
		if strings.HasPrefix(l, "OK") || strings.HasPrefix(l, "NO") || strings.HasPrefix(l, "BYE") {
			return data, l
		}
		if strings.HasPrefix(l, "{") && strings.HasSuffix(l, "}") {
			n, _ := strconv.Atoi(l[1 : len(l)-1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatal(err)
			}
			data = append(data, string(buf))
			continue
		}
		data = append(data, l)
	}
}

// cmd sends a command and checks the final line starts with want.
func (c *client) cmd(s, want string) []string {
	c.t.Helper()
	c.send(s)
	data, final := c.untilDone()
	if !strings.HasPrefix(final, want) {
		c.t.Fatalf("%q: got %q, want %s…", s, final, want)
	}
	return data
}

func (c *client) startTLS() {
	c.t.Helper()
	c.cmd("STARTTLS", "OK")
	_, pool := testCert()
	tc := tls.Client(c.c, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.c, c.r = tc, bufio.NewReader(tc)
	c.untilDone() // capabilities again
}

func (c *client) login(user string) {
	c.t.Helper()
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password(user)))
	c.cmd(`AUTHENTICATE "PLAIN" "`+resp+`"`, "OK")
}

func literal(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }
