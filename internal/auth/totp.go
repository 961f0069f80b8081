package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP (RFC 6238) with the parameters every authenticator app uses by
// default: HMAC-SHA1, 30-second steps from the Unix epoch, 6 digits.
const (
	TOTPPeriod = 30 * time.Second
	TOTPDigits = 6
	// TOTPSkew is how many steps before and after the current one a code
	// is accepted for (RFC 6238 §5.2: allow for clock drift and the time
	// the user takes to type).
	TOTPSkew = 1
)

// NewTOTPKey returns a new 160-bit key (RFC 4226 §4 recommends 160).
func NewTOTPKey() []byte {
	k := make([]byte, 20)
	mustRand(k)
	return k
}

// TOTPStep is the time step t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// TOTPCode is the code for step (RFC 4226 §5.3's HOTP of the step).
func TOTPCode(key []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", TOTPDigits, v%1_000_000)
}

// CheckTOTP returns the step within TOTPSkew of now whose code is code,
// comparing in constant time, or false.
func CheckTOTP(key []byte, code string, now time.Time) (int64, bool) {
	if len(code) != TOTPDigits {
		return 0, false
	}
	cur := TOTPStep(now)
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		if subtle.ConstantTimeCompare([]byte(TOTPCode(key, cur+d)), []byte(code)) == 1 {
			return cur + d, true
		}
	}
	return 0, false
}

// TOTPKeyText is the key as authenticator apps take it typed: base32
// without padding.
func TOTPKeyText(key []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
}

// TOTPURI is the otpauth:// URI authenticator apps read from a QR code
// (Google Authenticator's Key Uri Format).
func TOTPURI(issuer, account string, key []byte) string {
	v := url.Values{}
	v.Set("secret", TOTPKeyText(key))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(TOTPDigits))
	v.Set("period", fmt.Sprint(int(TOTPPeriod/time.Second)))
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}
