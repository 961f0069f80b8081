package directory

import "context"

// AuthEvent is the outcome of one Authenticate call, for metrics and the
// audit log. It never carries the password.
type AuthEvent struct {
	Login     string // as the client gave it
	User      string // the canonical login when the user exists, else ""
	IP        string
	Feature   string // the feature Authenticate required ("" for none)
	Protocol  string // WithAuthInfo's, else Feature, else "other"
	Mechanism string // WithAuthInfo's, else "password"
	OK        bool
	Reason    string // why it failed: "unknown user", "wrong password", "throttled", "inactive", "feature disabled", "error"; for tokens and app passwords also "invalid token", "out of scope", "expired", "wrong user"
}

type authInfoKey struct{}

type authInfo struct{ proto, mech string }

// WithAuthInfo tells Authenticate which protocol and mechanism a login
// came through, for AuthEvent (the feature alone does not say: SMTP and
// ManageSieve require none). Empty values keep the defaults.
func WithAuthInfo(ctx context.Context, protocol, mechanism string) context.Context {
	return context.WithValue(ctx, authInfoKey{}, authInfo{protocol, mechanism})
}

func (a *Authenticator) observe(ctx context.Context, ev AuthEvent) {
	if a.Observe == nil {
		return
	}
	info, _ := ctx.Value(authInfoKey{}).(authInfo)
	ev.Protocol, ev.Mechanism = info.proto, info.mech
	if ev.Protocol == "" {
		ev.Protocol = ev.Feature
	}
	if ev.Protocol == "" {
		ev.Protocol = "other"
	}
	if ev.Mechanism == "" {
		ev.Mechanism = "password"
	}
	a.Observe(ctx, ev)
}
