package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// maxParam bounds every request parameter of the provider's endpoints.
const maxParam = 2048

// Mount serves the provider's endpoints on mux.
func (p *Provider) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /oidc/jwks", p.jwks)
	mux.HandleFunc("GET /oidc/authorize", p.authorize)
	mux.HandleFunc("POST /oidc/authorize", p.authorize)
	mux.HandleFunc("POST /oidc/token", p.token)
	mux.HandleFunc("GET /oidc/userinfo", p.userinfo)
	mux.HandleFunc("POST /oidc/userinfo", p.userinfo)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (p *Provider) unavailable(w http.ResponseWriter, what string, err error) {
	p.log().Error("oidc provider: "+what, "err", err)
	w.Header().Set("Retry-After", "60")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
}

// discovery answers once at least one client is registered.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	cs, err := p.Store.ListSSO(store.SystemContext(r.Context()), store.SSOClient)
	if err != nil {
		p.unavailable(w, "discovery", err)
		return
	}
	if len(cs) == 0 {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/oidc/authorize",
		"token_endpoint":                        p.Issuer + "/oidc/token",
		"userinfo_endpoint":                     p.Issuer + "/oidc/userinfo",
		"jwks_uri":                              p.Issuer + "/oidc/jwks",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      knownScopes,
		"claims_supported":                      []string{"sub", "email", "email_verified", "name", "preferred_username"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	keys, err := p.signingKeys(r.Context())
	if err != nil {
		p.unavailable(w, "jwks", err)
		return
	}
	set := map[string]any{}
	var pub []any
	for _, k := range keys {
		pub = append(pub, k.Public())
	}
	set["keys"] = pub
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	json.NewEncoder(w).Encode(set)
}

// authReq is an authorization request's parameters.
type authReq struct {
	ClientID, RedirectURI, Scope, State, Nonce, Challenge string
}

func (a authReq) values() url.Values {
	return url.Values{"client_id": {a.ClientID}, "redirect_uri": {a.RedirectURI}, "scope": {a.Scope}, "state": {a.State},
		"nonce": {a.Nonce}, "code_challenge": {a.Challenge}, "code_challenge_method": {"S256"}, "response_type": {"code"}}
}

// redirectError sends the browser back to the client with an error
// (RFC 6749 §4.1.2.1): only after the redirect URI was matched exactly.
func redirectError(w http.ResponseWriter, r *http.Request, a authReq, code, desc string) {
	q := url.Values{"error": {code}, "error_description": {desc}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusFound)
}

func withQuery(u string, q url.Values) string {
	if strings.Contains(u, "?") {
		return u + "&" + q.Encode()
	}
	return u + "?" + q.Encode()
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Bad request.")
		return
	}
	for k, v := range r.Form {
		if len(v) != 1 || len(v[0]) > maxParam || len(k) > 64 {
			page(w, http.StatusBadRequest, "Bad request: parameter "+k+" repeated or too long.")
			return
		}
	}
	f := r.Form.Get
	a := authReq{ClientID: f("client_id"), RedirectURI: f("redirect_uri"), Scope: f("scope"), State: f("state"), Nonce: f("nonce"), Challenge: f("code_challenge")}
	ctx := r.Context()
	c, err := p.client(ctx, a.ClientID)
	if err != nil {
		p.log().Error("oidc provider: authorize", "err", err)
		page(w, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again later.")
		return
	}
	// Until the client and the exact redirect URI are known, errors are
	// shown here, never redirected: no open redirect.
	if c == nil {
		page(w, http.StatusBadRequest, "Unknown application (client_id).")
		return
	}
	if !slices.Contains(c.RedirectURIs, a.RedirectURI) {
		page(w, http.StatusBadRequest, "The application's redirect_uri is not one registered for it.")
		return
	}
	if f("response_type") != "code" {
		redirectError(w, r, a, "unsupported_response_type", "only the authorization code flow (response_type=code)")
		return
	}
	scopes := grantScopes(a.Scope)
	if !slices.Contains(scopes, "openid") {
		redirectError(w, r, a, "invalid_scope", "scope must include openid")
		return
	}
	a.Scope = strings.Join(scopes, " ")
	// PKCE (RFC 7636): S256 only, required of public clients; "plain"
	// (or a challenge without a method, which means plain) is refused.
	if a.Challenge != "" && f("code_challenge_method") != "S256" {
		redirectError(w, r, a, "invalid_request", "code_challenge_method must be S256")
		return
	}
	if a.Challenge == "" && c.Public {
		redirectError(w, r, a, "invalid_request", "PKCE (code_challenge with S256) is required")
		return
	}
	if a.Challenge != "" && (len(a.Challenge) != 43 || strings.Trim(a.Challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "") {
		redirectError(w, r, a, "invalid_request", "code_challenge is not a base64url SHA-256")
		return
	}
	setCSP(w, a.RedirectURI)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	remote := directory.RemoteAddr(r)
	if r.Method == http.MethodPost && !sameOrigin(r) {
		// The forms post to this page only: another origin's POST (a
		// sibling subdomain's too) is login CSRF or a forged consent.
		page(w, http.StatusForbidden, "Cross-site request refused.")
		return
	}
	switch {
	case r.Method == http.MethodPost && f("action") == "login":
		var sess *directory.Session
		var err error
		if f("code") != "" {
			sess, err = p.Auth.CreateSessionTOTP(ctx, f("login"), f("password"), f("code"), remote)
		} else {
			sess, err = p.Auth.CreateSession(ctx, f("login"), f("password"), remote)
		}
		switch {
		case err == nil:
			set := p.SetCookie
			if set == nil {
				set = SetSessionCookie
			}
			set(w, sess.Token, sess.Expires)
			p.consent(w, r, a, c, sess.Principal.Login)
		case errors.Is(err, directory.ErrSecondFactor):
			// The password was right: ask for it again with the code (the
			// password is not kept in the page).
			totpPage(w, http.StatusUnauthorized, a, f("login"), "This account has a second factor: enter your password and the code from your authenticator app.")
		case errors.Is(err, directory.ErrBadCredentials) && f("code") != "":
			totpPage(w, http.StatusUnauthorized, a, f("login"), "Wrong password or code.")
		case errors.Is(err, directory.ErrBadCredentials), errors.Is(err, directory.ErrInactive), errors.Is(err, directory.ErrFeature):
			loginPage(w, http.StatusUnauthorized, a, "Wrong login or password.")
		default:
			if !errors.Is(err, directory.ErrThrottled) {
				p.log().Error("oidc provider: sign-in", "remote", r.RemoteAddr, "err", err)
			}
			w.Header().Set("Retry-After", "60")
			loginPage(w, http.StatusServiceUnavailable, a, "Sign-in is temporarily unavailable. Try again later.")
		}
	case r.Method == http.MethodPost && f("action") == "allow" || f("action") == "deny":
		if r.Method != http.MethodPost {
			page(w, http.StatusMethodNotAllowed, "Bad request.")
			return
		}
		_, in, err := p.verifyOwn(ctx, f("ticket"), "consent")
		if err != nil || in.ClientID != a.ClientID || in.Redirect != a.RedirectURI || in.Scope != a.Scope || in.State != a.State || in.Nonce != a.Nonce || in.CC != a.Challenge {
			page(w, http.StatusBadRequest, "This consent page expired or does not belong to this request. Start again.")
			return
		}
		if f("action") == "deny" {
			redirectError(w, r, a, "access_denied", "the user refused")
			return
		}
		code, err := p.issueCode(ctx, a, in.Login)
		if err != nil {
			p.log().Error("oidc provider: code", "err", err)
			redirectError(w, r, a, "temporarily_unavailable", "try again later")
			return
		}
		q := url.Values{"code": {code}}
		if a.State != "" {
			q.Set("state", a.State)
		}
		q.Set("iss", p.Issuer) // RFC 9207
		http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusFound)
	default:
		if ck, err := r.Cookie(SessionCookie); err == nil {
			if s, err := p.Auth.VerifySession(ctx, ck.Value, remote); err == nil {
				p.consent(w, r, a, c, s.Principal.Login)
				return
			}
		}
		if r.Method == http.MethodGet && f(renavParam) == "" && !sameSiteFetch(r) {
			// The browser came from the application's site, and the web
			// session cookie is SameSite=Strict: it was not sent. A page
			// of this site that moves on to the same request makes a
			// same-site navigation, which carries it, so a user signed in
			// to the web client (with a second factor too) is not asked
			// again. The marker stops a second round when there is none.
			q := r.URL.Query()
			q.Set(renavParam, "1")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			renavTmpl.Execute(w, "/oidc/authorize?"+q.Encode())
			return
		}
		if f("prompt") == "none" {
			redirectError(w, r, a, "login_required", "no web session")
			return
		}
		loginPage(w, http.StatusOK, a, "")
	}
}

// renavParam marks an authorization request re-navigated from the
// provider's own page (renavTmpl).
const renavParam = "roost_renav"

// sameSiteFetch reports whether the browser says the request comes from
// this site or the user (Fetch Metadata): its SameSite=Strict cookies
// were sent, so re-navigating would not add them. Without the header (an
// older browser) the request is taken as cross-site.
func sameSiteFetch(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "same-site", "none":
		return true
	}
	return false
}

