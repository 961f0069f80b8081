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
// Sync (sync.go) reads the whole directory with paged searches: users,
// groups with nested members, send-as; it renames by the unique attribute
// and orphans the stores of users who vanished. Search (search.go) is the
// address book (GAL) search for clients.
//
// Quota levels, features and the home node follow the entry when their
// attributes are configured.
//
// Companies (ldap_company_search_filter) are tenants holding the entries
// below them, linked by their unique attribute (Tenant.ExternalID) so
// that a renamed company renames its tenant; the sync sets their
// viewers, administrators and quota from the company entries when those
// attributes are configured (company.go). Dynamic groups take their members from a filter, under
// their own base (kopanoBase) when it is within the search base.
//
// Address lists (ldap_addresslist_*) are named filters Search can be
// limited to.
//
// Contacts (ldap_contact_search_filter) are found by Search, and the
// sync writes them into their tenant's contacts (contacts.go), which
// the protocols' address books list, and static groups whose member
// DNs name them have them as contact members (the group's mail goes to
// them).
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

	// Groups (read by Sync).
	GroupFilter   string // "" : no groups are read
	GroupNameAttr string // "": cn
	// GroupUniqueAttr identifies a group across renames (Group.ExternalID);
	// "": groups are matched by name and never deleted by the sync.
	GroupUniqueAttr string
	GroupMailAttr   string
	MembersAttr     string // "": member
	MembersText     bool   // members are values of MembersRelAttr, not DNs
	MembersRelAttr  string // "": LoginAttr
	SecurityAttr    string // "": every group is a security group
	SecurityADS     bool   // SecurityAttr is AD's groupType bit field
	GroupHiddenAttr string
	SendAsAttr      string // "": send-as is managed in Roost
	SendAsText      bool
	SendAsRelAttr   string // "": LoginAttr
	PageSize        int    // 0: 500

	// Per-user settings; "" leaves them to Roost.
	QuotaOverrideAttr, WarnQuotaAttr, SoftQuotaAttr, HardQuotaAttr string
	QuotaMultiplier                                                int64 // bytes per unit; 0: 1 MiB
	EnabledFeaturesAttr, DisabledFeaturesAttr                      string
	ServerAttr                                                     string

	// Dynamic groups: entries of DynGroupFilter whose DynGroupFilterAttr
	// holds a filter selecting their members.
	DynGroupFilter, DynGroupNameAttr, DynGroupFilterAttr string
	// DynGroupUniqueAttr identifies a dynamic group across renames
	// (Group.ExternalID "dynamic:ATTR:VALUE"); "": dynamic groups are
	// matched by name and never deleted by the sync.
	DynGroupUniqueAttr string
	// DynGroupBaseAttr holds the DN a dynamic group's filter searches
	// under ("" or no value: Base); a DN outside Base is refused.
	DynGroupBaseAttr string
	// Companies: entries of CompanyFilter are tenants named by
	// CompanyNameAttr, holding the entries below them.
	CompanyFilter, CompanyNameAttr string
	// CompanyUniqueAttr identifies a company across renames
	// (Tenant.ExternalID); "": companies are matched by name.
	CompanyUniqueAttr string
	CompanyOneLevel   bool // ldap_company_scope = one: children of Base only
	// Company privileges, applied by Sync; "" leaves them to Roost.
	// View values name companies (DNs, or values of CompanyViewRelAttr,
	// "": CompanyNameAttr); admin values name users (DNs, or values of
	// CompanyAdminRelAttr, "": LoginAttr).
	CompanyViewAttr, CompanyViewRelAttr   string
	CompanyViewText                       bool
	CompanyAdminAttr, CompanyAdminRelAttr string
	CompanyAdminText                      bool
	// Company quota: QuotaOverrideAttr and WarnQuotaAttr on the company
	// entry give the tenant's warning level; the UDef attributes its
	// users' default levels. "" leaves them to Roost.
	UDefQuotaOverrideAttr, UDefWarnQuotaAttr, UDefSoftQuotaAttr, UDefHardQuotaAttr string
	// Address lists: named filters over the users, for Search.
	AddrListFilter, AddrListNameAttr, AddrListFilterAttr string
	// AddrListBaseAttr holds the DN a list's filter searches under ("":
	// Base); a list whose base is outside Base is left out.
	AddrListBaseAttr string
	// ContactFilter matches contacts (an address, no account) that
	// Search finds besides users and the sync writes into the tenant's
	// contacts, linked by UniqueAttr (Kopano: "contacts must have the
	// same unique attribute as users").
	ContactFilter string
	// ContactHiddenAttr hides a contact from the address books when it
	// is '1' or 'TRUE' ("": the sync leaves the flag to Roost's
	// administrators). FromConfig sets ldap_group_hidden_attribute:
	// Kopano's kopanoHidden hides users, contacts and groups alike.
	ContactHiddenAttr string
}

// preset holds the defaults of ldap_preset.
type preset struct {
	filter, unique, login, mail, aliases, fullName, nonactive string
	bitmask                                                   int
	groupFilter, members, security                            string
	securityADS                                               bool
}

