package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

func hashOf(s string) string { return fmt.Sprintf("%064x", s)[:64] }

// testSecrets: tokens, app passwords and sessions are per user and kind,
// found by hash, managed by the user or an administrator of its tenant
// only, and gone with their user.
func testSecrets(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	lvl := store.AdminTenant
	must(b.CreateUser(sys, "acme", store.User{Login: "boss", Active: true}))
	must(b.UpdateUser(sys, "boss", store.UserUpdate{Admin: &lvl}))
	boss := as(t, b, "boss")

	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	tok := must(b.CreateSecret(f.alice, "alice", store.Secret{Kind: store.SecretToken, Name: "laptop",
		Scopes: []string{"jmap", "dav"}, Hash: hashOf("t1"), Expires: exp}))
	if tok.ID == 0 || tok.Login != "alice" || tok.UserID != f.aliceU.ID || tok.TenantID != f.aliceU.TenantID ||
		!slices.Equal(tok.Scopes, []string{"dav", "jmap"}) || !tok.Expires.Equal(exp) || tok.Created.IsZero() ||
		!tok.LastUsed.IsZero() || tok.Hash != "" {
		t.Fatalf("created %+v", tok)
	}
	// The same name again is a conflict; the same name of another kind
	// or another user is not.
	_, err := b.CreateSecret(f.alice, "alice", store.Secret{Kind: store.SecretToken, Name: "laptop", Hash: hashOf("t2")})
	wantErr(t, err, store.ErrConflict)
	must(b.CreateSecret(f.alice, "alice", store.Secret{Kind: store.SecretAppPassword, Name: "laptop", Hash: hashOf("a1")}))
	must(b.CreateSecret(boss, "bob", store.Secret{Kind: store.SecretToken, Name: "laptop", Hash: hashOf("t3")}))
	// Bad input.
	for _, s := range []store.Secret{
		{Kind: "cookie", Name: "x", Hash: hashOf("x")},
		{Kind: store.SecretToken, Name: "", Hash: hashOf("x")},
		{Kind: store.SecretToken, Name: "a\nb", Hash: hashOf("x")},
		{Kind: store.SecretToken, Name: strings.Repeat("n", 201), Hash: hashOf("x")},
		{Kind: store.SecretToken, Name: "x", Hash: "short"},
		{Kind: store.SecretToken, Name: "x", Hash: hashOf("x"), Scopes: []string{"a b"}},
	} {
		_, err := b.CreateSecret(f.alice, "alice", s)
		wantErr(t, err, store.ErrInvalid)
	}
	// Who may: the user, its tenant's administrator; not a peer (no
	// right), not another tenant (does not exist for eve).
	_, err = b.CreateSecret(f.bob, "alice", store.Secret{Kind: store.SecretToken, Name: "evil", Hash: hashOf("e1")})
	wantErr(t, err, store.ErrPermission)
	_, err = b.CreateSecret(f.eve, "alice", store.Secret{Kind: store.SecretToken, Name: "evil", Hash: hashOf("e2")})
	wantErr(t, err, store.ErrNotFound)
	_, err = b.ListSecrets(f.eve, "alice", store.SecretToken)
	wantErr(t, err, store.ErrNotFound)
	_, err = b.DeleteSecret(f.bob, "alice", store.SecretToken, "laptop")
	wantErr(t, err, store.ErrPermission)
	_, err = b.DeleteSecrets(f.eve, "alice", store.SecretToken)
	wantErr(t, err, store.ErrNotFound)
	l := must(b.ListSecrets(boss, "alice", store.SecretToken))
	if len(l) != 1 || l[0].Name != "laptop" || l[0].Hash != "" {
		t.Fatalf("boss lists %+v", l)
	}
	// The login path: by hash and kind, system only, hash included.
	_, err = b.SecretByHash(f.alice, store.SecretToken, hashOf("t1"))
	wantErr(t, err, store.ErrPermission)
	got := must(b.SecretByHash(sys, store.SecretToken, hashOf("t1")))
	if got.ID != tok.ID || got.Login != "alice" || got.Hash != hashOf("t1") {
		t.Fatalf("by hash %+v", got)
	}
	_, err = b.SecretByHash(sys, store.SecretAppPassword, hashOf("t1"))
	wantErr(t, err, store.ErrNotFound)
	// Last use never goes back; only the system records it.
	t1 := time.Now().Truncate(time.Microsecond)
	wantErr(t, b.TouchSecret(f.alice, tok.ID, t1), store.ErrPermission)
	check(b.TouchSecret(sys, tok.ID, t1))
	check(b.TouchSecret(sys, tok.ID, t1.Add(-time.Minute)))
	if got := must(b.SecretByHash(sys, store.SecretToken, hashOf("t1"))); !got.LastUsed.Equal(t1) {
		t.Fatalf("last used %v, want %v", got.LastUsed, t1)
	}
	// Revocation: gone at once, by name; a second time is not found.
	d := must(b.DeleteSecret(f.alice, "alice", store.SecretToken, "laptop"))
	if d.ID != tok.ID || d.UserID != f.aliceU.ID {
		t.Fatalf("deleted %+v", d)
	}
	_, err = b.SecretByHash(sys, store.SecretToken, hashOf("t1"))
	wantErr(t, err, store.ErrNotFound)
	_, err = b.DeleteSecret(f.alice, "alice", store.SecretToken, "laptop")
	wantErr(t, err, store.ErrNotFound)
	// Expired secrets of a kind are dropped when the user makes another.
	must(b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretSession, Name: "old", Hash: hashOf("s0"),
		Expires: time.Now().Add(-time.Second)}))
	must(b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretSession, Name: "new", Hash: hashOf("s1")}))
	if l := must(b.ListSecrets(sys, "alice", store.SecretSession)); len(l) != 1 || l[0].Name != "new" {
		t.Fatalf("sessions %+v", l)
	}
	// Sign out everywhere.
	must(b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretSession, Name: "new2", Hash: hashOf("s2")}))
	if n := must(b.DeleteSecrets(f.alice, "alice", store.SecretSession)); n != 2 {
		t.Fatalf("revoked %d sessions", n)
	}
	// A deleted user's secrets go with it.
	must(b.CreateSecret(sys, "bob", store.Secret{Kind: store.SecretAppPassword, Name: "phone", Hash: hashOf("a2")}))
	check(b.DeleteUser(sys, "bob"))
	_, err = b.SecretByHash(sys, store.SecretAppPassword, hashOf("a2"))
	wantErr(t, err, store.ErrNotFound)
	_, err = b.SecretByHash(sys, store.SecretToken, hashOf("t3"))
	wantErr(t, err, store.ErrNotFound)
}

