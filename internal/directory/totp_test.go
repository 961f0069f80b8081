package directory_test

import (
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// TOTP as the web sign-in's second factor: the password alone is not
// enough, a code is accepted once, old and wrong codes are refused and
// throttled; the mail protocols keep working with app passwords.
func TestTOTPSignIn(t *testing.T) {
	e := newSecretsEnv(t)
	ctx := context.Background()
	alice := testenv.As(t, e.st, "alice")
	if _, _, err := e.a.EnableTOTP(testenv.As(t, e.st, "bob"), "alice"); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("bob enables alice's TOTP: %v", err)
	}
	keyText, uri, err := e.a.EnableTOTP(alice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(uri)
	if u.Scheme != "otpauth" || u.Query().Get("secret") != keyText || !strings.Contains(uri, "Roost:alice") {
		t.Fatalf("uri %s", uri)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(keyText)
	if err != nil || len(key) != 20 {
		t.Fatalf("key %q: %v", keyText, err)
	}
	code := func(d int64) string { return auth.TOTPCode(key, auth.TOTPStep(e.clock)+d) }

	if _, err := e.a.CreateSession(ctx, "alice", "pw", e.ip); !errors.Is(err, directory.ErrSecondFactor) {
		t.Fatalf("password alone: %v", err)
	}
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", "000000", e.ip); !errors.Is(err, directory.ErrBadCredentials) && code(0) != "000000" {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "wrong", code(0), e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("wrong password with a good code: %v", err)
	}
	s, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", code(0), e.ip)
	if err != nil || s.Principal.Login != "alice" {
		t.Fatalf("password and code: %v", err)
	}
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", code(0), e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("the same code again: %v", err)
	}
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", code(-1), e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("an older step after a newer one: %v", err)
	}
	e.clock = e.clock.Add(auth.TOTPPeriod)
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", code(5), e.ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("a code far from now: %v", err)
	}
	if _, err := e.a.CreateSessionTOTP(ctx, "alice", "pw", code(0), e.ip); err != nil {
		t.Fatalf("next step: %v", err)
	}
	// The mail protocols: app passwords, no code.
	pw, _, _ := e.a.CreateAppPassword(alice, "alice", "phone", []string{"imap"})
	if _, err := e.a.Authenticate(ctx, "alice", pw, e.ip, "imap"); err != nil {
		t.Fatal(err)
	}
	// A user without TOTP signs in with the password alone.
	if _, err := e.a.CreateSessionTOTP(ctx, "bob", "pw", "", e.ip); err != nil {
		t.Fatal(err)
	}
	// Code guessing is throttled.
	e.a.Throttle = &auth.Throttle{FreeFailures: 1, BaseDelay: time.Nanosecond, BanAfter: 3, PairBanAfter: 3}
	for range 3 {
		e.a.VerifyTOTP(ctx, "alice", "999999", e.ip)
	}
	e.clock = e.clock.Add(auth.TOTPPeriod)
	if err := e.a.VerifyTOTP(ctx, "alice", code(0), e.ip); !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("after guesses: %v", err)
	}
	if err := e.a.DisableTOTP(alice, "alice"); err != nil {
		t.Fatal(err)
	}
	if has, err := e.a.HasTOTP(alice, "alice"); has || err != nil {
		t.Fatalf("after disable: %v %v", has, err)
	}
}