var presets = map[string]preset{
	// Plain inetOrgPerson (RFC 2798) with the operational entryUUID
	// (RFC 4530).
	"openldap": {filter: "(objectClass=inetOrgPerson)", unique: "entryUUID", login: "uid", mail: "mail", fullName: "cn",
		groupFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=kopano-group))", members: "member"},
	// Active Directory: userAccountControl bit 0x2 is ACCOUNTDISABLE.
	"ad": {filter: "(&(objectClass=user)(objectCategory=person))", unique: "objectGUID", login: "sAMAccountName",
		mail: "mail", aliases: "proxyAddresses", fullName: "displayName", nonactive: "userAccountControl", bitmask: 2,
		groupFilter: "(objectClass=group)", members: "member", security: "groupType", securityADS: true},
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
		URIs:              strings.Fields(c.LDAPURI),
		StartTLS:          c.LDAPStartTLS,
		BindDN:            c.LDAPBindUser,
		BindPass:          c.LDAPBindPasswd,
		Base:              c.LDAPSearchBase,
		Filter:            or(c.LDAPUserSearchFilter, p.filter),
		UniqueAttr:        or(c.LDAPUserUniqueAttribute, p.unique),
		LoginAttr:         or(c.LDAPLoginnameAttribute, p.login),
		MailAttr:          or(c.LDAPEmailAttribute, p.mail),
		AliasesAttr:       or(c.LDAPEmailAliasesAttr, p.aliases),
		FullNameAttr:      or(c.LDAPFullnameAttribute, p.fullName),
		NonactiveAttr:     c.LDAPNonactiveAttribute,
		NonactiveValue:    c.LDAPNonactiveValue,
		NonactiveBitmask:  c.LDAPNonactiveBitmask,
		AdminAttr:         c.LDAPIsadminAttribute,
		Timeout:           time.Duration(c.LDAPNetworkTimeout) * time.Second,
		Tenant:            c.LDAPTenant,
		GroupFilter:       or(c.LDAPGroupSearchFilter, p.groupFilter),
		GroupNameAttr:     or(c.LDAPGroupnameAttribute, "cn"),
		GroupUniqueAttr:   or(c.LDAPGroupUniqueAttr, or(c.LDAPUserUniqueAttribute, p.unique)),
		GroupMailAttr:     or(c.LDAPGroupEmailAttribute, or(c.LDAPEmailAttribute, p.mail)),
		MembersAttr:       or(c.LDAPGroupMembersAttr, p.members),
		MembersText:       c.LDAPGroupMembersType == "text",
		MembersRelAttr:    c.LDAPGroupMembersRelAttr,
		SecurityAttr:      c.LDAPGroupSecurityAttr,
		SecurityADS:       c.LDAPGroupSecurityType == "ads",
		GroupHiddenAttr:   c.LDAPGroupHiddenAttr,
		SendAsAttr:        c.LDAPSendasAttribute,
		SendAsText:        c.LDAPSendasType == "text",
		SendAsRelAttr:     c.LDAPSendasRelAttr,
		PageSize:          c.LDAPPageSize,
		QuotaOverrideAttr: c.LDAPQuotaOverrideAttr, WarnQuotaAttr: c.LDAPWarnQuotaAttr, SoftQuotaAttr: c.LDAPSoftQuotaAttr,
		HardQuotaAttr: c.LDAPHardQuotaAttr, QuotaMultiplier: int64(c.LDAPQuotaMultiplier),
		EnabledFeaturesAttr: c.LDAPEnabledFeaturesAttr, DisabledFeaturesAttr: c.LDAPDisabledFeatAttr,
		ServerAttr:     c.LDAPUserServerAttr,
		DynGroupFilter: c.LDAPDynGroupFilter, DynGroupNameAttr: or(c.LDAPDynGroupNameAttr, "cn"),
		DynGroupFilterAttr: or(c.LDAPDynGroupFilterAttr, "kopanoFilter"),
		DynGroupUniqueAttr: or(c.LDAPDynGroupUniqueAttr, or(c.LDAPGroupUniqueAttr, or(c.LDAPUserUniqueAttribute, p.unique))),
		DynGroupBaseAttr:   c.LDAPDynGroupBaseAttr,
		CompanyFilter:      c.LDAPCompanyFilter, CompanyNameAttr: or(c.LDAPCompanyNameAttr, "ou"),
		CompanyUniqueAttr: or(c.LDAPCompanyUniqueAttr, or(c.LDAPUserUniqueAttribute, p.unique)),
		CompanyOneLevel:   c.LDAPCompanyScope == "one",
		// Kopano's defaults for the relation attributes: the company's
		// and the user's unique attribute, when ldap.cfg names them;
		// else (Roost's entryUUID, which nobody writes into a
		// privilege) the name and the login.
		CompanyViewAttr: c.LDAPCompanyViewAttr, CompanyViewRelAttr: or(c.LDAPCompanyViewRelAttr, c.LDAPCompanyUniqueAttr),
		CompanyViewText:  c.LDAPCompanyViewType != "dn",
		CompanyAdminAttr: c.LDAPCompanyAdminAttr, CompanyAdminRelAttr: or(c.LDAPCompanyAdminRelAttr, c.LDAPUserUniqueAttribute),
		CompanyAdminText:      c.LDAPCompanyAdminType != "dn",
		UDefQuotaOverrideAttr: c.LDAPUDefQuotaOverAttr, UDefWarnQuotaAttr: c.LDAPUDefWarnQuotaAttr,
		UDefSoftQuotaAttr: c.LDAPUDefSoftQuotaAttr, UDefHardQuotaAttr: c.LDAPUDefHardQuotaAttr,
		AddrListFilter: c.LDAPAddrListFilter, AddrListNameAttr: or(c.LDAPAddrListNameAttr, "cn"),
		AddrListFilterAttr: or(c.LDAPAddrListFilterAttr, "kopanoFilter"),
		AddrListBaseAttr:   c.LDAPAddrListBaseAttr,
		ContactFilter:      c.LDAPContactFilter,
		ContactHiddenAttr:  c.LDAPGroupHiddenAttr,
	}
	if out.SecurityAttr == "" && p.security != "" {
		out.SecurityAttr = p.security
		out.SecurityADS = c.LDAPGroupSecurityType != "boolean" && p.securityADS
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
