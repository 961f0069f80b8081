package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
)

// SessionCookie is the web client's session cookie (internal/web's
// CookieName); the sign-in sets the same one so the web client finds the
// user signed in.
const SessionCookie = directory.SessionCookie

// flowCookie carries a sign-in's state, nonce and PKCE verifier from
// /auth/oidc/login to /auth/oidc/callback, so any node of a cluster can
// finish a sign-in another started. It is only the browser's own secret.
const flowCookie = "__Host-roost-oidc"

// flowTTL bounds how long a sign-in at the provider may take.
const flowTTL = 10 * time.Minute

// Sessions opens and ends web sessions (directory.Authenticator).
type Sessions interface {
	CreateSessionFor(ctx context.Context, login string, remote net.Addr) (*directory.Session, error)
	RevokeSession(ctx context.Context, token string) error
}

// Login serves the browser sign-in through the provider:
// GET /auth/oidc/login redirects to the provider's authorization endpoint
// (code flow, PKCE S256, state and nonce), GET /auth/oidc/callback checks
// state, exchanges the code, verifies the ID token (signature, iss, aud =
// client id, exp, nonce), opens a Roost web session and sets the web
// client's cookie.
type Login struct {
	RP       *RP
	Sessions Sessions
	// RedirectURI is Roost's /auth/oidc/callback as registered at the
	// provider (https://public-host/auth/oidc/callback).
	RedirectURI string
	// SetCookie sets the session cookie (nil: SetSessionCookie). The web
	// client may supply its own.
	SetCookie func(w http.ResponseWriter, token string, expires time.Time)
	// Done is where the browser goes once signed in ("/" when empty).
	Done string
}

// SetSessionCookie sets the web client's session cookie with the web
// client's attributes (Secure, HttpOnly, SameSite=Strict, Path=/).
func SetSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	c := &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if !expires.IsZero() {
		c.Expires = expires.UTC()
		c.MaxAge = max(int(time.Until(expires).Seconds()), 1)
	}
	http.SetCookie(w, c)
}

// Mount registers the two routes on mux.
func (l *Login) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/oidc/login", l.start)
	mux.HandleFunc("GET /auth/oidc/callback", l.callback)
	mux.HandleFunc("POST /auth/oidc/logout", l.logout)
}

// logout ends the Roost web session (cookie), clears the cookie and sends
// the browser to the provider's end_session_endpoint (RP-initiated
// logout) when it has one, else to Done. Same-origin POSTs only.
func (l *Login) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		page(w, http.StatusForbidden, "Cross-site sign-out refused.")
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := l.Sessions.RevokeSession(r.Context(), c.Value); err != nil {
			l.RP.cfg.Log.Error("oidc sign-out", "err", err)
			page(w, http.StatusServiceUnavailable, "Sign-out is temporarily unavailable. Try again later.")
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	done := l.Done
	if done == "" {
		done = "/"
	}
	if d, err := l.RP.Discover(r.Context()); err == nil && d.EndSessionEndpoint != "" {
		q := url.Values{"client_id": {l.RP.cfg.ClientID}}
		sep := "?"
		if strings.Contains(d.EndSessionEndpoint, "?") {
			sep = "&"
		}
		done = d.EndSessionEndpoint + sep + q.Encode()
	}
	http.Redirect(w, r, done, http.StatusSeeOther)
}

// sameOrigin is the one same-origin rule (directory.SameOrigin).
func sameOrigin(r *http.Request) bool { return directory.SameOrigin(r) }

func (l *Login) redirectURI() string { return l.RedirectURI }

// flow is what flowCookie holds.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

func random() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// S256 is the PKCE code challenge of verifier (RFC 7636 §4.2).
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (l *Login) start(w http.ResponseWriter, r *http.Request) {
	d, err := l.RP.Discover(r.Context())
	if err != nil {
		l.RP.cfg.Log.Error("oidc sign-in: provider unavailable", "err", err)
		page(w, http.StatusServiceUnavailable, "The sign-in provider cannot be reached. Try again later.")
		return
	}
	f := flow{State: random(), Nonce: random(), Verifier: random(), Expires: time.Now().Add(flowTTL).Unix()}
	data, _ := json.Marshal(f)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: base64.RawURLEncoding.EncodeToString(data), Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL.Seconds())})
	scopes := []string{"openid"}
	for _, s := range l.RP.cfg.Scopes {
		if s != "openid" {
			scopes = append(scopes, s)
		}
	}
	q := url.Values{"response_type": {"code"}, "client_id": {l.RP.cfg.ClientID}, "redirect_uri": {l.redirectURI()},
		"scope": {strings.Join(scopes, " ")}, "state": {f.State}, "nonce": {f.Nonce},
		"code_challenge": {S256(f.Verifier)}, "code_challenge_method": {"S256"}}
	sep := "?"
	if strings.Contains(d.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, d.AuthorizationEndpoint+sep+q.Encode(), http.StatusFound)
}

