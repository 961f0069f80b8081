package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Per-user secrets (bearer tokens, app passwords, web sessions) are 256
// bits from crypto/rand, shown to the user once. Because they are random
// and that long, nobody can guess one from its hash, so a slow password
// hash (argon2id) would buy nothing: the store keeps HMAC-SHA256 of the
// secret, which costs a microsecond to check (issue 10: logins with app
// passwords and tokens stay cheap). The HMAC key is a fixed label per
// kind, for domain separation only (a token's hash never matches an app
// password's); it is not a secret, and needs none: what protects the
// stored hashes is the secrets' entropy.
//
// Formats, chosen so a server recognises the kind before any lookup:
//   - bearer token: "roost_t_" + 43 characters of unpadded base64url (RFC 6750
//     b64token characters only);
//   - web session: "roost_s_" + 43 characters of unpadded base64url;
//   - app password: 52 lowercase base32 characters in groups of four joined
//     by "-" (typed into mail clients, so no case or look-alike trouble;
//     spaces, dashes and case are ignored when checked).
const (
	TokenPrefix   = "roost_t_"
	SessionPrefix = "roost_s_"
	secretBytes   = 32
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns a new bearer token.
func NewToken() string { return TokenPrefix + randB64() }

// NewSessionToken returns a new web session token.
func NewSessionToken() string { return SessionPrefix + randB64() }

// NewAppPassword returns a new app password.
func NewAppPassword() string {
	var b [secretBytes]byte
	mustRand(b[:])
	s := strings.ToLower(b32.EncodeToString(b[:])) // 52 characters
	var out strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			out.WriteByte('-')
		}
		out.WriteString(s[i:min(i+4, len(s))])
	}
	return out.String()
}

func randB64() string {
	var b [secretBytes]byte
	mustRand(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func mustRand(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
}

// IsToken reports whether s has the shape of a Roost bearer token.
func IsToken(s string) bool { return hasB64Body(s, TokenPrefix) }

// IsSessionToken reports whether s has the shape of a web session token.
func IsSessionToken(s string) bool { return hasB64Body(s, SessionPrefix) }

func hasB64Body(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil
}

// NormalAppPassword returns the canonical form of an app password as a
// user may have typed it (any case, with or without the dashes, with
// spaces), and whether s has an app password's shape at all.
func NormalAppPassword(s string) (string, bool) {
	if len(s) > 80 {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	n := b.String()
	if len(n) != 52 {
		return "", false
	}
	raw, err := b32.DecodeString(strings.ToUpper(n))
	if err != nil || len(raw) != secretBytes {
		return "", false
	}
	return n, true
}

// SecretHash is what the store keeps of a secret of kind ("token",
// "app-password", "session"): hex HMAC-SHA256 keyed with the kind's label.
// App passwords are hashed in their canonical form (NormalAppPassword).
func SecretHash(kind, secret string) string {
	m := hmac.New(sha256.New, []byte("roost secret v1 "+kind))
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}
