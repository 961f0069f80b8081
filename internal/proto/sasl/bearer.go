// Package sasl parses the client messages of SASL mechanisms that are
// more than a password: OAUTHBEARER (RFC 7628) and Google's XOAUTH2.
// Pure: no storage, no network; the token is checked by whoever calls.
package sasl

import (
	"encoding/json"
	"errors"
	"strings"
)

// MaxBearerMessage bounds a client's OAUTHBEARER or XOAUTH2 message
// (tokens from real providers are a few KiB).
const MaxBearerMessage = 16 << 10

// ErrMalformed is returned for a message that does not follow the
// mechanism's syntax.
var ErrMalformed = errors.New("malformed SASL bearer message")

// Bearer is what a client sent with OAUTHBEARER or XOAUTH2.
type Bearer struct {
	AuthzID string // a= of the GS2 header (OAUTHBEARER) or user= (XOAUTH2); may be empty
	Token   string // the bearer token
	Host    string // host= (OAUTHBEARER, optional)
	Port    string // port= (OAUTHBEARER, optional)
}

// ParseOAuthBearer parses an OAUTHBEARER client response (RFC 7628 §3.1):
//
//	gs2-header kvsep *(key "=" value kvsep) kvsep
//	gs2-header = "n," ["a=" saslname] ","   (channel binding not supported)
//	kvsep      = %x01
//
// with "auth=Bearer <token>" among the pairs.
func ParseOAuthBearer(msg []byte) (Bearer, error) {
	var b Bearer
	if len(msg) > MaxBearerMessage {
		return b, ErrMalformed
	}
	s := string(msg)
	// GS2 header: "n," or "y," (no channel binding), never "p=".
	if !strings.HasPrefix(s, "n,") && !strings.HasPrefix(s, "y,") {
		return b, ErrMalformed
	}
	s = s[2:]
	authz, rest, ok := strings.Cut(s, ",")
	if !ok {
		return b, ErrMalformed
	}
	if authz != "" {
		if !strings.HasPrefix(authz, "a=") {
			return b, ErrMalformed
		}
		name, err := saslname(authz[2:])
		if err != nil {
			return b, err
		}
		b.AuthzID = name
	}
	if !strings.HasPrefix(rest, "\x01") {
		return b, ErrMalformed
	}
	pairs, err := kvpairs(rest[1:])
	if err != nil {
		return b, err
	}
	b.Host, b.Port = pairs["host"], pairs["port"]
	if b.Token, err = bearerToken(pairs["auth"]); err != nil {
		return b, err
	}
	return b, nil
}

// ParseXOAuth2 parses an XOAUTH2 client response:
// "user=" user %x01 "auth=Bearer " token %x01 %x01.
func ParseXOAuth2(msg []byte) (Bearer, error) {
	var b Bearer
	if len(msg) > MaxBearerMessage {
		return b, ErrMalformed
	}
	pairs, err := kvpairs(string(msg))
	if err != nil {
		return b, err
	}
	b.AuthzID = pairs["user"]
	if b.Token, err = bearerToken(pairs["auth"]); err != nil {
		return b, err
	}
	return b, nil
}

// kvpairs reads key=value pairs each ended by %x01, then a final %x01.
func kvpairs(s string) (map[string]string, error) {
	if !strings.HasSuffix(s, "\x01") {
		return nil, ErrMalformed
	}
	out := map[string]string{}
	for {
		if s == "\x01" {
			return out, nil
		}
		pair, rest, ok := strings.Cut(s, "\x01")
		if !ok || rest == "" {
			return nil, ErrMalformed
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" || !isKey(k) {
			return nil, ErrMalformed
		}
		if _, dup := out[k]; dup {
			return nil, ErrMalformed
		}
		out[k] = v
		s = rest
	}
}

func isKey(k string) bool {
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// bearerToken takes the token out of "Bearer <token>" (RFC 6750 §2.1:
// the scheme is case-insensitive; b64token characters only).
func bearerToken(auth string) (string, error) {
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", ErrMalformed
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~+/", c) >= 0 || c == '=' && strings.Trim(tok[i:], "=") == "") {
			return "", ErrMalformed
		}
	}
	return tok, nil
}

// saslname decodes "=2C" and "=3D" (RFC 5801 §4); other "=" escapes and
// a bare "," are malformed.
func saslname(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ',':
			return "", ErrMalformed
		case '=':
			switch {
			case strings.HasPrefix(s[i:], "=2C"):
				b.WriteByte(',')
			case strings.HasPrefix(s[i:], "=3D"):
				b.WriteByte('=')
			default:
				return "", ErrMalformed
			}
			i += 2
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// ErrorChallenge is the server's JSON error challenge of a failed
// OAUTHBEARER exchange (RFC 7628 §3.2.2): the client answers it with a
// single %x01 and the server then fails the authentication.
func ErrorChallenge(status, scope, openIDConfiguration string) []byte {
	v := struct {
		Status string `json:"status"`
		Scope  string `json:"scope,omitempty"`
		Config string `json:"openid-configuration,omitempty"`
	}{status, scope, openIDConfiguration}
	out, _ := json.Marshal(v)
	return out
}
