package directory

import "context"

// Syncer is a directory whose whole content can be read into Roost's
// store (user_plugin = ldap): `roost admin directory sync` and the
// periodic sync of ldap_sync_interval run it.
type Syncer interface {
	// Sync reads the directory and applies it, reporting progress
	// (progress may be nil).
	Sync(ctx context.Context, progress func(SyncProgress)) (*SyncSummary, error)
}

// SyncProgress reports how far a sync is: Phase is "users", "sendas",
// "orphans", "groups" or "contacts"; Done of Total entries of that
// phase.
type SyncProgress struct {
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// SyncSummary is what a sync did.
type SyncSummary struct {
	Users     int `json:"users"` // user entries read
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Renamed   int `json:"renamed"`
	Unchanged int `json:"unchanged"`
	// Orphaned users vanished from the directory: their Roost users
	// are deleted and their stores kept as orphans (roost admin store
	// list-orphans), as Kopano does.
	Orphaned      int `json:"orphaned"`
	Groups        int `json:"groups"` // group entries read
	GroupsCreated int `json:"groups_created"`
	GroupsUpdated int `json:"groups_updated"` // membership changed
	// GroupsRenamed and GroupsDeleted follow the directory's groups by
	// their unique attribute (LDAP): a renamed entry renames the Roost
	// group, a vanished one deletes it (with the ACL entries naming it).
	GroupsRenamed int `json:"groups_renamed"`
	GroupsDeleted int `json:"groups_deleted"`
	// Contacts are the contact entries read (LDAP:
	// ldap_contact_search_filter); the tenants' contacts linked to them
	// are created, updated (address, name, hidden flag or link
	// changed) and deleted with them.
	Contacts        int      `json:"contacts"`
	ContactsCreated int      `json:"contacts_created"`
	ContactsUpdated int      `json:"contacts_updated"`
	ContactsDeleted int      `json:"contacts_deleted"`
	Failed          int      `json:"failed"` // entries skipped (see Errors)
	Errors          []string `json:"errors,omitempty"`
	Seconds         float64  `json:"seconds"`
}

// AddressBook is a directory searched live for people: ldap.Directory.
// The protocols' address books do not call it: they list the store's
// users and contacts (TenantAddressBook), which the sync keeps in line
// with the directory.
type AddressBook interface {
	// Search returns at most limit entries whose login, name or
	// address contains every word of query (escaped: never a filter).
	Search(ctx context.Context, query string, limit int) ([]GALEntry, error)
	// AddressLists names the address lists (views of the address book).
	AddressLists(ctx context.Context) ([]string, error)
	// SearchList is Search within one address list.
	SearchList(ctx context.Context, list, query string, limit int) ([]GALEntry, error)
}

// GALEntry is one address book entry found by AddressBook.Search.
type GALEntry struct {
	Login    string   `json:"login"`
	FullName string   `json:"full_name"`
	Mail     string   `json:"mail"`
	Aliases  []string `json:"aliases,omitempty"`
	Active   bool     `json:"active"`
	// Contact: an entry with an address and no account (a
	// ldap_contact_search_filter entry, Kopano's kopano-contact); Login
	// is empty.
	Contact bool `json:"contact,omitempty"`
}
