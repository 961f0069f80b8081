package ldap_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/directory/ldap"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// BenchmarkLogin compares logins per second (1e9 / ns/op, the
// logins of all goroutines together) through an LDAP bind over the warm
// connection pool (4 connections; no credential cache, so every login
// is a search and a bind by slapd of an {SSHA} password) with the db
// backend checking argon2id with Roost's default parameters (19 MiB, 2
// passes; no cache either), and with a credential cache hit:
//
//	go test -run '^$' -bench Login -benchtime 3s ./internal/directory/ldap
func BenchmarkLogin(b *testing.B) {
	hash, err := exec.Command("slappasswd", "-h", "{SSHA}", "-s", "alice-pw").Output()
	if err != nil {
		b.Skipf("slappasswd: %v", err)
	}
	e := newEnv(b, nil)
	e.srv.AddUser("alice", strings.TrimSpace(string(hash)), "alice@example.org")
	e.authn.Cache = nil
	e.authn.Throttle = nil
	ctx := context.Background()
	if _, err := e.login("alice", "alice-pw"); err != nil { // provisions alice, warms the pool
		b.Fatal(err)
	}
	run := func(b *testing.B, a *directory.Authenticator, login, pw string) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := a.Authenticate(ctx, login, pw, from, "imap"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("ldap-bind", func(b *testing.B) { run(b, e.authn, "alice", "alice-pw") })

	db := testenv.Open(b, testenv.Options{})
	db.Tenants(b, "acme")
	h, err := auth.HashPasswordWith("bob-pw", auth.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateUser(store.SystemContext(ctx), "acme", store.User{Login: "bob", Email: "bob@acme.test", Active: true, PasswordHash: h}); err != nil {
		b.Fatal(err)
	}
	b.Run("db-argon2id", func(b *testing.B) { run(b, &directory.Authenticator{Store: db.DB}, "bob", "bob-pw") })
	cached := &directory.Authenticator{Store: db.DB, Cache: auth.NewCredCache(100, time.Hour)}
	b.Run("db-cached", func(b *testing.B) { run(b, cached, "bob", "bob-pw") })
}

// TestGALMemory measures what serving global address list searches of
// a large directory costs Roost: set ROOST_LDAP_GAL_ENTRIES (e.g.
// 100000) to run it. The entries, and an address list selecting all of
// them, are made here and loaded with slapadd; then searches that match
// every entry (capped at MaxSearchResults by the server's size limit)
// run through Search and SearchList, and the test logs the Go heap
// in use, the bytes allocated per search, the time per search and
// slapd's resident memory. It checks the results, never the time.
//
//	ROOST_LDAP_GAL_ENTRIES=100000 go test ./internal/directory/ldap -run TestGALMemory -v -timeout 30m
func TestGALMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROOST_LDAP_GAL_ENTRIES"))
	if n <= 0 {
		t.Skip("set ROOST_LDAP_GAL_ENTRIES to run")
	}
	e := newEnv(t, func(c *ldap.Config) {
		c.AddrListFilter = "(objectClass=organizationalRole)"
		c.AddrListNameAttr, c.AddrListFilterAttr = "cn", "description"
	})
	var b strings.Builder
	b.WriteString("dn: cn=everyone-list," + testenv.SlapdSuffix + "\nobjectClass: organizationalRole\ncn: everyone-list\ndescription: (mail=*@example.org)\n\n")
	for i := range n {
		uid := fmt.Sprintf("user%06d", i)
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nuid: %s\ncn: Person %06d Example\nsn: Example\nmail: %s@example.org\nmailLocalAddress: p%06d@example.org\n\n",
			uid, testenv.SlapdPeople, uid, i, uid, i)
	}
	start := time.Now()
	e.srv.BulkLoad(b.String())
	t.Logf("%d entries loaded with slapadd in %s (LDIF %d MB)", n, time.Since(start).Round(time.Millisecond), b.Len()>>20)
	b.Reset()
	ctx := context.Background()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	for _, c := range []struct {
		name, list, query string
	}{{"whole book, \"example\" (every entry)", "", "example"}, {"address list of all entries, \"person\"", "everyone-list", "person"},
		{fmt.Sprintf("one entry, \"person %06d\"", n-1), "", fmt.Sprintf("person %06d", n-1)}} {
		want := ldap.MaxSearchResults
		if strings.HasPrefix(c.name, "one") {
			want = 1
		}
		if res, err := e.dir.SearchList(ctx, c.list, c.query, 0); err != nil || len(res) != want { // warm: pool, slapd's cache
			t.Fatalf("%s: %d results, %v", c.name, len(res), err)
		}
		const rounds = 20
		before := heap()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		var peak uint64 // heap in use right after a search, before any GC
		var el time.Duration
		for range rounds {
			t0 := time.Now()
			res, err := e.dir.SearchList(ctx, c.list, c.query, 0)
			el += time.Since(t0)
			if err != nil || len(res) != want {
				t.Fatalf("%s: %d results, %v", c.name, len(res), err)
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
		runtime.ReadMemStats(&m1)
		t.Logf("%s: %d results, %s a search, %d KB allocated a search, Go heap in use %.1f MB before, at most %.1f MB right after a search, %.1f MB after GC; slapd RSS %d MB",
			c.name, want, (el / rounds).Round(100*time.Microsecond), (m1.TotalAlloc-m0.TotalAlloc)/rounds>>10,
			float64(before)/(1<<20), float64(peak)/(1<<20), float64(heap())/(1<<20), e.srv.RSS()>>20)
	}
}
