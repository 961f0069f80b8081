package main

import "strings"

// oidcClientView is a client of Roost's OpenID provider as the API sends it.
type oidcClientView struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
	Public       bool     `json:"public"`
}

// oidcClientAdd is `roost admin oidc client add NAME --redirect-uri URI
// [--public]`: it prints the client id and secret (shown this once).
func oidcClientAdd(a *admin, cmd *adminCmd, in *input) error {
	uris := in.lists["redirect-uri"]
	if len(uris) == 0 {
		return usagef("%s: --redirect-uri is required (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	body := map[string]any{"name": in.pos[0], "redirect_uris": uris, "public": in.bools["public"]}
	var c oidcClientView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/oidc/clients", body, &c)
	if err != nil {
		return err
	}
	if c.Public {
		a.say(data, "client id: %s\nclient secret: none (public client: PKCE with S256 required)", c.ClientID)
	} else {
		a.say(data, "client id: %s\nclient secret: %s", c.ClientID, c.ClientSecret)
	}
	return nil
}

func oidcClientList(a *admin, _ *adminCmd, _ *input) error {
	var l []oidcClientView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/oidc/clients", nil, &l)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, c := range l {
		typ := "confidential"
		if c.Public {
			typ = "public"
		}
		rows = append(rows, []string{c.ClientID, typ, strings.Join(c.RedirectURIs, " ")})
	}
	printTable(a.stdout, []string{"Client id", "Type", "Redirect URIs"}, rows)
	return nil
}

func oidcClientRemove(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "DELETE", "/v1/oidc/clients/"+pathSeg(in.pos[0]), nil)
	if err != nil {
		return err
	}
	a.say(data, "removed client %s", in.pos[0])
	return nil
}