var renavTmpl = template.Must(template.New("renav").Parse(`<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.}}"><title>Sign in with Roost</title></head><body><p><a href="{{.}}">Continue</a></p></body></html>`))

// setCSP: nothing but the page itself; forms post here and end at the
// client's redirect URI (form-action applies to the redirect too).
func setCSP(w http.ResponseWriter, redirect string) {
	fa := "'self'"
	if u, err := url.Parse(redirect); err == nil {
		fa += " " + u.Scheme + "://" + u.Host
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action "+fa+"; frame-ancestors 'none'; base-uri 'none'")
}

// consent shows the consent page with a ticket binding the user to this
// request: the POST that follows needs no password again and cannot be
// made for another user or another request.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request, a authReq, c *Client, login string) {
	now := p.now()
	ticket, err := p.sign(r.Context(), "JWT", jwt.Claims{Issuer: p.Issuer, Expiry: jwt.NewNumericDate(now.Add(consentTTL)), IssuedAt: jwt.NewNumericDate(now)},
		inner{Use: "consent", Login: login, ClientID: a.ClientID, Redirect: a.RedirectURI, Scope: a.Scope, Nonce: a.Nonce, State: a.State, CC: a.Challenge})
	if err != nil {
		p.log().Error("oidc provider: consent", "err", err)
		page(w, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Try again later.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	consentTmpl.Execute(w, map[string]any{"Client": c.ID, "Login": login, "Scopes": strings.Fields(a.Scope), "Params": a.values(), "Ticket": ticket})
}

func loginPage(w http.ResponseWriter, code int, a authReq, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	loginTmpl.Execute(w, map[string]any{"Params": a.values(), "Error": msg, "Client": a.ClientID})
}

// totpPage is the login page for an account with a second factor: login
// filled in, password and authenticator code asked.
func totpPage(w http.ResponseWriter, code int, a authReq, login, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	loginTmpl.Execute(w, map[string]any{"Params": a.values(), "Error": msg, "Client": a.ClientID, "TOTP": true, "Login": login})
}

const pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign in with Roost</title>` +
	`<style>body{font:16px system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em}label,input,button{display:block;width:100%;margin:.4em 0}input,button{padding:.5em;font:inherit}.err{color:#b00}</style></head><body>`

var loginTmpl = template.Must(template.New("login").Parse(pageHead + `<h1>Sign in</h1><p><b>{{.Client}}</b> asks you to sign in with your Roost account.</p>` +
	`{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}<form method="post" action="/oidc/authorize">` +
	`{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}<input type="hidden" name="action" value="login">` +
	`<label>Login or address<input name="login" autocomplete="username" required{{if .TOTP}} value="{{.Login}}"{{else}} autofocus{{end}}></label><label>Password<input type="password" name="password" autocomplete="current-password" required{{if .TOTP}} autofocus{{end}}></label>` +
	`{{if .TOTP}}<label>Code from your authenticator app<input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6,8}" required></label>{{end}}` +
	`<button type="submit">Sign in</button></form></body></html>`))

var consentTmpl = template.Must(template.New("consent").Parse(pageHead + `<h1>Allow {{.Client}}?</h1><p>Signed in as <b>{{.Login}}</b>. <b>{{.Client}}</b> asks for:</p><ul>` +
	`{{range .Scopes}}<li>{{if eq . "openid"}}your identity{{else if eq . "email"}}your email address{{else if eq . "profile"}}your name{{else if eq . "offline_access"}}access while you are away{{else if eq . "roost"}}your mail, calendars and contacts{{end}}</li>{{end}}</ul>` +
	`<form method="post" action="/oidc/authorize">{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}` +
	`<input type="hidden" name="ticket" value="{{.Ticket}}"><button type="submit" name="action" value="allow">Allow</button><button type="submit" name="action" value="deny">Deny</button></form></body></html>`))

// issueCode makes a one-time authorization code for login.
func (p *Provider) issueCode(ctx context.Context, a authReq, login string) (string, error) {
	now := p.now()
	jti := random()
	code, err := p.sign(ctx, "JWT", jwt.Claims{Issuer: p.Issuer, ID: jti, Expiry: jwt.NewNumericDate(now.Add(CodeTTL)), IssuedAt: jwt.NewNumericDate(now)},
		inner{Use: "code", Login: login, ClientID: a.ClientID, Redirect: a.RedirectURI, Scope: a.Scope, Nonce: a.Nonce, CC: a.Challenge})
	if err != nil {
		return "", err
	}
	if _, err := p.Store.CreateSecret(store.SystemContext(ctx), login, store.Secret{Kind: store.SecretOIDCCode, Name: jti,
		Hash: auth.SecretHash(string(store.SecretOIDCCode), jti), Scopes: []string{a.ClientID}, Expires: now.Add(CodeTTL)}); err != nil {
		return "", err
	}
	return code, nil
}

func tokenError(w http.ResponseWriter, code int, e, desc string) {
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="roost oidc"`)
	}
	writeJSON(w, code, map[string]string{"error": e, "error_description": desc})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	for k, v := range r.PostForm {
		if len(v) != 1 || len(v[0]) > 8192 {
			tokenError(w, http.StatusBadRequest, "invalid_request", k+" repeated or too long")
			return
		}
	}
	f := r.PostForm.Get
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f("client_id"), f("client_secret")
	}
	ctx := r.Context()
	c, err := p.client(ctx, id)
	if err != nil {
		p.unavailable(w, "token", err)
		return
	}
	if c == nil || !checkClientSecret(c, secret) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	sys := store.SystemContext(ctx)
	var in *inner
	var jti string
	var kind store.SecretKind
	switch f("grant_type") {
	case "authorization_code":
		var cl *jwt.Claims
		cl, in, err = p.verifyOwn(ctx, f("code"), "code")
		if err == nil && (in.ClientID != c.ID || in.Redirect != f("redirect_uri")) {
			err = errors.New("code of another client or redirect_uri")
		}
		if err == nil {
			v := f("code_verifier")
			switch {
			case in.CC == "" && v != "":
				err = errors.New("code_verifier without a code_challenge")
			case in.CC != "" && (len(v) < 43 || len(v) > 128 || S256(v) != in.CC):
				err = errors.New("PKCE code_verifier does not match")
			}
		}
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
			return
		}
		jti, kind = cl.ID, store.SecretOIDCCode
	case "refresh_token":
		var cl *jwt.Claims
		cl, in, err = p.verifyOwn(ctx, f("refresh_token"), "refresh")
		if err != nil || in.ClientID != c.ID {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "invalid refresh token")
			return
		}
		jti, kind = cl.ID, store.SecretOIDCRefresh
		if s := f("scope"); s != "" {
			// A narrower scope only (RFC 6749 §6).
			for _, sc := range strings.Fields(s) {
				if !slices.Contains(strings.Fields(in.Scope), sc) {
					tokenError(w, http.StatusBadRequest, "invalid_scope", "scope beyond the grant")
					return
				}
			}
			in.Scope = strings.Join(grantScopes(s), " ")
		}
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "authorization_code or refresh_token")
		return
	}
	// One use: whichever node deletes the row first wins; a replay finds
	// none.
	if _, err := p.Store.DeleteSecret(sys, in.Login, kind, jti); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			p.log().Warn("oidc provider: code or refresh token used twice or revoked", "client", c.ID, "user", in.Login, "remote", r.RemoteAddr)
			tokenError(w, http.StatusBadRequest, "invalid_grant", "already used or revoked")
			return
		}
		p.unavailable(w, "token", err)
		return
	}
	u, err := p.Store.GetUser(sys, in.Login)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the account is gone or disabled")
		return
	}
	if err != nil {
		p.unavailable(w, "token", err)
		return
	}
	out, err := p.issueTokens(ctx, c, u, in)
	if err != nil {
		p.unavailable(w, "token", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type idClaims struct {
	Nonce             string `json:"nonce,omitempty"`
	AZP               string `json:"azp,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
}

func userClaims(u *store.User, scopes []string) idClaims {
	var c idClaims
	if slices.Contains(scopes, "email") && u.Email != "" {
		t := true
		c.Email, c.EmailVerified = u.Email, &t
	}
	if slices.Contains(scopes, "profile") {
		c.Name, c.PreferredUsername = u.FullName, u.Login
	}
	return c
}

func (p *Provider) issueTokens(ctx context.Context, c *Client, u *store.User, in *inner) (map[string]any, error) {
	now := p.now()
	scopes := strings.Fields(in.Scope)
	at, err := p.sign(ctx, "at+jwt", jwt.Claims{Issuer: p.Issuer, Subject: u.Login, Audience: jwt.Audience{c.ID}, ID: random(),
		Expiry: jwt.NewNumericDate(now.Add(AccessTTL)), IssuedAt: jwt.NewNumericDate(now)},
		inner{Use: "access", Login: u.Login, ClientID: c.ID, Scope: in.Scope})
	if err != nil {
		return nil, err
	}
	idc := userClaims(u, scopes)
	idc.Nonce, idc.AZP = in.Nonce, c.ID
	idt, err := p.sign(ctx, "JWT", jwt.Claims{Issuer: p.Issuer, Subject: u.Login, Audience: jwt.Audience{c.ID},
		Expiry: jwt.NewNumericDate(now.Add(AccessTTL)), IssuedAt: jwt.NewNumericDate(now)}, idc)
	if err != nil {
		return nil, err
	}
	jti := random()
	rt, err := p.sign(ctx, "JWT", jwt.Claims{Issuer: p.Issuer, ID: jti, Expiry: jwt.NewNumericDate(now.Add(RefreshTTL)), IssuedAt: jwt.NewNumericDate(now)},
		inner{Use: "refresh", Login: u.Login, ClientID: c.ID, Scope: in.Scope})
	if err != nil {
		return nil, err
	}
	if _, err := p.Store.CreateSecret(store.SystemContext(ctx), u.Login, store.Secret{Kind: store.SecretOIDCRefresh, Name: jti,
		Hash: auth.SecretHash(string(store.SecretOIDCRefresh), jti), Scopes: []string{c.ID}, Expires: now.Add(RefreshTTL)}); err != nil {
		return nil, err
	}
	return map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(AccessTTL.Seconds()),
		"id_token": idt, "refresh_token": rt, "scope": in.Scope}, nil
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roost"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	ctx := r.Context()
	_, in, err := p.verifyOwn(ctx, strings.TrimSpace(tok), "access")
	var u *store.User
	if err == nil {
		u, err = p.Store.GetUser(store.SystemContext(ctx), in.Login)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
			err = directory.ErrBadCredentials
		}
	}
	if errors.Is(err, directory.ErrBadCredentials) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roost", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	if err != nil {
		p.unavailable(w, "userinfo", err)
		return
	}
	c := userClaims(u, strings.Fields(in.Scope))
	out := map[string]any{"sub": u.Login}
	if c.Email != "" {
		out["email"], out["email_verified"] = c.Email, true
	}
	if c.PreferredUsername != "" {
		out["preferred_username"] = c.PreferredUsername
		if c.Name != "" {
			out["name"] = c.Name
		}
	}
	writeJSON(w, http.StatusOK, out)
}
