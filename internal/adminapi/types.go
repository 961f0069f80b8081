package adminapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// The wire types. Lists are never null in replies ([] when empty), sizes
// and quota levels are bytes, 0 quota means the level is off.

// Status is the reply of GET /v1/status.
type Status struct {
	Version       string    `json:"version"`
	Started       time.Time `json:"started"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Uptime        string    `json:"uptime"`
	Principal     string    `json:"principal"`
}

// Tenant is a tenant (Kopano company).
type Tenant struct {
	Name          string   `json:"name"`
	QuotaWarn     int64    `json:"quota_warn"`
	UserQuotaWarn int64    `json:"user_quota_warn"`
	UserQuotaSoft int64    `json:"user_quota_soft"`
	UserQuotaHard int64    `json:"user_quota_hard"`
	Viewers       []string `json:"viewers"`
	Admins        []string `json:"admins"`
	PublicStoreID int64    `json:"public_store_id"`
	// HomeNode is the home node (sharded mode) of the tenant's users
	// without one of their own.
	HomeNode string    `json:"home_node,omitempty"`
	Created  time.Time `json:"created"`
	// Usage is set by GET /v1/tenants/{tenant} for principals that
	// administer the tenant.
	Usage *TenantUsage `json:"usage,omitempty"`
}

// TenantUsage is the size of all of a tenant's stores, public included,
// against its warning level (the tenant's or companyquota_warn).
type TenantUsage struct {
	Size      int64  `json:"size"`
	SizeHuman string `json:"size_human"`
	QuotaWarn int64  `json:"quota_warn"`
}

// TenantCreate is the body of POST /v1/tenants.
type TenantCreate struct {
	Name string `json:"name"`
}

// TenantUpdate is the body of PATCH /v1/tenants/{tenant}: quota levels in
// whole MB; absent fields stay.
type TenantUpdate struct {
	QuotaWarnMB     *json.Number `json:"quota_warn_mb,omitempty"`
	UserQuotaWarnMB *json.Number `json:"user_quota_warn_mb,omitempty"`
	UserQuotaSoftMB *json.Number `json:"user_quota_soft_mb,omitempty"`
	UserQuotaHardMB *json.Number `json:"user_quota_hard_mb,omitempty"`
	HomeNode        *string      `json:"home_node,omitempty"` // "" clears it
}

// Domain is a mail domain of a tenant; also the body of POST /v1/domains
// (an empty tenant means the default tenant, see defaultTenant).
type Domain struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
}

// Features are a user's feature settings: the explicit ones and the
// resulting list (store.Features minus disabled_features, plus Enabled,
// minus Disabled).
type Features struct {
	Enabled   []string `json:"enabled"`
	Disabled  []string `json:"disabled"`
	Effective []string `json:"effective"`
}

// UserQuota is a user's own quota setting; the levels apply only when
// Override is set.
type UserQuota struct {
	Override bool  `json:"override"`
	Warn     int64 `json:"warn"`
	Soft     int64 `json:"soft"`
	Hard     int64 `json:"hard"`
}

// EffectiveQuota is the quota that applies to a store, and where it comes
// from: "user" (override), "tenant" (tenant user defaults) or "global".
type EffectiveQuota struct {
	Source string `json:"source"`
	Warn   int64  `json:"warn"`
	Soft   int64  `json:"soft"`
	Hard   int64  `json:"hard"`
}

// UserStore is the state of a user's private store.
type UserStore struct {
	ID        int64          `json:"id"`
	Size      int64          `json:"size"`
	SizeHuman string         `json:"size_human"`
	Messages  int64          `json:"messages"`
	Quota     EffectiveQuota `json:"quota"`
}

// Resource holds the meeting-request settings of rooms and equipment.
type Resource struct {
	AutoAccept       bool `json:"auto_accept"`
	DeclineConflict  bool `json:"decline_conflict"`
	DeclineRecurring bool `json:"decline_recurring"`
	Capacity         int  `json:"capacity"`
}

// User is a user as `kopano-admin --details` shows it. Store is set by
// show, create and update, not by list.
type User struct {
	Login    string     `json:"login"`
	Tenant   string     `json:"tenant"`
	FullName string     `json:"full_name"`
	Email    string     `json:"email"`
	Aliases  []string   `json:"aliases"`
	Active   bool       `json:"active"`
	Admin    int        `json:"admin"`
	Features Features   `json:"features"`
	StoreID  int64      `json:"store_id"`
	Store    *UserStore `json:"store,omitempty"`
	Quota    UserQuota  `json:"quota"`
	SendAs   []string   `json:"send_as"`
	Groups   []string   `json:"groups"`
	HomeNode string     `json:"home_node"`
	Resource Resource   `json:"resource"`
	Created  time.Time  `json:"created"`
}

// UserCreate is the body of POST /v1/users. Tenant "" means the default
// tenant; Active defaults to true; Password is clear text, hashed here.
type UserCreate struct {
	Login    string   `json:"login"`
	Tenant   string   `json:"tenant,omitempty"`
	Email    string   `json:"email,omitempty"`
	FullName string   `json:"name,omitempty"`
	Password *string  `json:"password,omitempty"`
	Admin    *int     `json:"admin,omitempty"`
	Active   *bool    `json:"active,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
}

