package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if err := CheckPassword(h, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "wrong horse"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "$bcrypt$x", "$argon2id$v=19$m=99999999,t=1,p=1$YWJj$YWJj",
		"$argon2id$v=19$m=8,t=0,p=1$YWJj$YWJj"} { // t=0 made argon2 panic
		if CheckPassword(bad, "x") == nil {
			t.Errorf("accepted hash %q", bad)
		}
	}
	if _, err := HashPassword(""); err == nil {
		t.Fatal("empty password hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", MaxPasswordLen+1)); err == nil {
		t.Fatal("huge password hashed")
	}
	if p := RandomPassword(20); len(p) != 20 {
		t.Fatal(p)
	}
}

func FuzzCheckPassword(f *testing.F) {
	h, _ := HashPassword("seed")
	f.Add(h, "seed")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", "x")
	f.Fuzz(func(t *testing.T, enc, pw string) {
		_ = CheckPassword(enc, pw)
	})
}

// BenchmarkCheckPassword is the cost of one argon2id check with the
// default parameters; x/crypto allocates the whole memory (19 MiB) on
// each call, which is why logins go through the credential cache and a
// bound on checks running at once.
//
//	go test -run '^$' -bench CheckPassword -benchmem ./internal/auth
func BenchmarkCheckPassword(b *testing.B) {
	h, err := HashPassword("correct horse")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := CheckPassword(h, "correct horse"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParams(t *testing.T) {
	p := Params{Memory: 64, Time: 3, Threads: 2}
	h, err := HashPasswordWith("pw", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=3,p=2$") || CheckPassword(h, "pw") != nil {
		t.Fatalf("hash %q", h)
	}
	if NeedsRehash(h, p) {
		t.Fatal("rehash with the same parameters")
	}
	for _, q := range []Params{DefaultParams, {Memory: 128, Time: 3, Threads: 2}, {Memory: 64, Time: 2, Threads: 2}, {Memory: 64, Time: 3, Threads: 1}} {
		if !NeedsRehash(h, q) {
			t.Errorf("no rehash from %+v to %+v", p, q)
		}
	}
	if NeedsRehash("garbage", p) {
		t.Fatal("rehash of an unreadable hash")
	}
	for _, bad := range []Params{{}, {Memory: 7, Time: 1, Threads: 1}, {Memory: 15, Time: 1, Threads: 2}, {Memory: 64, Time: 17, Threads: 1}, {Memory: 1<<22 + 1, Time: 1, Threads: 1}} {
		if _, err := HashPasswordWith("pw", bad); err == nil {
			t.Errorf("hashed with %+v", bad)
		}
	}
}

// FuzzNormalAppPassword: whatever a client sends as a password, the app
// password check never panics, and what it accepts is canonical (its own
// normal form, which decodes to 256 bits).
func FuzzNormalAppPassword(f *testing.F) {
	f.Add(NewAppPassword())
	f.Add(strings.ToUpper(strings.ReplaceAll(NewAppPassword(), "-", " ")))
	f.Add("password")
	f.Add(strings.Repeat("a", 52))
	f.Add(strings.Repeat("-", 200))
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalAppPassword(s)
		if !ok {
			return
		}
		if n2, ok2 := NormalAppPassword(n); !ok2 || n2 != n || len(n) != 52 {
			t.Fatalf("%q → %q, not canonical", s, n)
		}
	})
}