// testSecretLimits: at most MaxSecretsPerUser of a kind, also under
// concurrent creation; a new session replaces the least recently used.
func testSecretLimits(t *testing.T, in *Instance) {
	b := in.Backend
	must(b.CreateTenant(sys, "acme"))
	must(b.CreateUser(sys, "acme", store.User{Login: "alice", Active: true}))
	n := store.MaxSecretsPerUser + 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretToken, Name: fmt.Sprint("t", i), Hash: hashOf(fmt.Sprint("t", i))})
		}()
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			wantErr(t, err, store.ErrInvalid)
			failed++
		}
	}
	if failed != 10 || len(must(b.ListSecrets(sys, "alice", store.SecretToken))) != store.MaxSecretsPerUser {
		t.Fatalf("%d refused, want 10", failed)
	}
	var first *store.Secret
	for i := range store.MaxSecretsPerUser {
		s := must(b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretSession, Name: fmt.Sprint("s", i), Hash: hashOf(fmt.Sprint("s", i))}))
		if i == 0 {
			first = s
		}
	}
	// Session s0 is used now, so s1 is the least recently used.
	check(b.TouchSecret(sys, first.ID, time.Now().Add(time.Minute)))
	must(b.CreateSecret(sys, "alice", store.Secret{Kind: store.SecretSession, Name: "one-more", Hash: hashOf("one-more")}))
	l := must(b.ListSecrets(sys, "alice", store.SecretSession))
	names := map[string]bool{}
	for _, s := range l {
		names[s.Name] = true
	}
	if len(l) != store.MaxSecretsPerUser || !names["s0"] || names["s1"] || !names["one-more"] {
		t.Fatalf("%d sessions, s0 %v s1 %v one-more %v", len(l), names["s0"], names["s1"], names["one-more"])
	}
}

