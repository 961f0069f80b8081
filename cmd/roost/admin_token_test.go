package main

import (
	"context"
	"errors"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/auth"
	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/store"
)

// The grammar of issues 11 and 13: token create|list|revoke, user
// app-password add|list|revoke, with --json objects carrying the secret;
// what they make is what the directory accepts.
func TestAdminTokensAndAppPasswords(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.ok("tenant", "create", "acme")
	e.ok("user", "create", "alice", "--email", "alice@acme.test")
	e.ok("user", "create", "bob", "--email", "bob@acme.test")
	authn := &directory.Authenticator{Store: e.db}
	ip := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	ctx := context.Background()

	tok := strings.TrimSpace(e.ok("token", "create", "alice", "--name", "sync", "--scope", "jmap,dav", "--expires", "30d"))
	if !auth.IsToken(tok) {
		t.Fatalf("token create printed %q", tok)
	}
	var js struct {
		Token   string    `json:"token"`
		Name    string    `json:"name"`
		Scopes  []string  `json:"scopes"`
		Expires time.Time `json:"expires"`
	}
	e.okJSON(&js, "token", "create", "alice", "--name", "ci", "--scope", "imap", "--scope", "smtp", "--expires", "2099-01-01")
	if !auth.IsToken(js.Token) || js.Name != "ci" || strings.Join(js.Scopes, ",") != "imap,smtp" || js.Expires.Year() != 2099 {
		t.Fatalf("--json: %+v", js)
	}
	if p, err := authn.VerifyBearer(ctx, tok, "", "jmap", ip); err != nil || p.Login != "alice" {
		t.Fatalf("token from the CLI: %v", err)
	}
	if _, err := authn.VerifyBearer(ctx, tok, "", "imap", ip); !errors.Is(err, directory.ErrScope) {
		t.Fatalf("token out of scope: %v", err)
	}
	e.fails(1, `already has a token named "sync"`, "token", "create", "alice", "--name", "sync")
	e.fails(2, `--scope: unknown protocol "mapi"`, "token", "create", "alice", "--name", "x", "--scope", "jmap,mapi")
	e.fails(2, `--protocols: unknown protocol "mapi"`, "user", "app-password", "add", "alice", "--name", "x", "--protocols", "mapi")
	e.fails(2, "--name is required", "token", "create", "alice")
	e.fails(2, `--expires "soon"`, "token", "create", "alice", "--name", "x", "--expires", "soon")
	e.fails(1, "in the past", "token", "create", "alice", "--name", "x", "--expires", "2001-01-01")
	e.fails(1, `user "ghost": not found`, "token", "create", "ghost", "--name", "x")
	out := e.ok("token", "list", "alice")
	if !regexp.MustCompile(`(?m)^Name\s+Scope\s+Created\s+Expires\s+Last used\n`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^sync\s+dav,jmap\s+\S+ \S+\s+\S+ \S+\s+\S+ \S+\n`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^ci\s+imap,smtp\s+.*never\n`).MatchString(out) || strings.Contains(out, tok) {
		t.Fatalf("token list:\n%s", out)
	}
	var l []map[string]any
	e.okJSON(&l, "token", "list", "alice")
	if len(l) != 2 || l[1]["last_used"] == nil || l[0]["token"] != nil {
		t.Fatalf("token list --json: %v", l)
	}
	if out := e.ok("token", "revoke", "alice", "sync"); out != "revoked token sync of alice\n" {
		t.Fatalf("%q", out)
	}
	if _, err := authn.VerifyBearer(ctx, tok, "", "jmap", ip); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("revoked token: %v", err)
	}
	e.fails(1, "not found", "token", "revoke", "alice", "sync")

	pw := strings.TrimSpace(e.ok("user", "app-password", "add", "alice", "--name", "Thunderbird", "--protocols", "imap,smtp"))
	if _, ok := auth.NormalAppPassword(pw); !ok {
		t.Fatalf("app-password add printed %q", pw)
	}
	var ap struct {
		Password string   `json:"password"`
		Scopes   []string `json:"scopes"`
	}
	e.okJSON(&ap, "user", "app-password", "add", "alice", "--name", "phone")
	if _, ok := auth.NormalAppPassword(ap.Password); !ok || len(ap.Scopes) != 0 {
		t.Fatalf("--json: %+v", ap)
	}
	if p, err := authn.Authenticate(ctx, "alice", pw, ip, "imap"); err != nil || p.Login != "alice" {
		t.Fatalf("app password from the CLI on IMAP: %v", err)
	}
	if _, err := authn.Authenticate(ctx, "alice", pw, ip, "pop3"); !errors.Is(err, directory.ErrScope) {
		t.Fatalf("app password on POP3: %v", err)
	}
	out = e.ok("user", "app-password", "list", "alice")
	if !regexp.MustCompile(`(?m)^Thunderbird\s+imap,smtp\s`).MatchString(out) || !regexp.MustCompile(`(?m)^phone\s+all\s`).MatchString(out) {
		t.Fatalf("app-password list:\n%s", out)
	}
	e.ok("user", "app-password", "revoke", "alice", "Thunderbird")
	// Named in words, not by the internal kind "app-password".
	e.fails(1, `roost admin: app password "Thunderbird" of "alice": not found`, "user", "app-password", "revoke", "alice", "Thunderbird")
	if _, err := authn.Authenticate(ctx, "alice", pw, ip, "imap"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("revoked app password: %v", err)
	}

	// A user manages its own; bob may not touch alice's.
	bobDir := e.serveAs("bob")
	if r := runIn(bobDir, "", "token", "list", "alice"); r.code != 1 || !strings.Contains(r.stderr, "permission") {
		t.Fatalf("bob lists alice's tokens: %+v", r)
	}
	if r := runIn(bobDir, "", "token", "create", "bob", "--name", "mine"); r.code != 0 || !auth.IsToken(strings.TrimSpace(r.stdout)) {
		t.Fatalf("bob makes his own token: %+v", r)
	}

	// Sign out everywhere.
	if out := e.ok("user", "logout", "alice"); out != "signed alice out of 0 web sessions\n" {
		t.Fatalf("%q", out)
	}
	if _, err := e.db.CreateSecret(sysCtx, "alice", store.Secret{Kind: store.SecretSession, Name: "s", Hash: auth.SecretHash("session", "s")}); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("user", "logout", "alice"); out != "signed alice out of 1 web sessions\n" {
		t.Fatalf("%q", out)
	}

	// TOTP: enable prints the key and URI; the web sign-in then wants a
	// code; disable removes it.
	out = e.ok("user", "totp", "enable", "alice")
	if !regexp.MustCompile(`^TOTP key for alice \(shown once\): [A-Z2-7]{32}\notpauth://totp/Roost:alice\?\S+\n$`).MatchString(out) {
		t.Fatalf("totp enable: %q", out)
	}
	var tj struct {
		Key string `json:"key"`
		URI string `json:"uri"`
	}
	e.okJSON(&tj, "user", "totp", "enable", "alice")
	if len(tj.Key) != 32 || !strings.Contains(tj.URI, "secret="+tj.Key) {
		t.Fatalf("totp enable --json: %+v", tj)
	}
	if has, err := authn.HasTOTP(sysCtx, "alice"); !has || err != nil {
		t.Fatalf("after enable: %v %v", has, err)
	}
	if out := e.ok("user", "totp", "disable", "alice"); out != "removed the TOTP key of alice: the web client's sign-in needs the password only\n" {
		t.Fatalf("%q", out)
	}
	if out := e.ok("user", "totp", "disable", "alice"); out != "alice has no TOTP key: nothing to remove\n" {
		t.Fatalf("totp disable without a key: %q", out)
	}
	if has, _ := authn.HasTOTP(sysCtx, "alice"); has {
		t.Fatal("TOTP still enabled")
	}
	if r := runIn(bobDir, "", "user", "totp", "enable", "alice"); r.code != 1 || !strings.Contains(r.stderr, "permission") {
		t.Fatalf("bob enables alice's TOTP: %+v", r)
	}
}

// TestAdminSecretHelpNamesEveryProtocol: the help of token create
// --scope and app-password add --protocols lists every protocol the
// server accepts there (eas was accepted but missing from token create's).
func TestAdminSecretHelpNamesEveryProtocol(t *testing.T) {
	t.Parallel()
	for _, c := range adminCmds {
		if c.name() != "token create" && c.name() != "user app-password add" {
			continue
		}
		list := regexp.MustCompile(`subset of\s+([a-z0-9,]+)`).FindStringSubmatch(c.help)
		if list == nil {
			t.Fatalf("%s: help names no protocol list: %q", c.name(), c.help)
		}
		got := strings.Split(list[1], ",")
		for _, p := range directory.Protocols {
			if !slices.Contains(got, p) {
				t.Errorf("%s: help lists %s, without %q that the server accepts", c.name(), list[1], p)
			}
		}
	}
}
