package store

import (
	"context"
	"time"
)

// SecretKind says what a per-user secret is for.
type SecretKind string

// The kinds of per-user secrets. Each is a 256-bit random string handed
// to the user once; the store keeps only a keyed hash of it (auth.SecretHash),
// so a leaked database gives no usable credential.
const (
	// SecretToken is a bearer token (JMAP, DAV, SASL OAUTHBEARER/XOAUTH2),
	// limited to its Scopes.
	SecretToken SecretKind = "token"
	// SecretAppPassword is a password for one client, accepted instead of
	// the account's password on the protocols in Scopes.
	SecretAppPassword SecretKind = "app-password"
	// SecretSession is a web client login session.
	SecretSession SecretKind = "session"
)

// MaxSecretsPerUser bounds each kind of secret a user holds. Creating one
// more token or app password is refused (ErrInvalid); a new session
// replaces the user's least recently used one.
const MaxSecretsPerUser = 100

// Secret is a per-user token, app password or session. The secret itself
// is never stored: Hash is its keyed hash, and only the system principal
// reads it back (other callers get it empty).
type Secret struct {
	ID       int64
	UserID   int64
	TenantID int64
	Login    string // the owner's login (filled by the store)
	Kind     SecretKind
	Name     string   // unique per user and kind
	Scopes   []string // protocols or services it is good for; empty: all
	Hash     string
	Remote   string // the address it was created from, if any
	Created  time.Time
	Expires  time.Time // zero: never
	LastUsed time.Time // zero: never used
}

// Expired reports whether s is past its expiry at now.
func (s *Secret) Expired(now time.Time) bool {
	return !s.Expires.IsZero() && !now.Before(s.Expires)
}

// Secrets keeps users' tokens, app passwords and sessions. The user is
// named by login and checked like a user update: the user itself, or an
// administrator of its tenant (another tenant's user is ErrNotFound).
type Secrets interface {
	// CreateSecret stores s (Kind, Name, Hash required) for the user. A
	// name the user already has for that kind is ErrConflict; the user's
	// expired secrets of that kind are dropped on the way.
	CreateSecret(ctx context.Context, login string, s Secret) (*Secret, error)
	// ListSecrets returns the user's secrets of kind, by name.
	ListSecrets(ctx context.Context, login string, kind SecretKind) ([]*Secret, error)
	// SecretByHash finds a secret of kind by its hash, expired or not (the
	// caller decides). System principal only: it is the login path.
	SecretByHash(ctx context.Context, kind SecretKind, hash string) (*Secret, error)
	// DeleteSecret revokes one secret by name and returns what it was.
	DeleteSecret(ctx context.Context, login string, kind SecretKind, name string) (*Secret, error)
	// DeleteSecrets revokes all of the user's secrets of kind and returns
	// how many there were ("log out everywhere").
	DeleteSecrets(ctx context.Context, login string, kind SecretKind) (int, error)
	// TouchSecret records that secret id was used at at (never moving
	// LastUsed back). System principal only.
	TouchSecret(ctx context.Context, id int64, at time.Time) error
}

// TOTP is a user's time-based one-time password key (RFC 6238), the
// second factor of the web client's sign-in. The key must be readable to
// compute codes, so unlike the other secrets it is stored as it is, and
// only the system principal reads it back.
type TOTP struct {
	UserID   int64
	Login    string
	Key      []byte // the shared key; nil for callers other than the system
	Enabled  time.Time
	LastStep int64 // the latest time step a code was accepted for (no replay)
}

// TOTPs keeps users' TOTP keys. Users are named and checked as for
// Secrets.
type TOTPs interface {
	// SetTOTP enables TOTP for the user with key, replacing any key it
	// had; a nil key disables it (not having one is not an error).
	SetTOTP(ctx context.Context, login string, key []byte) error
	// GetTOTP returns the user's TOTP, ErrNotFound when it has none.
	GetTOTP(ctx context.Context, login string) (*TOTP, error)
	// UseTOTPStep records that a code for step was accepted, if step is
	// later than the last one accepted: false means the step (or a later
	// one) was used already, a replay. System principal only.
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
}
