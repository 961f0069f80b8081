package main

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/directory"
)

// secretView is a token, app password or session as the API lists it.
type secretView struct {
	Name     string     `json:"name"`
	Scopes   []string   `json:"scopes"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires"`
	LastUsed *time.Time `json:"last_used"`
	Remote   string     `json:"remote"`
	Token    string     `json:"token"`
	Password string     `json:"password"`
}

// protocolList splits "jmap,dav" (the flag may also be repeated).
func protocolList(vals []string) []string {
	out := []string{}
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// checkProtocols refuses a protocol the server does not know, naming the
// flag it came from (the server's own refusal could not).
func checkProtocols(flag string, list []string) error {
	for _, p := range list {
		if !slices.Contains(directory.Protocols, p) {
			return usagef("--%s: unknown protocol %q (known: %s)", flag, p, strings.Join(directory.Protocols, ","))
		}
	}
	return nil
}

// parseExpiry reads --expires: a lifetime ("90d", "12h", "30m", Go
// durations) or a date (YYYY-MM-DD[THH:MM] local time, or RFC 3339).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 {
			return now.AddDate(0, 0, d), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, f := range []string{"2006-01-02", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(f, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--expires %q: give a lifetime (90d, 12h) or a date (YYYY-MM-DD[THH:MM] or RFC 3339)", s)
}

func tokenCreate(a *admin, cmd *adminCmd, in *input) error {
	name := in.str["name"]
	if name == "" {
		return usagef("%s: --name is required (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	scopes := protocolList(in.lists["scope"])
	if err := checkProtocols("scope", scopes); err != nil {
		return err
	}
	body := map[string]any{"scopes": scopes}
	if v, ok := in.str["expires"]; ok {
		t, err := parseExpiry(v, time.Now())
		if err != nil {
			return err
		}
		body["expires"] = t.UTC().Format(time.RFC3339)
	}
	var s secretView
	data, err := a.c.callInto(a.ctx, "PUT", "/v1/users/"+pathSeg(in.pos[0])+"/tokens/"+pathSeg(name), body, &s)
	if err != nil {
		return err
	}
	// The token alone on standard output, for scripts: it is shown this
	// once.
	a.say(data, "%s", s.Token)
	return nil
}

func tokenList(a *admin, _ *adminCmd, in *input) error {
	return secretList(a, "/v1/users/"+pathSeg(in.pos[0])+"/tokens", "Scope")
}

func tokenRevoke(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/tokens/"+pathSeg(in.pos[1]), nil)
	if err != nil {
		return err
	}
	a.say(data, "revoked token %s of %s", in.pos[1], in.pos[0])
	return nil
}

func appPasswordAdd(a *admin, cmd *adminCmd, in *input) error {
	name := in.str["name"]
	if name == "" {
		return usagef("%s: --name is required (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	protocols := protocolList(in.lists["protocols"])
	if err := checkProtocols("protocols", protocols); err != nil {
		return err
	}
	body := map[string]any{"protocols": protocols}
	var s secretView
	data, err := a.c.callInto(a.ctx, "PUT", "/v1/users/"+pathSeg(in.pos[0])+"/app-passwords/"+pathSeg(name), body, &s)
	if err != nil {
		return err
	}
	a.say(data, "%s", s.Password)
	return nil
}

func appPasswordList(a *admin, _ *adminCmd, in *input) error {
	return secretList(a, "/v1/users/"+pathSeg(in.pos[0])+"/app-passwords", "Protocols")
}

func appPasswordRevoke(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/app-passwords/"+pathSeg(in.pos[1]), nil)
	if err != nil {
		return err
	}
	a.say(data, "revoked app password %s of %s", in.pos[1], in.pos[0])
	return nil
}

func userLogout(a *admin, _ *adminCmd, in *input) error {
	var out struct {
		Revoked int `json:"revoked"`
	}
	data, err := a.c.callInto(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/sessions", nil, &out)
	if err != nil {
		return err
	}
	a.say(data, "signed %s out of %d web sessions", in.pos[0], out.Revoked)
	return nil
}

func secretList(a *admin, path, scopeHeader string) error {
	var l []secretView
	data, err := a.c.callInto(a.ctx, "GET", path, nil, &l)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, s := range l {
		exp, used := "never", "never"
		if s.Expires != nil {
			exp = shortTime(*s.Expires)
		}
		if s.LastUsed != nil {
			used = shortTime(*s.LastUsed)
		}
		rows = append(rows, []string{s.Name, joinOr(s.Scopes, ",", "all"), shortTime(s.Created), exp, used})
	}
	printTable(a.stdout, []string{"Name", scopeHeader, "Created", "Expires", "Last used"}, rows)
	return nil
}

func userTOTPEnable(a *admin, _ *adminCmd, in *input) error {
	var out struct {
		Key string `json:"key"`
		URI string `json:"uri"`
	}
	data, err := a.c.callInto(a.ctx, "PUT", "/v1/users/"+pathSeg(in.pos[0])+"/totp", map[string]any{}, &out)
	if err != nil {
		return err
	}
	a.say(data, "TOTP key for %s (shown once): %s\n%s", in.pos[0], out.Key, out.URI)
	return nil
}

func userTOTPDisable(a *admin, _ *adminCmd, in *input) error {
	var out struct {
		Removed bool `json:"removed"`
	}
	data, err := a.c.callInto(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/totp", nil, &out)
	if err != nil {
		return err
	}
	if !out.Removed {
		a.say(data, "%s has no TOTP key: nothing to remove", in.pos[0])
		return nil
	}
	a.say(data, "removed the TOTP key of %s: the web client's sign-in needs the password only", in.pos[0])
	return nil
}