// UserUpdate is the body of PATCH /v1/users/{login}. It mirrors
// store.UserUpdate with quota levels in whole MB and a clear-text password;
// absent fields stay.
type UserUpdate struct {
	Rename           *string      `json:"rename,omitempty"`
	Email            *string      `json:"email,omitempty"`
	FullName         *string      `json:"name,omitempty"`
	Password         *string      `json:"password,omitempty"`
	Admin            *int         `json:"admin,omitempty"`
	Active           *bool        `json:"active,omitempty"`
	AliasAdd         []string     `json:"alias_add,omitempty"`
	AliasRemove      []string     `json:"alias_remove,omitempty"`
	QuotaOverride    *bool        `json:"quota_override,omitempty"`
	QuotaWarnMB      *json.Number `json:"quota_warn_mb,omitempty"`
	QuotaSoftMB      *json.Number `json:"quota_soft_mb,omitempty"`
	QuotaHardMB      *json.Number `json:"quota_hard_mb,omitempty"`
	EnableFeature    []string     `json:"enable_feature,omitempty"`
	DisableFeature   []string     `json:"disable_feature,omitempty"`
	SendAsAdd        []string     `json:"sendas_add,omitempty"`
	SendAsRemove     []string     `json:"sendas_remove,omitempty"`
	AutoAccept       *bool        `json:"mr_accept,omitempty"`
	DeclineConflict  *bool        `json:"mr_decline_conflict,omitempty"`
	DeclineRecurring *bool        `json:"mr_decline_recurring,omitempty"`
	Capacity         *int         `json:"capacity,omitempty"`
	HomeNode         *string      `json:"home_node,omitempty"`
}

// Group is a group of users.
type Group struct {
	Name    string   `json:"name"`
	Tenant  string   `json:"tenant"`
	Email   string   `json:"email"`
	Kind    string   `json:"kind"`
	Hidden  bool     `json:"hidden"`
	BuiltIn bool     `json:"builtin"`
	Members []string `json:"members"`
	// Contacts are the addresses of the tenant's contacts that are
	// members (mail to the group goes out to them).
	Contacts []string `json:"contacts"`
}

// GroupCreate is the body of POST /v1/groups; Kind is "security" (the
// default) or "distribution".
type GroupCreate struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant,omitempty"`
	Email  string `json:"email,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// Contact is an entry of a tenant's address book with an address and
// no account (a supplier, a partner). Directory is true for one the
// directory sync made (ExternalID links it to its LDAP entry): it may be
// edited, but the next sync puts the directory's values back.
type Contact struct {
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Tenant     string    `json:"tenant"`
	Hidden     bool      `json:"hidden"`
	Directory  bool      `json:"directory"`
	ExternalID string    `json:"external_id"`
	Created    time.Time `json:"created"`
}

// ContactCreate is the body of POST /v1/contacts. Tenant "" means the
// principal's own tenant, else the only one there is.
type ContactCreate struct {
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
	Tenant string `json:"tenant,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// ContactUpdate is the body of PATCH /v1/contacts/{email}; absent fields
