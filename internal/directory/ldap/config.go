// Package ldap is the LDAP directory backend (user_plugin = ldap): users of
// OpenLDAP or Active Directory authenticate by a bind as their own entry
// (Roost never reads password hashes), and are created or updated in
// Roost's store just in time, at login and at delivery, linked for good by
// their unique attribute (store.User.ExternalID) so that a rename in the
// directory keeps the same Roost user and store.
//
// Connections: a small pool of connections bound as the service account
// (ldap_bind_user), each to the first of the ldap_uri servers that
// answers; a server that fails is skipped until the next one fails too.
// LDAPS and StartTLS check the server certificate (ldap_tls_cacert or the
// system's authorities). Every filter built from client input escapes it
// (RFC 4515 §3, ldap.EscapeFilter).
//
// Not yet: groups, nested groups, companies as tenants, address lists,
// contacts, send-as, quota and feature attributes, a sync command.
package ldap

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/config"
)

// Config is what the backend needs, with the preset's defaults applied.
type Config struct {
	URIs             []string
	StartTLS         bool
	RootCAs          *x509.CertPool // nil: the system's
	BindDN, BindPass string
	Base             string
	Filter           string // every user entry matches it
	UniqueAttr       string
	LoginAttr        string
	MailAttr         string
	AliasesAttr      string
	FullNameAttr     string
	NonactiveAttr    string
	NonactiveValue   string
	NonactiveBitmask int
	AdminAttr        string
	Timeout          time.Duration
	Tenant           string
	PoolSize         int // 0: 4
}

// preset holds the defaults of ldap_preset.
type preset struct {
	filter, unique, login, mail, aliases, fullName, nonactive string
	bitmask                                                   int
}

var presets = map[string]preset{
	// Plain inetOrgPerson (RFC 2798) with the operational entryUUID
	// (RFC 4530).
	"openldap": {filter: "(objectClass=inetOrgPerson)", unique: "entryUUID", login: "uid", mail: "mail", fullName: "cn"},
	// Active Directory: userAccountControl bit 0x2 is ACCOUNTDISABLE.
	"ad": {filter: "(&(objectClass=user)(objectCategory=person))", unique: "objectGUID", login: "sAMAccountName",
		mail: "mail", aliases: "proxyAddresses", fullName: "displayName", nonactive: "userAccountControl", bitmask: 2},
}

// FromConfig builds the backend's Config from Roost's configuration
// (already validated), applying ldap_preset to the keys left empty.
func FromConfig(c *config.Config) (Config, error) {
	p, ok := presets[c.LDAPPreset]
	if !ok {
		return Config{}, fmt.Errorf("ldap_preset %q: unknown", c.LDAPPreset)
	}
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	out := Config{
		URIs:             strings.Fields(c.LDAPURI),
		StartTLS:         c.LDAPStartTLS,
		BindDN:           c.LDAPBindUser,
		BindPass:         c.LDAPBindPasswd,
		Base:             c.LDAPSearchBase,
		Filter:           or(c.LDAPUserSearchFilter, p.filter),
		UniqueAttr:       or(c.LDAPUserUniqueAttribute, p.unique),
		LoginAttr:        or(c.LDAPLoginnameAttribute, p.login),
		MailAttr:         or(c.LDAPEmailAttribute, p.mail),
		AliasesAttr:      or(c.LDAPEmailAliasesAttr, p.aliases),
		FullNameAttr:     or(c.LDAPFullnameAttribute, p.fullName),
		NonactiveAttr:    c.LDAPNonactiveAttribute,
		NonactiveValue:   c.LDAPNonactiveValue,
		NonactiveBitmask: c.LDAPNonactiveBitmask,
		AdminAttr:        c.LDAPIsadminAttribute,
		Timeout:          time.Duration(c.LDAPNetworkTimeout) * time.Second,
		Tenant:           c.LDAPTenant,
	}
	if out.NonactiveAttr == "" {
		out.NonactiveAttr, out.NonactiveBitmask = p.nonactive, p.bitmask
	}
	if c.LDAPTLSCACert != "" {
		pem, err := os.ReadFile(c.LDAPTLSCACert)
		if err != nil {
			return Config{}, fmt.Errorf("ldap_tls_cacert: %w", err)
		}
		out.RootCAs = x509.NewCertPool()
		if !out.RootCAs.AppendCertsFromPEM(pem) {
			return Config{}, fmt.Errorf("ldap_tls_cacert %s: no PEM certificate", c.LDAPTLSCACert)
		}
	}
	return out, nil
}
