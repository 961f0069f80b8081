// Package auth verifies credentials: password hashing (argon2id), the
// in-memory cache of verified credentials (CredCache), the login throttle
// (Throttle), and later SASL mechanisms, OIDC and Kerberos.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommendation (m=19 MiB, t=2, p=1) is the
// default. A mail server checks a password on every IMAP, POP3 and SMTP
// login, often many at once; RFC 9106's 64 MiB per check made a few hundred
// parallel logins cost gigabytes. Hashes made with other parameters still
// verify (the parameters are read from the hash), and the directory
// rehashes them at the next login when the configured ones differ.
const (
	argonKeyLen = 32
	saltLen     = 16
	// MaxPasswordLen bounds what a client can make the server hash.
	MaxPasswordLen = 1024
	// Bounds CheckPassword accepts from a stored hash, and configuration
	// may set: 4 GiB, 16 passes, 255 lanes.
	maxArgonMemory  = 1 << 22 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 255
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// DefaultParams are OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Valid reports whether p is within what CheckPassword accepts and what
// argon2 needs (at least 8 KiB per lane).
func (p Params) Valid() error {
	switch {
	case p.Time < 1 || p.Time > maxArgonTime:
		return fmt.Errorf("argon2 time %d: must be 1 to %d", p.Time, maxArgonTime)
	case p.Threads < 1:
		return fmt.Errorf("argon2 threads %d: must be 1 to %d", p.Threads, maxArgonThreads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory:
		return fmt.Errorf("argon2 memory %d KiB: must be %d to %d", p.Memory, 8*uint32(p.Threads), maxArgonMemory)
	}
	return nil
}

// ErrMismatch is returned by CheckPassword for a wrong password.
var ErrMismatch = errors.New("password mismatch")

// HashPassword returns an encoded argon2id hash of pw with DefaultParams,
// in the PHC string format: $argon2id$v=19$m=19456,t=2,p=1$salt$hash.
func HashPassword(pw string) (string, error) {
	return HashPasswordWith(pw, DefaultParams)
}

// HashPasswordWith is HashPassword with chosen parameters.
func HashPasswordWith(pw string, p Params) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", MaxPasswordLen)
	}
	if err := p.Valid(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decoded is a parsed PHC argon2id string.
type decoded struct {
	p          Params
	salt, want []byte
}

func decode(encoded string) (decoded, error) {
	var d decoded
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return d, fmt.Errorf("unsupported password hash format")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return d, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &d.p.Memory, &d.p.Time, &d.p.Threads); err != nil {
		return d, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	if err := d.p.Valid(); err != nil { // t=0 would make argon2 panic
		return d, fmt.Errorf("argon2 parameters out of range %q: %w", parts[3], err)
	}
	b64 := base64.RawStdEncoding
	var err error
	if d.salt, err = b64.DecodeString(parts[4]); err != nil {
		return d, fmt.Errorf("bad salt: %w", err)
	}
	d.want, err = b64.DecodeString(parts[5])
	if err != nil || len(d.want) == 0 || len(d.want) > 64 {
		return d, fmt.Errorf("bad hash")
	}
	return d, nil
}

// CheckPassword compares pw with an encoded hash in constant time.
func CheckPassword(encoded, pw string) error {
	if encoded == "" || len(pw) > MaxPasswordLen {
		return ErrMismatch
	}
	d, err := decode(encoded)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pw), d.salt, d.p.Time, d.p.Memory, d.p.Threads, uint32(len(d.want)))
	if subtle.ConstantTimeCompare(got, d.want) != 1 {
		return ErrMismatch
	}
	return nil
}

// NeedsRehash reports whether a stored hash was made with parameters (or
// a key length or salt length) other than p, so that the caller, having
// just verified the password, should store a new hash made with p. An
// unreadable hash needs no rehash: it never verifies.
func NeedsRehash(encoded string, p Params) bool {
	d, err := decode(encoded)
	if err != nil {
		return false
	}
	return d.p != p || len(d.want) != argonKeyLen || len(d.salt) != saltLen
}

// RandomPassword returns a password of n characters from an unambiguous
// alphabet, for the first administrator.
func RandomPassword(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	rnd := make([]byte, n)
	if _, err := rand.Read(rnd); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(rnd[i])%len(alphabet)]
	}
	return string(b)
}