// stay. Email changes the address.
type ContactUpdate struct {
	Email  *string `json:"email,omitempty"`
	Name   *string `json:"name,omitempty"`
	Hidden *bool   `json:"hidden,omitempty"`
}

// Store is a message store.
type Store struct {
	ID     int64  `json:"id"`
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"`
	Owner  string `json:"owner"`
	Orphan bool   `json:"orphan"`
	// FormerOwner is the login an orphan belonged to.
	FormerOwner string    `json:"former_owner,omitempty"`
	Locale      string    `json:"locale"`
	Size        int64     `json:"size"`
	SizeHuman   string    `json:"size_human"`
	Messages    int64     `json:"messages"`
	Created     time.Time `json:"created"`
	// Node is the node an archive store lives on ("" = its owner's).
	Node string `json:"node,omitempty"`
}

// StoreHook is the body of POST /v1/stores/{id}/hook: User "" makes the
// orphan its tenant's public store.
type StoreHook struct {
	User string `json:"user"`
}

// PublicStoreCreate is the body of POST /v1/stores/public.
type PublicStoreCreate struct {
	Tenant string `json:"tenant,omitempty"`
}

// PublicFolderCreate is the body of POST /v1/stores/public/folders: a
// folder of the tenant's public store, by its "/"-separated path (the
// missing parents are created as mail folders), of a type (mail,
// calendar, contacts or tasks; default mail). Public calendars, address
// books and task lists are made this way: no client protocol creates
// one there.
type PublicFolderCreate struct {
	Tenant string `json:"tenant,omitempty"`
	Path   string `json:"path"`
	Type   string `json:"type,omitempty"`
	// ACL entries set on the folder (subject → rights, e.g. "anyone":
	// "lr"), as IMAP SETACL would; at most 100.
	ACL map[string]string `json:"acl,omitempty"`
}

// PublicFolder is the answer: the folder made (or found, with Created
// false when the path existed with that type already).
type PublicFolder struct {
	ID      int64  `json:"id"`
	StoreID int64  `json:"store_id"`
	Path    string `json:"path"`
	Type    string `json:"type"`
	Created bool   `json:"created"`
}

// Purge is the body of POST /v1/softdelete/purge: remove what was
// soft-deleted more than Days days ago (0: everything soft-deleted).
type Purge struct {
	Days *json.Number `json:"days"`
}

// PurgeResult counts what a purge removed.
type PurgeResult struct {
	Items   int64 `json:"items"`
	Folders int64 `json:"folders"`
	Stores  int64 `json:"stores"`
	Blobs   int64 `json:"blobs"`
}

// Delivery is the reply of POST /v1/deliver.
type Delivery struct {
	User     string `json:"user"`
	FolderID int64  `json:"folder_id"`
	UID      uint32 `json:"uid"`
	ItemID   int64  `json:"item_id"`
	// Others lists further users reached through a group address.
	Others []Delivery `json:"others,omitempty"`
	// Forwarded lists the group's contacts the message was sent on to
	// (through the outbound queue); User is "" when the group has no
	// user members.
	Forwarded []string `json:"forwarded,omitempty"`
}

// ---- conversions ----

func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func tenantOf(t *store.Tenant) Tenant {
	return Tenant{
		Name: t.Name, QuotaWarn: t.QuotaWarn, UserQuotaWarn: t.UserQuotaWarn, UserQuotaSoft: t.UserQuotaSoft,
		UserQuotaHard: t.UserQuotaHard, Viewers: list(t.Viewers), Admins: list(t.Admins), PublicStoreID: t.PublicStoreID, HomeNode: t.HomeNode,
		Created: t.Created.UTC(),
	}
}