// readFlow reads and clears the flow cookie.
func readFlow(w http.ResponseWriter, r *http.Request) (*flow, error) {
	c, err := r.Cookie(flowCookie)
	if err != nil {
		return nil, errors.New("no sign-in in progress in this browser")
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/", Secure: true, HttpOnly: true, MaxAge: -1})
	if len(c.Value) > 1024 {
		return nil, errors.New("sign-in cookie too long")
	}
	data, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil, errors.New("bad sign-in cookie")
	}
	var f flow
	if err := json.Unmarshal(data, &f); err != nil || f.State == "" || f.Nonce == "" || f.Verifier == "" {
		return nil, errors.New("bad sign-in cookie")
	}
	if time.Now().Unix() > f.Expires {
		return nil, errors.New("the sign-in took too long")
	}
	return &f, nil
}

func (l *Login) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	f, err := readFlow(w, r)
	if err != nil {
		page(w, http.StatusBadRequest, "Sign-in failed: "+err.Error()+". Start again.")
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		page(w, http.StatusBadRequest, "Sign-in failed: the answer does not belong to this sign-in (state mismatch). Start again.")
		return
	}
	if e := q.Get("error"); e != "" {
		page(w, http.StatusForbidden, "The provider refused the sign-in ("+e+").")
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		page(w, http.StatusBadRequest, "Sign-in failed: no authorization code.")
		return
	}
	idToken, err := l.exchange(r.Context(), code, f.Verifier)
	if err != nil {
		l.RP.cfg.Log.Warn("oidc sign-in: code exchange failed", "remote", r.RemoteAddr, "err", err)
		page(w, http.StatusBadGateway, "Sign-in failed: the provider did not accept the sign-in.")
		return
	}
	ctx := r.Context()
	c, err := l.RP.Verify(ctx, idToken, []string{l.RP.cfg.ClientID})
	if err == nil && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(f.Nonce)) != 1 {
		err = fmt.Errorf("ID token nonce mismatch: %w", directory.ErrBadCredentials)
	}
	var login string
	if err == nil {
		login, err = l.RP.Login(ctx, c)
	}
	var sess *directory.Session
	if err == nil {
		sess, err = l.Sessions.CreateSessionFor(ctx, login, directory.RemoteAddr(r))
	}
	if err != nil {
		if errors.Is(err, directory.ErrBadCredentials) || errors.Is(err, directory.ErrInactive) || errors.Is(err, directory.ErrFeature) {
			l.RP.cfg.Log.Warn("oidc sign-in refused", "remote", r.RemoteAddr, "err", err)
			page(w, http.StatusForbidden, "Sign-in refused: this account cannot use Roost's web client.")
			return
		}
		l.RP.cfg.Log.Error("oidc sign-in", "remote", r.RemoteAddr, "err", err)
		w.Header().Set("Retry-After", "60")
		page(w, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again later.")
		return
	}
	set := l.SetCookie
	if set == nil {
		set = SetSessionCookie
	}
	set(w, sess.Token, sess.Expires)
	done := l.Done
	if done == "" {
		done = "/"
	}
	// A page that moves on, not a redirect: the browser came here from the
	// provider's site, and a SameSite=Strict cookie is only sent on a
	// navigation that starts on Roost's own page.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	doneTmpl.Execute(w, done)
}

var doneTmpl = template.Must(template.New("done").Parse(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.}}"><title>Signed in</title></head><body><p>Signed in. <a href="{{.}}">Continue</a>.</p></body></html>`))

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Sign-in</title></head><body><p>{{.}}</p><p><a href="/">Back to Roost</a></p></body></html>`))

// page answers with a short HTML message.
func page(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	pageTmpl.Execute(w, msg)
}

// exchange trades the code for tokens at the token endpoint and returns
// the ID token.
func (l *Login) exchange(ctx context.Context, code, verifier string) (string, error) {
	d, err := l.RP.Discover(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {l.redirectURI()},
		"code_verifier": {verifier}, "client_id": {l.RP.cfg.ClientID}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if l.RP.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(l.RP.cfg.ClientID), url.QueryEscape(l.RP.cfg.ClientSecret))
	}
	resp, err := l.RP.cfg.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocSize))
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: %s: %.200s", resp.Status, data)
	}
	var tr struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(data, &tr); err != nil || tr.IDToken == "" {
		return "", fmt.Errorf("token endpoint: no id_token in the answer")
	}
	return tr.IDToken, nil
}
