package directory

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// ErrSecondFactor is CreateSession's answer for a user with TOTP enabled,
// after the right password: the web client must ask for a code and call
// CreateSessionTOTP. It is not a bad credential.
var ErrSecondFactor = errors.New("a second factor (TOTP code) is required")

// EnableTOTP gives login a new TOTP key (RFC 6238), replacing any it had,
// and returns it typed (base32) and as an otpauth:// URI for a QR code.
// ctx's principal must be the user or an administrator of its tenant.
// From then on the web client's sign-in needs a code (CreateSessionTOTP);
// the mail and DAV protocols do not, which is what app passwords are for.
func (a *Authenticator) EnableTOTP(ctx context.Context, login string) (key, uri string, err error) {
	k := auth.NewTOTPKey()
	if err := a.Store.SetTOTP(ctx, login, k); err != nil {
		return "", "", fmt.Errorf("enable TOTP for %q: %w", login, err)
	}
	issuer := a.TOTPIssuer
	if issuer == "" {
		issuer = "Roost"
	}
	return auth.TOTPKeyText(k), auth.TOTPURI(issuer, login, k), nil
}

// DisableTOTP removes login's TOTP key (ctx as for EnableTOTP).
func (a *Authenticator) DisableTOTP(ctx context.Context, login string) error {
	return a.Store.SetTOTP(ctx, login, nil)
}

// HasTOTP reports whether login has TOTP enabled (ctx as for EnableTOTP,
// or the system).
func (a *Authenticator) HasTOTP(ctx context.Context, login string) (bool, error) {
	_, err := a.Store.GetTOTP(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// VerifyTOTP checks a code for login's TOTP key: within one step of now,
// each step accepted once (a code seen by someone else cannot be
// replayed), guesses throttled like passwords. ErrBadCredentials for a
// wrong, reused or missing code or a user without TOTP.
func (a *Authenticator) VerifyTOTP(ctx context.Context, login, code string, remote net.Addr) error {
	ip := hostOf(remote)
	acct := "totp:" + login
	if a.Throttle != nil {
		delay, banned := a.Throttle.Check(ip, acct)
		if banned {
			a.Throttle.Refused(ip, acct)
			return ErrThrottled
		}
		if delay > 0 {
			a.wait(ctx, delay)
		}
	}
	sys := store.SystemContext(ctx)
	t, err := a.Store.GetTOTP(sys, login)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(ip, acct, "no TOTP key")
		return fmt.Errorf("%q has no TOTP key: %w", login, ErrBadCredentials)
	}
	if err != nil {
		return fmt.Errorf("TOTP of %q: %w", login, err)
	}
	step, ok := auth.CheckTOTP(t.Key, code, a.now())
	if !ok {
		a.fail(ip, acct, "wrong TOTP code")
		return fmt.Errorf("wrong TOTP code for %q: %w", login, ErrBadCredentials)
	}
	fresh, err := a.Store.UseTOTPStep(sys, t.UserID, step)
	if err != nil {
		return fmt.Errorf("TOTP of %q: %w", login, err)
	}
	if !fresh {
		a.fail(ip, acct, "TOTP code reused")
		return fmt.Errorf("TOTP code for %q used already: %w", login, ErrBadCredentials)
	}
	if a.Throttle != nil {
		a.Throttle.Succeed(ip, acct)
	}
	return nil
}

// CreateSessionTOTP is CreateSession with a second factor: the password,
// then, if the user has TOTP enabled, code. A user without TOTP signs in
// with the password alone (code is ignored).
func (a *Authenticator) CreateSessionTOTP(ctx context.Context, login, password, code string, remote net.Addr) (*Session, error) {
	p, err := a.Authenticate(WithAuthInfo(ctx, "web", "session"), login, password, remote, "web")
	if err != nil {
		return nil, err
	}
	has, err := a.HasTOTP(store.SystemContext(ctx), p.Login)
	if err != nil {
		return nil, err
	}
	if has {
		if err := a.VerifyTOTP(ctx, p.Login, code, remote); err != nil {
			return nil, err
		}
	}
	return a.OpenSession(ctx, p, remote)
}