func (s *Server) userOf(u *store.User) User {
	var off []string
	if s.o.DisabledFeatures != nil {
		off = s.o.DisabledFeatures()
	}
	eff := []string{}
	for _, f := range store.Features {
		on := !slices.Contains(off, f)
		if slices.Contains(u.EnabledFeatures, f) {
			on = true
		}
		if slices.Contains(u.DisabledFeatures, f) {
			on = false
		}
		if on {
			eff = append(eff, f)
		}
	}
	return User{
		Login: u.Login, Tenant: u.Tenant, FullName: u.FullName, Email: u.Email, Aliases: list(u.Aliases),
		Active: u.Active, Admin: int(u.Admin),
		Features: Features{Enabled: list(u.EnabledFeatures), Disabled: list(u.DisabledFeatures), Effective: eff},
		StoreID:  u.StoreID,
		Quota:    UserQuota{Override: u.QuotaOverride, Warn: u.Quota.Warn, Soft: u.Quota.Soft, Hard: u.Quota.Hard},
		SendAs:   list(u.SendAs), Groups: list(u.Groups), HomeNode: u.HomeNode,
		Resource: Resource{AutoAccept: u.Resource.AutoAccept, DeclineConflict: u.Resource.DeclineConflict,
			DeclineRecurring: u.Resource.DeclineRecurring, Capacity: u.Resource.Capacity},
		Created: u.Created.UTC(),
	}
}

func groupOf(g *store.Group) Group {
	return Group{Name: g.Name, Tenant: g.Tenant, Email: g.Email, Kind: string(g.Kind), Hidden: g.Hidden,
		BuiltIn: g.BuiltIn, Members: list(g.Members), Contacts: list(g.Contacts)}
}

func storeOf(st *store.Store) Store {
	return Store{ID: st.ID, Tenant: st.Tenant, Kind: string(st.Kind), Owner: st.Owner, Orphan: st.Orphan, FormerOwner: st.FormerOwner,
		Locale: st.Locale, Size: st.Size, SizeHuman: HumanSize(st.Size), Messages: st.Messages, Created: st.Created.UTC(), Node: st.Node}
}

// HumanSize formats a byte count with two decimals in binary units, as
// kopano-admin prints store sizes ("462.40 MB").
func HumanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v := float64(n)
	for _, u := range []string{"KB", "MB", "GB", "TB"} {
		v /= 1024
		if v < 1024 || u == "TB" {
			return fmt.Sprintf("%.2f %s", v, u)
		}
	}
	return "" // not reached
}

// maxMB bounds quota values so MB → bytes cannot overflow an int64.
const maxMB = 1 << 40

// parseMB checks that a quota value is a non-negative whole number of MB
// and returns it in bytes.
func parseMB(field string, n *json.Number) (*int64, error) {
	if n == nil {
		return nil, nil
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil || v < 0 || v > maxMB {
		return nil, badRequest("%s: %q is not a whole, non-negative number of megabytes", field, n.String())
	}
	v <<= 20
	return &v, nil
}

// SearchStatus is where the full-text index stands (GET
// /v1/search/status). Backlog is the number of change journal entries
// not yet indexed over the stores listed: 0 when the index is current.
type SearchStatus struct {
	Enabled   bool          `json:"enabled"`
	Backlog   int64         `json:"backlog"`
	Docs      int64         `json:"docs"`
	TextBytes int64         `json:"text_bytes"`
	Stores    []SearchStore `json:"stores"`
	// IndexBytes is the size of the whole index on disk (all stores
	// only).
	IndexBytes *int64 `json:"index_bytes,omitempty"`
}

// SearchStore is one store's index position: changes up to IndexedTo
// (a MODSEQ) are indexed, ModSeq is the store's latest.
type SearchStore struct {
	StoreID   int64  `json:"store_id"`
	Owner     string `json:"owner"`
	IndexedTo uint64 `json:"indexed_to"`
	ModSeq    uint64 `json:"modseq"`
	Backlog   int64  `json:"backlog"`
	Docs      int64  `json:"docs"`
	TextBytes int64  `json:"text_bytes"`
}

// SearchReindex names the stores to reindex (POST /v1/search/reindex).
type SearchReindex struct {
	Login string `json:"login,omitempty"`
	All   bool   `json:"all,omitempty"`
}
