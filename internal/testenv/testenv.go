// Package testenv is the shared test harness of Roost's black-box tests: a
// fresh store on SQLite or PostgreSQL with its blob store, tenants and users
// with cheap password hashes, a self-signed certificate, loopback listeners
// and a logger that writes to the test's log.
//
// It imports "testing", so internal/archtest treats it as test support:
// production code never imports it.
//
// The backend of a store is chosen per test (Options.Backend) or for a whole
// run with ROOST_TEST_BACKEND=postgres; PostgreSQL comes from
// ROOST_TEST_POSTGRES (an admin DSN of a throwaway cluster), one fresh
// database per store, dropped at cleanup. Without ROOST_TEST_POSTGRES a
// PostgreSQL test is skipped, unless ROOST_REQUIRE_POSTGRES is set (CI),
// where it fails.
package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/store/sqlstore"
)

// The backends a store can run on.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Sys is a system context (no principal, every tenant).
var Sys = store.SystemContext(context.Background())

// Backend is the backend a test runs on when it does not choose one:
// ROOST_TEST_BACKEND, or SQLite.
func Backend() string {
	if b := os.Getenv("ROOST_TEST_BACKEND"); b != "" {
		return b
	}
	return SQLite
}

// Backends returns the backends a test that runs on each should use:
// SQLite, and PostgreSQL when ROOST_TEST_POSTGRES is set. With
// ROOST_REQUIRE_POSTGRES set and no ROOST_TEST_POSTGRES it fails the test.
func Backends(t testing.TB) []string {
	t.Helper()
	if os.Getenv("ROOST_TEST_POSTGRES") != "" {
		return []string{SQLite, Postgres}
	}
	if os.Getenv("ROOST_REQUIRE_POSTGRES") != "" {
		t.Fatal("ROOST_TEST_POSTGRES is not set but ROOST_REQUIRE_POSTGRES is: run scripts/test.sh")
	}
	return []string{SQLite}
}

// PostgresDSN returns the admin DSN of the throwaway PostgreSQL cluster
// (ROOST_TEST_POSTGRES). Without it the test is skipped, unless
// ROOST_REQUIRE_POSTGRES is set, where it fails.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ROOST_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("ROOST_REQUIRE_POSTGRES") != "" {
			t.Fatal("ROOST_TEST_POSTGRES is not set but ROOST_REQUIRE_POSTGRES is: run scripts/test.sh")
		}
		t.Skip("ROOST_TEST_POSTGRES not set; scripts/test.sh starts PostgreSQL and sets it")
	}
	return dsn
}

var pgSeq atomic.Int64

// NewPostgresDB creates a fresh database in the test cluster, dropped at
// cleanup, and returns its DSN.
func NewPostgresDB(t testing.TB) string {
	t.Helper()
	admin := PostgresDSN(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("roost_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// schemaDB is the database that holds the per-test schemas: created once
// in the cluster and kept (the cluster is a throwaway), because CREATE
// DATABASE costs about a second on a busy machine and CREATE SCHEMA next
// to nothing.
const schemaDB = "roost_test_schemas"

var schemaOnce struct {
	sync.Once
	err error
}

// NewPostgresSchema creates a fresh schema in a database of the test
// cluster, dropped at cleanup, and returns a DSN whose connections use it
// (search_path). Roost's schema names no other schema and keeps nothing
// database-wide, so a schema isolates one test as a database would.
func NewPostgresSchema(t testing.TB) string {
	t.Helper()
	admin := PostgresDSN(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	schemaOnce.Do(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			schemaOnce.err = err
			return
		}
		defer db.Close()
		// Another test binary may create it at the same moment.
		if _, err := db.Exec("CREATE DATABASE " + schemaDB); err != nil && !strings.Contains(err.Error(), "already exists") &&
			!strings.Contains(err.Error(), "duplicate key") {
			schemaOnce.err = fmt.Errorf("create database %s: %w", schemaDB, err)
		}
	})
	if schemaOnce.err != nil {
		t.Fatal(schemaOnce.err)
	}
	u.Path = "/" + schemaDB
	shared := u.String()
	name := fmt.Sprintf("roost_t%d_%d", os.Getpid(), pgSeq.Add(1))
	db, err := sql.Open("pgx", shared)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for try := 0; ; try++ {
		_, err = db.Exec("CREATE SCHEMA " + name)
		// The database another binary is creating may not accept
		// connections yet.
		if err == nil || try == 50 || !strings.Contains(err.Error(), "does not exist") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", shared); err == nil {
			db.Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE")
			db.Close()
		}
	})
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Options says how to open a store.
type Options struct {
	// Backend is SQLite or Postgres; "" is Backend().
	Backend string
	// OnChange and BlobGrace are passed to sqlstore.Options.
	OnChange  func(storeID int64, seq uint64)
	BlobGrace time.Duration
	// Clock is passed to sqlstore.Options: a node whose clock is off.
	Clock func() time.Time
}

// Store is an open store and where it lives.
type Store struct {
	*sqlstore.DB
	Blobs   *fs.Store
	Dir     string // a temporary directory for the test (the blobs are in Dir/blobs)
	Backend string
	dsn     string
}

// Open opens a fresh, empty store, closed at cleanup.
func Open(t testing.TB, o Options) *Store {
	t.Helper()
	if o.Backend == "" {
		o.Backend = Backend()
	}
	dir := t.TempDir()
	blobs, err := fs.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	so := sqlstore.Options{Blobs: blobs, BlobGrace: o.BlobGrace, OnChange: o.OnChange, Clock: o.Clock}
	switch o.Backend {
	case SQLite:
		so.Driver, so.DSN = "sqlite", filepath.Join(dir, "roost.db")
	case Postgres:
		so.Driver, so.DSN = "postgres", NewPostgresSchema(t)
	default:
		t.Fatalf("unknown test backend %q (ROOST_TEST_BACKEND is sqlite or postgres)", o.Backend)
	}
	db, err := sqlstore.Open(context.Background(), so)
	if err != nil {
		t.Fatalf("open %s store: %v", o.Backend, err)
	}
	t.Cleanup(func() { db.Close() })
	return &Store{DB: db, Blobs: blobs, Dir: dir, Backend: o.Backend, dsn: so.DSN}
}

// Node opens a second handle on the same database and blobs, as another
// node of a cluster would; o.Backend is ignored. Closed at cleanup.
func (s *Store) Node(t testing.TB, o Options) *Store {
	t.Helper()
	driver := "sqlite"
	if s.Backend == Postgres {
		driver = "postgres"
	}
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: driver, DSN: s.dsn, Blobs: s.Blobs,
		BlobGrace: o.BlobGrace, OnChange: o.OnChange, Clock: o.Clock})
	if err != nil {
		t.Fatalf("open a second %s handle: %v", s.Backend, err)
	}
	t.Cleanup(func() { db.Close() })
	return &Store{DB: db, Blobs: s.Blobs, Dir: s.Dir, Backend: s.Backend, dsn: s.dsn}
}

