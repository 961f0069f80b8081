package auth

import (
	"strings"
	"testing"
)

func TestSecretFormats(t *testing.T) {
	tok, sess, pw := NewToken(), NewSessionToken(), NewAppPassword()
	if !IsToken(tok) || IsSessionToken(tok) || !IsSessionToken(sess) || IsToken(sess) {
		t.Fatalf("kinds: %q %q", tok, sess)
	}
	if IsToken(tok+"x") || IsToken(tok[:len(tok)-1]) || IsToken(strings.Replace(tok, "_t_", "_x_", 1)) {
		t.Fatal("malformed token accepted")
	}
	if tok == NewToken() || pw == NewAppPassword() {
		t.Fatal("secrets repeat")
	}
	n, ok := NormalAppPassword(pw)
	if !ok || len(pw) != 64 || strings.Count(pw, "-") != 12 || n != strings.ReplaceAll(pw, "-", "") {
		t.Fatalf("app password %q → %q %v", pw, n, ok)
	}
	for _, typed := range []string{strings.ToUpper(pw), strings.ReplaceAll(pw, "-", " "), n} {
		if m, ok := NormalAppPassword(typed); !ok || m != n {
			t.Fatalf("%q not recognised", typed)
		}
	}
	for _, not := range []string{"", "hunter2", n[:51], n + "a", strings.Replace(n, n[:1], "1", 1), tok} {
		if _, ok := NormalAppPassword(not); ok {
			t.Fatalf("%q taken for an app password", not)
		}
	}
	// Kinds never share hashes; the hash is hex SHA-256 sized.
	if h := SecretHash("token", tok); len(h) != 64 || h == SecretHash("session", tok) || h != SecretHash("token", tok) {
		t.Fatal("hash")
	}
}
