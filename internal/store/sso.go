package store

import (
	"context"
	"time"
)

// The kinds of SSOObject.
const (
	// SSOClient is a client registered with Roost's OpenID provider
	// (Name: the client id; Value: its registration, as JSON).
	SSOClient = "oidc-client"
	// SSOKey is a signing key of Roost's OpenID provider (Name: the key
	// id; Value: the private key, as JSON).
	SSOKey = "oidc-key"
)

// The per-user secret kinds of Roost's OpenID provider: one row per
// authorization code and refresh token issued, deleted when it is used,
// so each is redeemed once on whichever node (the secret itself is a
// token signed by the provider; Name is its id).
const (
	SecretOIDCCode    SecretKind = "oidc-code"
	SecretOIDCRefresh SecretKind = "oidc-refresh"
)

// SSOObject is an install-wide record of Roost's OpenID provider, the
// same on every node of a cluster.
type SSOObject struct {
	Kind    string
	Name    string
	Value   string
	Created time.Time
}

// SSO keeps the OpenID provider's clients and signing keys. System
// administrators only; Value of SSOKey objects (private keys) is read
// back only by the system principal.
type SSO interface {
	// CreateSSO stores o; an object of the same Kind and Name is
	// ErrConflict.
	CreateSSO(ctx context.Context, o SSOObject) error
	// ListSSO returns the objects of kind, oldest first.
	ListSSO(ctx context.Context, kind string) ([]*SSOObject, error)
	// DeleteSSO deletes one object; ErrNotFound when there is none.
	DeleteSSO(ctx context.Context, kind, name string) error
}
