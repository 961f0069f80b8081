package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/store"
)

// Authentication failures. Protocols answer all of them with the same
// generic message, so a client learns nothing about which accounts exist.
var (
	ErrBadCredentials = errors.New("invalid credentials")
	ErrThrottled      = errors.New("too many failed logins, try again later")
	ErrFeature        = errors.New("service disabled for this account")
	ErrInactive       = errors.New("account cannot log in")
)

// Authenticator checks passwords for every protocol, with one throttle
// shared by all of them.
type Authenticator struct {
	Store    store.Directory
	Throttle *auth.Throttle
	Log      *slog.Logger
	// DisabledFeatures returns disabled_features (nil: none).
	DisabledFeatures func() []string
	// MaxConcurrent bounds password checks running at once (each holds
	// the hash's memory); 0 means 4.
	MaxConcurrent int
	sleep         func(time.Duration)

	once  sync.Once
	slots chan struct{}
}

// check runs a password check within the concurrency bound.
func (a *Authenticator) check(ctx context.Context, hash, password string) error {
	a.once.Do(func() {
		n := a.MaxConcurrent
		if n <= 0 {
			n = 4
		}
		a.slots = make(chan struct{}, n)
	})
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.slots }()
	return auth.CheckPassword(hash, password)
}

// Authenticate checks login and password for a connection from remote,
// requiring feature ("imap", "pop3", "mobile", "web", "dav"; "" for none).
// It returns the principal to act as.
func (a *Authenticator) Authenticate(ctx context.Context, login, password string, remote net.Addr, feature string) (*store.Principal, error) {
	ip := hostOf(remote)
	if a.Throttle != nil {
		delay, banned := a.Throttle.Check(ip, login)
		if banned {
			a.log().Warn("login refused: throttled", "user", login, "ip", ip)
			return nil, ErrThrottled
		}
		if delay > 0 {
			sleep := a.sleep
			if sleep == nil {
				sleep = func(d time.Duration) {
					t := time.NewTimer(d)
					defer t.Stop()
					select {
					case <-t.C:
					case <-ctx.Done():
					}
				}
			}
			sleep(delay)
		}
	}
	sys := store.SystemContext(ctx)
	u, err := a.Store.GetUser(sys, login)
	if errors.Is(err, store.ErrNotFound) && len(password) <= auth.MaxPasswordLen {
		// Users may log in with their mail address too.
		u, err = a.Store.UserByAddress(sys, login)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("authenticate %q: %w", login, err)
		}
		a.check(ctx, dummyHash(), password) // same cost as a real check
		a.fail(ip, login, "unknown user")
		return nil, ErrBadCredentials
	}
	if err := a.check(ctx, u.PasswordHash, password); err != nil {
		a.fail(ip, login, "wrong password")
		return nil, ErrBadCredentials
	}
	if !u.Active {
		a.log().Warn("login refused: non-active account", "user", u.Login, "ip", ip)
		return nil, ErrInactive
	}
	if feature != "" {
		var disabled []string
		if a.DisabledFeatures != nil {
			disabled = a.DisabledFeatures()
		}
		if !slices.Contains(store.EffectiveFeatures(u, disabled), feature) {
			a.log().Warn("login refused: feature disabled", "user", u.Login, "feature", feature, "ip", ip)
			return nil, ErrFeature
		}
	}
	if a.Throttle != nil {
		a.Throttle.Succeed(ip, login)
	}
	p, err := a.Store.Principal(sys, u.Login)
	if err != nil {
		return nil, fmt.Errorf("authenticate %q: %w", login, err)
	}
	a.log().Info("login", "user", u.Login, "ip", ip, "feature", feature)
	return p, nil
}

func (a *Authenticator) fail(ip, login, why string) {
	if a.Throttle != nil {
		a.Throttle.Fail(ip, login)
	}
	a.log().Warn("login failed", "user", login, "ip", ip, "reason", why)
}

func (a *Authenticator) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

func hostOf(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}

// dummyHash is checked for unknown users so that timing does not tell
// which logins exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("roost-dummy-password")
	return h
})