// testTOTP: a user's TOTP key is set by the user or its tenant's
// administrator, read back only by the system, and each time step is
// accepted once even when two logins race with the same code.
func testTOTP(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	key := []byte("0123456789abcdefghij")
	_, err := b.GetTOTP(sys, "alice")
	wantErr(t, err, store.ErrNotFound)
	check(b.SetTOTP(f.alice, "alice", nil)) // disabling what is off is fine
	wantErr(t, b.SetTOTP(f.alice, "alice", []byte("short")), store.ErrInvalid)
	wantErr(t, b.SetTOTP(f.bob, "alice", key), store.ErrPermission)
	wantErr(t, b.SetTOTP(f.eve, "alice", key), store.ErrNotFound)
	check(b.SetTOTP(f.alice, "alice", key))
	got := must(b.GetTOTP(sys, "alice"))
	if string(got.Key) != string(key) || got.UserID != f.aliceU.ID || got.Enabled.IsZero() || got.LastStep != 0 {
		t.Fatalf("system reads %+v", got)
	}
	if own := must(b.GetTOTP(f.alice, "alice")); own.Key != nil || own.Enabled.IsZero() {
		t.Fatalf("the user reads its key back: %+v", own)
	}
	_, err = b.GetTOTP(f.eve, "alice")
	wantErr(t, err, store.ErrNotFound)
	_, err = b.UseTOTPStep(f.alice, f.aliceU.ID, 5)
	wantErr(t, err, store.ErrPermission)
	const n = 8
	var wg sync.WaitGroup
	wins := make(chan bool, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wins <- must(b.UseTOTPStep(sys, f.aliceU.ID, 100))
		}()
	}
	wg.Wait()
	close(wins)
	won := 0
	for w := range wins {
		if w {
			won++
		}
	}
	if won != 1 {
		t.Fatalf("step 100 accepted %d times", won)
	}
	if must(b.UseTOTPStep(sys, f.aliceU.ID, 99)) || !must(b.UseTOTPStep(sys, f.aliceU.ID, 101)) {
		t.Fatal("steps must only go forward")
	}
	// A new key starts afresh; disabling removes it; so does deleting the user.
	check(b.SetTOTP(sys, "alice", []byte("another key 12345678")))
	if must(b.GetTOTP(sys, "alice")).LastStep != 0 {
		t.Fatal("new key kept the old last step")
	}
	check(b.SetTOTP(f.alice, "alice", nil))
	_, err = b.GetTOTP(sys, "alice")
	wantErr(t, err, store.ErrNotFound)
	check(b.SetTOTP(sys, "bob", key))
	check(b.DeleteUser(sys, "bob"))
	if ok := must(b.UseTOTPStep(sys, f.bobU.ID, 200)); ok {
		t.Fatal("deleted user's TOTP still used")
	}
}

// testSSO: the OpenID provider's install-wide objects are for system
// administrators only; a name is unique per kind; private keys are read
// back only by the system principal.
func testSSO(t *testing.T, in *Instance) {
	b := in.Backend
	f := setup(t, b)
	c := store.SSOObject{Kind: store.SSOClient, Name: "nextcloud", Value: `{"redirect_uris":["https://cloud.example/x"]}`}
	wantErr(t, b.CreateSSO(f.alice, c), store.ErrPermission)
	check(b.CreateSSO(sys, c))
	wantErr(t, b.CreateSSO(sys, c), store.ErrConflict)
	wantErr(t, b.CreateSSO(sys, store.SSOObject{Kind: store.SSOClient}), store.ErrInvalid)
	check(b.CreateSSO(sys, store.SSOObject{Kind: store.SSOKey, Name: "k1", Value: "private"}))
	_, err := b.ListSSO(f.alice, store.SSOClient)
	wantErr(t, err, store.ErrPermission)
	l, err := b.ListSSO(sys, store.SSOClient)
	check(err)
	if len(l) != 1 || l[0].Name != "nextcloud" || l[0].Value != c.Value || l[0].Created.IsZero() {
		t.Fatalf("clients %+v", l)
	}
	admin := store.WithPrincipal(context.Background(), &store.Principal{Login: "root", Admin: store.AdminSystem})
	k, err := b.ListSSO(admin, store.SSOKey)
	check(err)
	if len(k) != 1 || k[0].Value != "" {
		t.Fatalf("keys as an administrator: %+v", k)
	}
	k, err = b.ListSSO(sys, store.SSOKey)
	check(err)
	if len(k) != 1 || k[0].Value != "private" {
		t.Fatalf("keys as the system: %+v", k)
	}
	wantErr(t, b.DeleteSSO(f.alice, store.SSOClient, "nextcloud"), store.ErrPermission)
	check(b.DeleteSSO(admin, store.SSOClient, "nextcloud"))
	wantErr(t, b.DeleteSSO(sys, store.SSOClient, "nextcloud"), store.ErrNotFound)
}