// Tenants creates tenants.
func (s *Store) Tenants(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := s.CreateTenant(Sys, n); err != nil {
			t.Fatalf("create tenant %s: %v", n, err)
		}
	}
}

// User creates a user in tenant: Email defaults to login@tenant.test, and a
// non-empty password is stored as a cheap hash.
func (s *Store) User(t testing.TB, tenant string, u store.User, password string) *store.User {
	t.Helper()
	if u.Email == "" {
		u.Email = u.Login + "@" + tenant + ".test"
	}
	if password != "" {
		u.PasswordHash = CheapHash(password)
	}
	got, err := s.CreateUser(Sys, tenant, u)
	if err != nil {
		t.Fatalf("create user %s: %v", u.Login, err)
	}
	return got
}

// As returns a store context acting as login.
func As(t testing.TB, b store.Backend, login string) context.Context {
	t.Helper()
	p, err := b.Principal(Sys, login)
	if err != nil {
		t.Fatalf("principal %s: %v", login, err)
	}
	return store.WithPrincipal(context.Background(), p)
}

// Folder returns a folder of login's store by special role or name, read
// as ctx.
func Folder(t testing.TB, ctx context.Context, b store.Backend, login, nameOrRole string) *store.Folder {
	t.Helper()
	st, err := b.UserStore(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := b.ListFolders(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Special == nameOrRole || f.Name == nameOrRole {
			return f
		}
	}
	t.Fatalf("%s has no folder %q", login, nameOrRole)
	return nil
}

// CheapHash is an argon2id hash with tiny parameters, which
// auth.CheckPassword accepts (the parameters travel in the hash), so that
// tests log in fast.
func CheapHash(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 8, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b.EncodeToString(salt), b.EncodeToString(key))
}

// Authenticator is the password check the app supplies, reduced to what
// tests need: the user's password hash, active users only (unless
// allowInactive), the principal from the store.
func Authenticator(b store.Backend, allowInactive bool) func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
	return func(ctx context.Context, login, pw string, remote net.Addr) (*store.Principal, error) {
		sys := store.SystemContext(ctx)
		u, err := b.GetUser(sys, login)
		if err != nil {
			return nil, directory.ErrBadCredentials
		}
		if err := auth.CheckPassword(u.PasswordHash, pw); err != nil {
			return nil, directory.ErrBadCredentials
		}
		if !u.Active && !allowInactive {
			return nil, directory.ErrInactive
		}
		return b.Principal(sys, u.Login)
	}
}

// testCert is a self-signed certificate for localhost and 127.0.0.1.
type testCert struct {
	once sync.Once
	pair tls.Certificate
	pool *x509.CertPool
	pem  []byte
}

var leafCert, caCert testCert

func (c *testCert) get(isCA bool) (tls.Certificate, *x509.CertPool, []byte) {
	c.once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		if isCA {
			tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		c.pair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
		c.pool = x509.NewCertPool()
		c.pool.AddCert(cert)
		c.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
	return c.pair, c.pool, c.pem
}

// Cert returns a self-signed leaf certificate for localhost and 127.0.0.1
// (one per test binary), the pool that trusts it, and it in PEM. Clients
// such as mbsync accept it only as a pinned certificate, which is what the
// tests that hand it to them want.
func Cert() (tls.Certificate, *x509.CertPool, []byte) { return leafCert.get(false) }

// CACert is Cert marked as a CA, for clients that accept only a CA as
// their trust anchor (sieve-connect).
func CACert() (tls.Certificate, *x509.CertPool, []byte) { return caCert.get(true) }

// ServerTLS is a server configuration with Cert.
func ServerTLS() *tls.Config {
	c, _, _ := Cert()
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
}

// ClientTLS is a client configuration that trusts Cert, for localhost.
func ClientTLS() *tls.Config {
	_, pool, _ := Cert()
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// Listen opens a TCP listener on 127.0.0.1 with a free port, closed at
// cleanup (closing it twice is harmless).
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
