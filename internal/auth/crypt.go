package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/go-crypt/x/yescrypt"
)

// ErrCryptUnsupported: a crypt(3) hash of a method Roost cannot check
// (bcrypt, MD5, DES, or yescrypt parameters beyond maxYescryptMemory):
// the account cannot log in through Roost until its password is set
// again with yescrypt's or SHA-512's defaults.
var ErrCryptUnsupported = errors.New("unsupported crypt(3) hash method")

// CheckCrypt reports whether password matches a crypt(3) hash of the
// system's shadow file. It knows yescrypt ("$y$", libxcrypt's parameter
// subset, through github.com/go-crypt/x/yescrypt), and SHA-256-crypt ("$5$") and
// SHA-512-crypt ("$6$"), Ulrich Drepper's algorithm as glibc and
// libxcrypt implement it, with "rounds=" from 1000 to 999999999 (more
// than maxCryptRounds is refused: a shadow file is not a reason to spend
// minutes on one login). A locked ("!…", "*") or empty hash never
// matches.
func CheckCrypt(hashed, password string) (bool, error) {
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	if hashed == "" || hashed[0] == '!' || hashed[0] == '*' {
		return false, nil
	}
	var h func() hash.Hash
	var perm [][3]int
	var tail []int
	switch {
	case strings.HasPrefix(hashed, "$y$"):
		return checkYescrypt(hashed, password)
	case strings.HasPrefix(hashed, "$5$"):
		h, perm, tail = sha256.New, sha256Perm, []int{0, 31, 30}
	case strings.HasPrefix(hashed, "$6$"):
		h, perm, tail = sha512.New, sha512Perm, []int{0, 0, 63}
	default:
		method := hashed
		if i := strings.IndexByte(hashed[min(1, len(hashed)):], '$'); hashed[0] == '$' && i >= 0 {
			method = hashed[:i+2]
		} else {
			method = "DES"
		}
		return false, fmt.Errorf("%w: %s", ErrCryptUnsupported, method)
	}
	prefix := hashed[:3]
	rest := hashed[3:]
	rounds, custom := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i < 0 {
			return false, errors.New("crypt hash: rounds without salt")
		}
		n, err := strconv.Atoi(r[:i])
		if err != nil || n < 0 {
			return false, fmt.Errorf("crypt hash: bad rounds %q", r[:i])
		}
		if n > maxCryptRounds {
			return false, fmt.Errorf("%w: %d rounds (at most %d)", ErrCryptUnsupported, n, maxCryptRounds)
		}
		rounds, custom, rest = min(max(n, 1000), 999999999), true, r[i+1:]
	}
	i := strings.IndexByte(rest, '$')
	if i < 0 {
		return false, errors.New("crypt hash: no salt")
	}
	salt := rest[:min(i, 16)]
	got := shaCrypt(h, perm, tail, []byte(password), []byte(salt), rounds)
	want := prefix
	if custom {
		want += "rounds=" + strconv.Itoa(rounds) + "$"
	}
	want += salt + "$" + got
	return subtle.ConstantTimeCompare([]byte(want), []byte(hashed)) == 1, nil
}

// maxCryptRounds bounds the rounds of a hash CheckCrypt computes.
const maxCryptRounds = 5_000_000

var sha256Perm = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26},
	{27, 7, 17}, {18, 28, 8}, {9, 19, 29}}

var sha512Perm = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
	{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
	{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// shaCrypt is the SHA-crypt algorithm (Drepper, "Unix crypt using
// SHA-256 and SHA-512", 2008) returning the encoded digest.
func shaCrypt(newHash func() hash.Hash, perm [][3]int, tail []int, p, s []byte, rounds int) string {
	sum := func(parts ...[]byte) []byte {
		h := newHash()
		for _, x := range parts {
			h.Write(x)
		}
		return h.Sum(nil)
	}
	b := sum(p, s, p)
	size := len(b)
	a := newHash()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= size {
		a.Write(b[:min(n, size)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(b)
		} else {
			a.Write(p)
		}
	}
	ad := a.Sum(nil)
	dp := newHash()
	for range len(p) {
		dp.Write(p)
	}
	pp := repeatTo(dp.Sum(nil), len(p))
	ds := newHash()
	for range 16 + int(ad[0]) {
		ds.Write(s)
	}
	ss := repeatTo(ds.Sum(nil), len(s))
	c := ad
	for i := range rounds {
		h := newHash()
		if i&1 != 0 {
			h.Write(pp)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(ss)
		}
		if i%7 != 0 {
			h.Write(pp)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pp)
		}
		c = h.Sum(c[:0])
	}
	var out strings.Builder
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	for _, t := range perm {
		enc(c[t[0]], c[t[1]], c[t[2]], 4)
	}
	if size == 64 {
		enc(0, 0, c[tail[2]], 2)
	} else {
		enc(0, c[tail[1]], c[tail[2]], 3)
	}
	return out.String()
}

func repeatTo(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// maxYescryptMemory bounds the memory one yescrypt check may take
// (128·r·N bytes): libxcrypt's default "j9T" takes 16 MiB.
const maxYescryptMemory = 64 << 20

func checkYescrypt(hashed, password string) (bool, error) {
	// "$y$" then the parameters: "j", N as log2-1 and r-1, one
	// character each (the subset libxcrypt makes), "$", salt, "$", hash.
	if len(hashed) < 8 || hashed[3] != 'j' || hashed[6] != '$' {
		return false, fmt.Errorf("%w: yescrypt parameters %q", ErrCryptUnsupported, hashed[:min(len(hashed), 8)])
	}
	nlog2 := strings.IndexByte(cryptAlphabet, hashed[4]) + 1
	r := strings.IndexByte(cryptAlphabet, hashed[5]) + 1
	if nlog2 < 1 || r < 1 || nlog2 > 30 || int64(128*r)<<nlog2 > maxYescryptMemory {
		return false, fmt.Errorf("%w: yescrypt parameters %q need more than %d MiB", ErrCryptUnsupported, hashed[3:6], maxYescryptMemory>>20)
	}
	got, err := yescrypt.Hash([]byte(password), []byte(hashed))
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrCryptUnsupported, err)
	}
	return subtle.ConstantTimeCompare(got, []byte(hashed)) == 1, nil
}
