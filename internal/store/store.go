// Package store holds Roost's domain records (tenants, users, groups,
// domains, stores, folders, items, ACLs, the change journal) and the
// interface every storage backend implements.
//
// Invariants, kept by every backend and checked by storetest:
//   - Access control and tenant scoping are enforced inside the store: every
//     call reads the acting Principal from its context (WithPrincipal). An
//     object of another tenant is reported as ErrNotFound, never as
//     ErrPermission, so its existence does not leak. A folder the principal
//     may not look up (no "l" right) is ErrNotFound as well; a folder it may
//     see but not act on in the asked way is ErrPermission.
//   - UIDs are assigned per folder, strictly increasing, and never reused
//     within a UIDVALIDITY, also across crashes and restarts: the folder's
//     UIDNEXT is advanced in the same transaction that inserts the item.
//   - Every change to a store's folders or items is written to that store's
//     change journal in the same transaction as the change. The journal's
//     sequence number is the MODSEQ of the change (RFC 7162): it grows
//     strictly per store.
//   - A write that returned without error is durable (committed with fsync
//     in SQLite's WAL, or acknowledged by PostgreSQL).
//   - Deletion is soft: a deleted item or folder stays, marked, until it is
//     purged after softdelete_lifetime days or by an administrator.
//   - Message bytes live in the blob store, referenced by content hash and
//     reference-counted here; a blob is freed only when its last reference
//     is purged.
package store

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/proto/mime"
)

// Sentinel errors. Adapters map them to protocol replies with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrPermission = errors.New("permission denied")
	ErrOverQuota  = errors.New("over quota")
	ErrConflict   = errors.New("conflict")
	ErrInvalid    = errors.New("invalid argument")
)

// AdminLevel is a user's administrative power (Kopano admin levels).
type AdminLevel int

const (
	AdminNone   AdminLevel = 0 // ordinary user
	AdminTenant AdminLevel = 1 // administers its own tenant
	AdminSystem AdminLevel = 2 // administers everything
)

// Feature names that can be enabled or disabled per user (SPEC §3).
var Features = []string{"imap", "pop3", "mobile", "web", "dav"}

// Tenant is an organisation (Kopano "company").
type Tenant struct {
	ID            int64
	Name          string
	QuotaWarn     int64 // bytes over all the tenant's stores; 0 = off
	UserQuotaWarn int64 // default user quota levels for this tenant; 0 = global
	UserQuotaSoft int64
	UserQuotaHard int64
	Viewers       []string // names of tenants that may see this tenant's address book
	Admins        []string // logins (of any tenant) that administer this tenant
	PublicStoreID int64    // 0 when the tenant has no public store
	// HomeNode is the home node (sharded mode) of the tenant's users
	// that have none of their own; "" for none.
	HomeNode string
	// ExternalID links the tenant to its directory entry (LDAP: a
	// company's "attr:value" of ldap_company_unique_attribute), so that
	// a company renamed in the directory renames its tenant. "" for
	// Roost's own tenants.
	ExternalID string
	Created    time.Time
}

// Domain is a mail domain owned by a tenant.
type Domain struct {
	Name   string
	Tenant string
}

// ResourceSettings are the meeting-request settings of rooms and equipment.
type ResourceSettings struct {
	AutoAccept       bool
	DeclineConflict  bool
	DeclineRecurring bool
	Capacity         int // equipment capacity; 0 or 1 for a room
}

// CalendarUserType is the user's iCalendar CUTYPE (RFC 5545 §3.2.3), as
// CalDAV's calendar-user-type and JMAP's Principal type show it: an
// active user is an INDIVIDUAL; a non-active one with an equipment
// capacity a RESOURCE, with meeting-request settings a ROOM; any other
// (a shared mailbox) an INDIVIDUAL.
func (u *User) CalendarUserType() string {
	switch {
	case u.Active:
		return "INDIVIDUAL"
	case u.Resource.Capacity > 1:
		return "RESOURCE"
	case u.Resource.AutoAccept || u.Resource.DeclineConflict || u.Resource.DeclineRecurring:
		return "ROOM"
	}
	return "INDIVIDUAL"
}

// InAddressList reports whether the user is in its tenant's global
// address list and matches q (lower case; "" matches every entry): users
// with an address, not only active ones (shared mailboxes, rooms and
// equipment receive mail too), whose name, login, address or an alias
// contains q. The web client's directory and ActiveSync's GAL search
// list the same entries.
func (u *User) InAddressList(q string) bool {
	if u.Email == "" {
		return false
	}
	for _, f := range append([]string{u.FullName, u.Login, u.Email}, u.Aliases...) {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// OwnsAddress reports whether addr is the user's address or one of its
// aliases, or a subaddress ("user+tag") of either, case-insensitively:
// then Recipients resolved addr to this user itself, not through a group
// (delivery looks a group's contacts up only otherwise).
func (u *User) OwnsAddress(addr string) bool {
	addr = strings.ToLower(addr)
	if at := strings.LastIndexByte(addr, '@'); at > 0 {
		if plus := strings.IndexByte(addr[:at], '+'); plus > 0 {
			addr = addr[:plus] + addr[at:]
		}
	}
	return strings.EqualFold(u.Email, addr) || slices.ContainsFunc(u.Aliases, func(a string) bool { return strings.EqualFold(a, addr) })
}

// Quota holds the three quota levels in bytes; 0 means the level is off.
type Quota struct {
	Warn int64
	Soft int64
	Hard int64
}

// User is an account. Non-active users (shared mailboxes, rooms, equipment)
// cannot log in but have a store and receive mail.
type User struct {
	ID               int64
	Tenant           string
	TenantID         int64
	Login            string
	Email            string
	Aliases          []string
	FullName         string
	Active           bool
	Admin            AdminLevel
	EnabledFeatures  []string // explicitly enabled, overriding the default
	DisabledFeatures []string // explicitly disabled
	QuotaOverride    bool     // use Quota instead of tenant/global defaults
	Quota            Quota
	SendAs           []string // logins that may send as this user
	Resource         ResourceSettings
	HomeNode         string
	StoreID          int64 // 0 until the store is created
	Groups           []string
	PasswordHash     string // never leaves the store layer through the admin API
	// ExternalID is the user's unique id in an external directory
	// (ldap_user_unique_attribute, e.g. entryUUID or objectGUID); ""
	// for users of Roost's own database. Logins may change, it does not.
	ExternalID string
	Created    time.Time
}

// GroupKind says whether a group grants permissions or only distributes mail.
type GroupKind string

const (
	GroupSecurity     GroupKind = "security"
	GroupDistribution GroupKind = "distribution"
)

// EveryoneGroup is the built-in group every user of a tenant belongs to.
const EveryoneGroup = "Everyone"

// Group is a set of users.
type Group struct {
	ID       int64
	Tenant   string
	TenantID int64
	Name     string
	Email    string
	Kind     GroupKind
	Hidden   bool
	Members  []string // logins
	// Contacts are the addresses of the tenant's contacts that are
	// members: mail to the group goes out to them too.
	Contacts []string
	BuiltIn  bool
	// ExternalID links the group to its directory entry (LDAP: the
	// group unique attribute and its value), so the directory sync
	// follows renames and deletions; "" for Roost's own groups.
	ExternalID string
}

// GroupUpdate changes a group; nil fields stay as they are.
type GroupUpdate struct {
	// Name renames the group: its members, address and the ACL entries
	// naming it (group:NAME) go with it.
	Name   *string
	Email  *string // "" removes the address
	Kind   *GroupKind
	Hidden *bool
	// ExternalID links the group to a directory entry ("" unlinks it).
	ExternalID *string
}

// StoreKind is the kind of a message store.
type StoreKind string

const (
	StorePrivate StoreKind = "private"
	StorePublic  StoreKind = "public"
	StoreArchive StoreKind = "archive"
)

// Store is a tree of folders belonging to a user (private, archive) or to a
// tenant (public). A private store whose user was deleted is an orphan.
type Store struct {
	ID       int64
	TenantID int64
	Tenant   string
	Kind     StoreKind
	OwnerID  int64  // 0 for public stores and orphans
	Owner    string // owner's login, "" for public stores and orphans
	Orphan   bool
	// FormerOwner is the login of the user an orphan belonged to (Kopano
	// lists it with --list-orphans).
	FormerOwner string
	Locale      string
	Size        int64 // bytes of items not soft-deleted
	Messages    int64 // items not soft-deleted
	Created     time.Time
	// ModSeq is the store's change journal position: the Seq of its
	// latest change (JMAP state strings derive from it).
	ModSeq uint64
	// Node is the cluster node an archive store lives on ("" = the node
	// of its owner's private store); "" for other stores.
	Node string
}

// FolderType is the content type of a folder.
type FolderType string

const (
	FolderMail     FolderType = "mail"
	FolderCalendar FolderType = "calendar"
	FolderContacts FolderType = "contacts"
	FolderTasks    FolderType = "tasks"
	FolderNotes    FolderType = "notes"
)

// Special folder roles (RFC 6154 names where they exist).
const (
	SpecialInbox    = "inbox"
	SpecialDrafts   = "drafts"
	SpecialSent     = "sent"
	SpecialTrash    = "trash"
	SpecialJunk     = "junk"
	SpecialOutbox   = "outbox"
	SpecialArchive  = "archive"
	SpecialCalendar = "calendar"
	SpecialContacts = "contacts"
	SpecialTasks    = "tasks"
	SpecialNotes    = "notes"
)

// Folder is a node of a store's folder tree.
type Folder struct {
	ID            int64
	StoreID       int64
	ParentID      int64 // 0 for top-level folders
	Name          string
	Type          FolderType
	Special       string // "" or one of the Special* roles
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      int64 // items not soft-deleted
	Size          int64
	Subscribed    bool // the acting principal's IMAP subscription
	Deleted       bool
	DeletedAt     time.Time
	Created       time.Time
}

// Item is a message, event, contact, task or note in a folder. Its content
// is a blob; Size is the blob's size.
type Item struct {
	ID           int64
	StoreID      int64
	FolderID     int64
	UID          uint32
	ModSeq       uint64
	Flags        []string // IMAP system flags (\Seen…) and keywords, sorted
	Size         int64
	Blob         blob.ID
	InternalDate time.Time
	Deleted      bool
	DeletedAt    time.Time
	// Object index, set by CalDAV/CardDAV (and JMAP, ActiveSync) for
	// calendar and contact items; empty for mail.
	Name      string    // resource name in the folder ("abc.ics"), unique among live items
	ObjectUID string    // iCalendar/vCard UID
	Start     time.Time // first instant the object occupies (zero: unbounded)
	End       time.Time // end of the last occurrence (zero: unbounded)
	// ThreadID groups a store's messages into conversations (JMAP
	// Thread): the id of the thread's first item. The store assigns it
	// when mail is appended, from Message-ID, References, In-Reply-To
	// and the base subject (RFC 8621 §3); a copy in the same store keeps
	// it, a move keeps the item. Every other item is its own thread.
	ThreadID int64
}

// ItemQuery selects a page of live items of one store by date
// (Mail.QueryItems): the database sorts and pages, so a client asking for
// the newest 50 of a large mailbox does not read every summary.
type ItemQuery struct {
	StoreID int64
	// FolderIDs restricts the items to these folders, each of which needs
	// the read right; empty: every mail folder of the store the principal
	// may read.
	FolderIDs []int64
	// Ascending sorts oldest first; the default is newest first. Ties
	// are broken by item id, in the same direction.
	Ascending bool
	// CollapseThreads keeps only the first item of each thread in the
	// sort order (among the selected folders).
	CollapseThreads bool
	// Position skips this many items; Limit returns at most this many
	// (1 to MaxQueryItems).
	Position int
	Limit    int
	// Total asks for the number of matching items (or threads).
	Total bool
}

// MaxQueryItems bounds ItemQuery.Limit; MaxThreadItems the items
// ThreadItems returns; MaxItemThreads the ids of one ItemThreads call.
const (
	MaxQueryItems  = 100000
	MaxThreadItems = 1000
	MaxItemThreads = 5000
)

// ItemRef is one item of an ItemQuery page.
type ItemRef struct {
	ID           int64
	FolderID     int64
	ThreadID     int64
	InternalDate time.Time
}

// ItemPage is the answer to an ItemQuery; Total is -1 when not asked.
type ItemPage struct {
	Items []ItemRef
	Total int
}

// ItemSummary is the part of an item that listing a large folder needs.
// Flags slices may be shared between summaries: treat them as read-only.
type ItemSummary struct {
	ID           int64
	UID          uint32
	ModSeq       uint64
	Flags        []string
	Size         int64
	InternalDate time.Time
}

// MessageMeta is the mime.Summary of a live message (Mail.MessageMetas).
type MessageMeta struct {
	ID      int64
	UID     uint32
	Summary *mime.Summary
}

// MaxMessageMetas bounds the UIDs of one MessageMetas call.
const MaxMessageMetas = 1000

// ItemOpener opens the content of a live item of the folder it was made
// for (Mail.OpenItems).
type ItemOpener func(ctx context.Context, itemID int64) (io.ReadCloser, error)

// ACL rights (RFC 4314 §2.1) as single letters.
const (
	RightLookup     = 'l'
	RightRead       = 'r'
	RightSeen       = 's'
	RightWrite      = 'w'
	RightInsert     = 'i'
	RightPost       = 'p'
	RightCreate     = 'k'
	RightDelete     = 'x'
	RightDeleteMsg  = 't'
	RightExpunge    = 'e'
	RightAdmin      = 'a'
	AllRights       = "lrswipkxtea"
	SubjectAnyone   = "anyone"
	subjectUserPfx  = "user:"
	subjectGroupPfx = "group:"
)

// ACLEntry grants Rights on a folder to a subject: "anyone", "user:LOGIN" or
// "group:NAME".
type ACLEntry struct {
	Subject string
	Rights  string
}

// UserSubject and GroupSubject build ACL subjects.
func UserSubject(login string) string { return subjectUserPfx + login }
func GroupSubject(name string) string { return subjectGroupPfx + name }

// ChangeKind says what a journal entry records.
type ChangeKind string

const (
	ChangeFolderCreated ChangeKind = "folder-created"
	ChangeFolderUpdated ChangeKind = "folder-updated"
	ChangeFolderDeleted ChangeKind = "folder-deleted"
	ChangeItemCreated   ChangeKind = "item-created"
	ChangeItemUpdated   ChangeKind = "item-updated"
	ChangeItemDeleted   ChangeKind = "item-deleted"
	// ChangeShareNotification: a share notification of the store (its
	// owner's rights on another store's folder changed) was created or
	// destroyed. FolderID and ItemID are 0; ShareNotifications says
	// which.
	ChangeShareNotification ChangeKind = "share-notification"
	// ChangeHomeNode: the home node of the store's owner changed (the
	// sharded mode's store move, Cluster.MoveHome, or an administrator's
	// change of home_node). FolderID and ItemID are 0; no folder or item
	// changed, so protocol adapters skip it. It is in the journal so that
	// the change is recorded with its actor and time, and so that its
	// notification reaches every node: the old home backend ends the
	// owner's sessions when it hears of it (docs/cluster.md).
	ChangeHomeNode ChangeKind = "home-node"
)

// ShareNotification records that a user's rights on a folder of another
// store changed (JMAP Sharing, RFC 9670 §4). SetACL writes one into the
// private store of the user an entry names ("user:LOGIN"), in the same
// transaction as the ACL change and with a journal entry of that store
// (ChangeShareNotification): it is a journal-tracked object of the
// recipient's store, not a second change log.
type ShareNotification struct {
	ID      int64
	StoreID int64  // the recipient's store
	Seq     uint64 // the recipient store's journal position at creation
	// DeletedSeq is the journal position at which it was destroyed; 0
	// while it lives.
	DeletedSeq    uint64
	Created       time.Time
	ChangedBy     string // login of who changed the ACL; "" for the system
	ObjectStoreID int64  // the store of the folder shared
	FolderID      int64
	FolderType    FolderType
	Name          string // the folder's name when its ACL changed
	OldRights     string // ACL letters before the change; "" for none
	NewRights     string // and after
}

// MaxShareNotifications bounds the live share notifications of a store:
// beyond it the oldest are destroyed as new ones come.
const MaxShareNotifications = 1000

// MaxShareFanout bounds the users one ACL change of a "group:" or
// "anyone" entry notifies: each member (of the tenant, for "anyone" and
// the Everyone group) whose effective rights change gets a share
// notification, unless more than MaxShareFanout users have a store,
// when none do (the change itself is made all the same).
const MaxShareFanout = 100

// Change is one entry of a store's change journal. Seq is the MODSEQ.
type Change struct {
	Seq      uint64
	StoreID  int64
	Kind     ChangeKind
	FolderID int64
	ItemID   int64
	UID      uint32
	Time     time.Time
	Name     string // the item's object Name, if it has one
	// Actor is the login of the user whose request made the change (the
	// principal's, or the one the system principal acted for:
	// Principal.ActorLogin); "" for changes no user asked for (delivery,
	// jobs); ActorUnrecorded for entries written before actors were
	// recorded (schema version 20).
	Actor string
}

// ActorUnrecorded is the Actor of journal entries older than the actor
// column: who made them is not known, so nothing is told of them as
// another user's change (JMAP's CalendarEventNotification). No login can
// take this form.
const ActorUnrecorded = "(unrecorded)"

// SpamLearnKey is the RecordOnce key saying that an item was trained (or
// needs no training) as "spam" or "ham" by spam learning (mail.Learner).
// Delivery's spam verdict and imports into Junk record "spam" so that the
// learner leaves those messages alone.
func SpamLearnKey(dir string, itemID int64) string {
	return "spamlearn/" + dir + "/" + strconv.FormatInt(itemID, 10)
}

// SpamLearnKeep is the RecordOnce period of SpamLearnKey records: as long
// as the store keeps them (90 days).
const SpamLearnKeep = 100 * 365 * 24 * time.Hour

// NewItem describes an item to append.
type NewItem struct {
	Content      io.Reader // read to EOF and stored as a blob
	Flags        []string
	InternalDate time.Time // zero = now
	// Object index (see Item). Name, when set, must be unique among the
	// folder's live items (ErrConflict otherwise).
	Name      string
	ObjectUID string
	Start     time.Time
	End       time.Time
	// OverQuota stores the item even above the hard quota. Only the system
	// principal may set it: quota warnings reach a full mailbox (Kopano
	// delivers them regardless).
	OverQuota bool
}

// ObjectQuery selects items by their object index (ListObjects). Zero
// fields do not restrict.
type ObjectQuery struct {
	Names     []string  // only items with one of these names
	ObjectUID string    // only items with this UID
	Start     time.Time // only named items overlapping [Start, End): an item
	End       time.Time // with a zero Start or End is unbounded on that side
	Limit     int       // 0 = no limit
}

// RecentProp is the folder property holding the \Recent watermark
// (ClaimRecent). It is neither under /private/ nor /shared/, so IMAP
// METADATA never shows it.
const RecentProp = "imap:recent-uid"

// Property limits (store props, folder props).
const (
	MaxPropKey   = 256
	MaxPropValue = 1 << 20
	MaxProps     = 1000 // per folder, store, domain or tenant
)

// QueueRecipient is one recipient of a queued message and where its
// delivery stands.
type QueueRecipient struct {
	Addr   string
	State  string // QueuePending, QueueSent, QueueFailed
	Error  string // last error or the remote server's reply
	Notify string // DSN NOTIFY parameter ("" = default)
	ORcpt  string // DSN ORCPT parameter
}

// Queue recipient states.
const (
	QueuePending = "pending"
	QueueSent    = "sent"
	QueueFailed  = "failed"
)

// QueuedMessage is a message in the outbound queue.
type QueuedMessage struct {
	ID          int64
	Tenant      string // the sender's tenant ("" for system mail)
	Sender      string // login of the submitting user ("" for system mail)
	From        string // envelope MAIL FROM ("" = null sender <>)
	Recipients  []QueueRecipient
	Size        int64
	EnvID       string // DSN ENVID
	Ret         string // DSN RET (FULL or HDRS)
	Attempts    int
	LastError   string
	Created     time.Time
	NextAttempt time.Time
	Expires     time.Time
}

// Queue is the durable outbound queue (spooler). System principal only,
// except ListQueue/GetQueued/DeleteQueued/RetryQueued which system admins
// may call, and tenant admins for their tenant's messages.
type Queue interface {
	// Enqueue stores the message content and the envelope durably.
	Enqueue(ctx context.Context, m QueuedMessage, content io.Reader) (*QueuedMessage, error)
	// ClaimDue returns up to limit messages whose NextAttempt is not after
	// now and that no worker has claimed, and claims them for lease in
	// the database's clock, so that no other worker, on any node and
	// whatever its clock, takes them while this one works. UpdateQueued
	// (the attempt's outcome) ends the claim; a worker that dies leaves
	// its messages to the others once the lease has passed.
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]*QueuedMessage, error)
	OpenQueued(ctx context.Context, id int64) (io.ReadCloser, error)
	GetQueued(ctx context.Context, id int64) (*QueuedMessage, error)
	ListQueue(ctx context.Context) ([]*QueuedMessage, error)
	// QueueStats counts the queue and finds its oldest message's creation
	// time (zero when empty) in one statement: what monitoring needs,
	// without listing the queue. System admins only.
	QueueStats(ctx context.Context) (n int, oldest time.Time, err error)
	// UpdateQueued saves Recipients, Attempts, LastError and NextAttempt.
	UpdateQueued(ctx context.Context, m *QueuedMessage) error
	// RetryQueued makes a message due now.
	RetryQueued(ctx context.Context, id int64) error
	// DeleteQueued removes a message (delivered, bounced or by an admin).
	DeleteQueued(ctx context.Context, id int64) error
}

// FlagOp says how UpdateFlags combines flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// QuotaStatus reports a store's usage against its effective quota.
type QuotaStatus struct {
	StoreID  int64
	Size     int64
	Messages int64
	Quota    Quota // effective levels
	Source   string
	// Source: "user" (override), "tenant" (tenant user default) or "global".

	// MaxMessages is the store's limit on Messages, 0 for none
	// (Defaults.MaxMessages; public stores have none).
	MaxMessages int64
}

// TenantUsage is a tenant's usage over all its stores, public included.
type TenantUsage struct {
	Tenant    string
	Size      int64
	QuotaWarn int64
}

// UserUpdate lists the changes to make to a user; nil fields stay as they are.
type UserUpdate struct {
	Rename   *string
	Email    *string
	FullName *string
	// PasswordHash, when it differs from the stored hash, also revokes
	// the user's OpenID provider codes and refresh tokens (a new password
	// ends what the old one granted).
	PasswordHash  *string
	Admin         *AdminLevel
	Active        *bool
	AliasAdd      []string
	AliasRemove   []string
	QuotaOverride *bool
	QuotaWarn     *int64
	QuotaSoft     *int64
	QuotaHard     *int64
	EnableFeature []string
	DisableFeat   []string
	SendAsAdd     []string
	SendAsRemove  []string
	AutoAccept    *bool
	DeclConflict  *bool
	DeclRecurring *bool
	Capacity      *int
	HomeNode      *string
	ExternalID    *string

	// PasswordHashWas makes a PasswordHash change conditional: it is made
	// only if the stored hash still equals this (ErrConflict otherwise),
	// and nothing else may change with it. Rehashing at login uses it, so
	// that it never undoes a concurrent password change.
	PasswordHashWas *string
}

// TenantUpdate lists changes to a tenant; nil fields stay.
type TenantUpdate struct {
	QuotaWarn     *int64
	UserQuotaWarn *int64
	UserQuotaSoft *int64
	UserQuotaHard *int64
	HomeNode      *string // "" clears it
	// Name renames the tenant: its users, groups, stores and settings
	// stay (they hang on its id), mail queued for it follows.
	Name *string
	// ExternalID links the tenant to a directory entry ("" unlinks it).
	ExternalID *string
}

// Defaults are installation-wide settings the store needs (from the
// configuration). They can change at runtime on reload.
type Defaults struct {
	Quota      Quota // global user quota levels
	TenantWarn int64 // global tenant warning level (companyquota_warn)
	Locale     string

	// MaxMessages is how many items a private store may hold (IMAP QUOTA
	// MESSAGE resource, RFC 9208 §5.2); 0 is no limit.
	MaxMessages int64
}

// Contact is an entry of a tenant's address book with an address and no
// account (Kopano's contacts: a supplier, a partner's office): the
// address book searches of every protocol list it beside the tenant's
// users. It receives no mail here; mail to it goes out. Made by a tenant
// administrator, or by the directory sync (LDAP contacts).
type Contact struct {
	ID       int64
	Tenant   string
	TenantID int64
	Email    string // unique within the tenant (case-insensitive)
	Name     string
	// Hidden leaves it out of the address book.
	Hidden bool
	// ExternalID links it to its directory entry (LDAP: the contact's
	// unique attribute and value); "" for Roost's own contacts.
	ExternalID string
	Created    time.Time
}

// ContactUpdate changes a contact; nil fields stay as they are.
type ContactUpdate struct {
	Email      *string
	Name       *string
	Hidden     *bool
	ExternalID *string
}

// MaxContactName bounds a contact's name, in bytes.
const MaxContactName = 256

// MaxGroupContacts bounds the contact members of one group: a message to
// the group is queued once for all of them.
const MaxGroupContacts = 1000

// Directory is the part of the store that keeps tenants, domains, users and
// groups (the db user backend, and the cache of the ldap/unix backends).
type Directory interface {
	CreateTenant(ctx context.Context, name string) (*Tenant, error)
	GetTenant(ctx context.Context, name string) (*Tenant, error)
	ListTenants(ctx context.Context) ([]*Tenant, error)
	UpdateTenant(ctx context.Context, name string, u TenantUpdate) (*Tenant, error)
	DeleteTenant(ctx context.Context, name string) error
	AddTenantViewer(ctx context.Context, tenant, viewer string) error
	RemoveTenantViewer(ctx context.Context, tenant, viewer string) error
	AddTenantAdmin(ctx context.Context, tenant, login string) error
	RemoveTenantAdmin(ctx context.Context, tenant, login string) error

	AddDomain(ctx context.Context, tenant, domain string) error
	RemoveDomain(ctx context.Context, domain string) error
	ListDomains(ctx context.Context) ([]Domain, error)

	// CreateUser creates a user in tenant (must exist) and its private store.
	CreateUser(ctx context.Context, tenant string, u User) (*User, error)
	GetUser(ctx context.Context, login string) (*User, error)
	// UserByAddress finds a user by primary address or alias (case-insensitive).
	UserByAddress(ctx context.Context, addr string) (*User, error)
	ListUsers(ctx context.Context, tenant string) ([]*User, error)
	UpdateUser(ctx context.Context, login string, u UserUpdate) (*User, error)
	// DeleteUser removes the user; its store becomes an orphan.
	DeleteUser(ctx context.Context, login string) error

	CreateGroup(ctx context.Context, tenant string, g Group) (*Group, error)
	GetGroup(ctx context.Context, tenant, name string) (*Group, error)
	ListGroups(ctx context.Context, tenant string) ([]*Group, error)
	DeleteGroup(ctx context.Context, tenant, name string) error
	// UpdateGroup changes a group of tenant (not a built-in one).
	UpdateGroup(ctx context.Context, tenant, name string, u GroupUpdate) (*Group, error)
	AddGroupMember(ctx context.Context, tenant, group, login string) error
	RemoveGroupMember(ctx context.Context, tenant, group, login string) error

	// CreateContact adds a contact to tenant ("" the principal's own);
	// an administrator of the tenant may. An address a contact of the
	// tenant has already is ErrConflict.
	CreateContact(ctx context.Context, tenant string, c Contact) (*Contact, error)
	// ListContacts lists the contacts of tenant, hidden ones included,
	// ordered by name then address; "" lists every tenant the principal
	// sees. Whoever sees a tenant sees its contacts, as its users.
	ListContacts(ctx context.Context, tenant string) ([]*Contact, error)
	// UpdateContact changes the contact of tenant with address email.
	UpdateContact(ctx context.Context, tenant, email string, u ContactUpdate) (*Contact, error)
	// DeleteContact removes the contact of tenant with address email
	// (and its group memberships).
	DeleteContact(ctx context.Context, tenant, email string) error
	// AddGroupContact makes the tenant's contact with address email a
	// member of group: mail to the group goes out to it too. A group has
	// at most MaxGroupContacts (ErrInvalid beyond).
	AddGroupContact(ctx context.Context, tenant, group, email string) error
	RemoveGroupContact(ctx context.Context, tenant, group, email string) error
	// RecipientContacts returns the addresses of the contacts that are
	// members of the group addr names (as Recipients resolves it, a
	// subaddress included); none for any other address. System only.
	RecipientContacts(ctx context.Context, addr string) ([]string, error)

	// Recipients resolves a mail address to the users who receive mail
	// sent to it: the owner of a primary address or alias, the members of
	// a group, the owner of a "user+tag" subaddress's base address, or the
	// owner of a catch-all alias "@domain" — in that order. ErrNotFound
	// when nobody receives it. System principal only.
	Recipients(ctx context.Context, addr string) ([]*User, error)

	// Principal builds the principal of a user (groups, administered
	// tenants) after authentication. System principal only.
	Principal(ctx context.Context, login string) (*Principal, error)

	Secrets
	TOTPs
	SSO
}

// Mail is the part of the store that keeps stores, folders and items.
type Mail interface {
	// GetStore returns a store the principal may open.
	GetStore(ctx context.Context, id int64) (*Store, error)
	// UserStore returns the private store of a user, creating it if it does
	// not exist yet (just-in-time creation).
	UserStore(ctx context.Context, login string) (*Store, error)
	ListOrphans(ctx context.Context) ([]*Store, error)
	// HookStore attaches an orphan to a user (login != "") or makes it the
	// tenant's public store (login == "").
	HookStore(ctx context.Context, storeID int64, login string) error
	// RemoveStore soft-deletes a store that is an orphan.
	RemoveStore(ctx context.Context, storeID int64) error
	CreatePublicStore(ctx context.Context, tenant string) (*Store, error)

	ListFolders(ctx context.Context, storeID int64) ([]*Folder, error)
	GetFolder(ctx context.Context, folderID int64) (*Folder, error)
	CreateFolder(ctx context.Context, storeID, parentID int64, name string, typ FolderType) (*Folder, error)
	RenameFolder(ctx context.Context, folderID, newParentID int64, newName string) (*Folder, error)
	DeleteFolder(ctx context.Context, folderID int64) error
	RestoreFolder(ctx context.Context, folderID int64) error
	SetSubscribed(ctx context.Context, folderID int64, on bool) error
	// ListDeletedFolders lists soft-deleted folders of a store.
	ListDeletedFolders(ctx context.Context, storeID int64) ([]*Folder, error)

	// SharedFolders lists the folders of other users' stores and of
	// public stores that the principal may look up through an ACL entry
	// (naming it, one of its groups, or anyone), with their stores.
	SharedFolders(ctx context.Context) ([]SharedFolder, error)

	GetACL(ctx context.Context, folderID int64) ([]ACLEntry, error)
	SetACL(ctx context.Context, folderID int64, subject, rights string) error
	DeleteACL(ctx context.Context, folderID int64, subject string) error
	// MyRights returns the principal's effective rights on a folder.
	MyRights(ctx context.Context, folderID int64) (string, error)
	// ShareNotifications lists a store's share notifications, oldest
	// first: the live ones, and with since > 0 also those destroyed
	// after journal position since (DeletedSeq set). The store's owner,
	// its tenant's admins and system admins only.
	ShareNotifications(ctx context.Context, storeID int64, since uint64) ([]ShareNotification, error)
	// DeleteShareNotifications destroys live share notifications of a
	// store by id and returns the ids destroyed (ids not live there are
	// left out), journaled as ChangeShareNotification. Same access as
	// ShareNotifications.
	DeleteShareNotifications(ctx context.Context, storeID int64, ids []int64) ([]int64, error)

	AppendItem(ctx context.Context, folderID int64, it NewItem) (*Item, error)
	GetItem(ctx context.Context, itemID int64) (*Item, error)
	// ItemByUID finds a live item by UID.
	ItemByUID(ctx context.Context, folderID int64, uid uint32) (*Item, error)
	OpenItem(ctx context.Context, itemID int64) (io.ReadCloser, error)
	// ListItems lists live items with UID >= fromUID in UID order.
	ListItems(ctx context.Context, folderID int64, fromUID uint32, limit int) ([]ItemSummary, error)
	UpdateFlags(ctx context.Context, folderID int64, uids []uint32, op FlagOp, flags []string) ([]ItemSummary, error)
	// MessageMetas returns the summaries (ENVELOPE, BODYSTRUCTURE, header)
	// of the live items of a folder with the given UIDs, in UID order;
	// UIDs that do not exist are skipped. One access check and one query
	// serve the call (at most MaxMessageMetas UIDs): IMAP FETCH reads a
	// range's metadata without opening a message. Summaries are computed
	// when mail is stored; one missing (stored before summaries existed)
	// is computed from the content and stored. Needs the read right.
	MessageMetas(ctx context.Context, folderID int64, uids []uint32) ([]MessageMeta, error)
	// OpenItems checks once that the principal may read a folder and
	// returns an opener of its live items' content, for one command that
	// reads many (IMAP FETCH BODY[], SEARCH TEXT); a rights change applies
	// from the next OpenItems. The opener returns ErrNotFound for an item
	// that is not live in the folder.
	OpenItems(ctx context.Context, folderID int64) (ItemOpener, error)
	// DeleteItems soft-deletes items by UID (IMAP EXPUNGE, POP3 DELE).
	DeleteItems(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error)
	// MoveItems moves items to another folder; they get new UIDs there.
	MoveItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]UIDMap, error)
	CopyItems(ctx context.Context, folderID int64, uids []uint32, destID int64) ([]UIDMap, error)
	ListDeletedItems(ctx context.Context, folderID int64) ([]*Item, error)
	// OpenDeletedItem opens the content of a soft-deleted item (one
	// ListDeletedItems lists), for backups; ErrNotFound for an item that
	// is live or purged. Needs the read and expunge rights, as
	// ListDeletedItems does.
	OpenDeletedItem(ctx context.Context, itemID int64) (io.ReadCloser, error)
	// SaveDates returns when items of a folder were saved into it
	// (appended, copied, moved or restored there), by item ID, for IMAP
	// SAVEDATE (RFC 8514). Items not in the folder are left out. Needs the
	// read right.
	SaveDates(ctx context.Context, folderID int64, itemIDs []int64) (map[int64]time.Time, error)
	RestoreItems(ctx context.Context, itemIDs []int64) error

	// ListObjects lists live items of a folder by their object index, with
	// every Item field set, in UID order. Needs the read right.
	ListObjects(ctx context.Context, folderID int64, q ObjectQuery) ([]*Item, error)
	// ReplaceItem replaces a live item's content (and object index) in one
	// transaction: the old item is soft-deleted and a new one appended in
	// the same folder with a new UID, keeping the old Name when it.Name is
	// empty. ErrNotFound if the item is no longer live (so a caller that
	// checked an ETag cannot overwrite a concurrent change). Needs the
	// insert and delete-message rights.
	ReplaceItem(ctx context.Context, itemID int64, it NewItem) (*Item, error)

	// FolderProps returns a folder's properties (WebDAV dead properties,
	// IMAP METADATA). Keys starting with "/private/" are per user: each
	// principal sees and sets only its own. Needs the lookup right.
	FolderProps(ctx context.Context, folderID int64) (map[string]string, error)
	// SetFolderProps sets (non-nil value) or removes (nil) properties.
	// Needs the write right, or only lookup for "/private/" keys.
	SetFolderProps(ctx context.Context, folderID int64, set map[string]*string) error
	// StoreProps and SetStoreProps keep per-store settings (Sieve scripts,
	// out-of-office, IMAP server METADATA). The owner, its tenant's admins
	// and system admins may use them. "/private/" keys are per principal.
	StoreProps(ctx context.Context, storeID int64) (map[string]string, error)
	SetStoreProps(ctx context.Context, storeID int64, set map[string]*string) error
	// StorePropsPrefix is StoreProps limited to keys starting with prefix
	// (a store's properties include Sieve scripts: a caller after a few
	// small keys need not read them).
	StorePropsPrefix(ctx context.Context, storeID int64, prefix string) (map[string]string, error)
	// AddStoreProp sets key to value unless the store already has it, and
	// returns the value now stored: of concurrent callers exactly one
	// value wins and every caller learns it (URLAUTH mailbox keys).
	AddStoreProp(ctx context.Context, storeID int64, key, value string) (string, error)
	// DomainProps/SetDomainProps (DKIM keys) and TenantProps/SetTenantProps
	// (disclaimer, quota warning templates): system admins, and the
	// tenant's admins for their own.
	DomainProps(ctx context.Context, domain string) (map[string]string, error)
	SetDomainProps(ctx context.Context, domain string, set map[string]*string) error
	TenantProps(ctx context.Context, tenant string) (map[string]string, error)
	SetTenantProps(ctx context.Context, tenant string, set map[string]*string) error

	// RecordOnce records key for a store and reports true unless the same
	// key was recorded less than period ago (autoreply once per sender per
	// TIMELIMIT, Sieve vacation :days). System principal only. PurgeDeleted
	// forgets records older than 90 days, so longer periods count as 90.
	RecordOnce(ctx context.Context, storeID int64, key string, period time.Duration) (bool, error)

	// ClaimRecent atomically advances a folder's IMAP \Recent watermark —
	// the highest UID already announced as recent under uidValidity — to
	// at least uid, and returns its previous value (0 when the folder has
	// none, or one of another UIDVALIDITY). Of sessions claiming at once,
	// each gets a disjoint range (prev, uid], so a message is \Recent in
	// exactly one session (RFC 3501 §2.3.2). Needs the read right. The
	// watermark is kept in the folder property RecentProp, as
	// "UIDVALIDITY:UID", where EXAMINE and STATUS read it.
	ClaimRecent(ctx context.Context, folderID int64, uidValidity, uid uint32) (prev uint32, err error)

	// QueryItems returns a page of a store's live items by date, sorted
	// and paged by the database (JMAP Email/query). Needs the read right
	// on each folder asked for.
	QueryItems(ctx context.Context, q ItemQuery) (ItemPage, error)
	// ThreadItems returns the live items of a thread of a store that the
	// principal may read, oldest first (at most MaxThreadItems); none for
	// an unknown thread.
	ThreadItems(ctx context.Context, storeID, threadID int64) ([]ItemRef, error)
	// ItemThreads maps item ids of a store, live or deleted, to their
	// thread ids (at most MaxItemThreads ids); ids of other stores are
	// left out, and so are, for a principal without full access to the
	// store (a shared mailbox's reader), ids of items in folders it may
	// not read.
	ItemThreads(ctx context.Context, storeID int64, itemIDs []int64) (map[int64]int64, error)

	// Changes returns journal entries of a store with Seq > since, oldest first.
	Changes(ctx context.Context, storeID int64, since uint64, limit int) ([]Change, error)
	// FolderChanges returns the journal entries of one folder with Seq >
	// since, oldest first (an index serves it: a calendar's changes
	// without reading the store's mail changes). Needs the lookup right.
	FolderChanges(ctx context.Context, folderID int64, since uint64, limit int) ([]Change, error)

	StoreQuota(ctx context.Context, storeID int64) (*QuotaStatus, error)
	TenantUsage(ctx context.Context, tenant string) (*TenantUsage, error)

	// PurgeDeleted removes items, folders and stores soft-deleted more than
	// olderThan ago, and frees blobs no longer referenced. System admins only
	// (or the system principal).
	PurgeDeleted(ctx context.Context, olderThan time.Duration) (PurgeStats, error)
}

// SharedFolder is a folder of another store visible to the principal.
type SharedFolder struct {
	Folder *Folder
	Store  *Store
	Rights string
}

// UIDMap pairs a source UID with the UID its copy got (RFC 4315 COPYUID).
type UIDMap struct {
	From uint32
	To   uint32
}

// PurgeStats counts what a purge removed.
type PurgeStats struct {
	Items   int64
	Folders int64
	Stores  int64
	Blobs   int64
}

// Backend is a complete storage backend.
type Backend interface {
	Directory
	Mail
	Queue
	Index
	Archives
	// SetDefaults changes installation-wide defaults (on configuration reload).
	SetDefaults(d Defaults)
	Close() error
}

// The slices of a Backend that adapters needing less than all of it take,
// so that what an adapter can reach is written in its Options. Every
// Backend satisfies each.

// Maildrop reads and empties a user's mailboxes (POP3).
type Maildrop interface {
	UserStore(ctx context.Context, login string) (*Store, error)
	ListFolders(ctx context.Context, storeID int64) ([]*Folder, error)
	ListItems(ctx context.Context, folderID int64, fromUID uint32, limit int) ([]ItemSummary, error)
	OpenItem(ctx context.Context, itemID int64) (io.ReadCloser, error)
	DeleteItems(ctx context.Context, folderID int64, uids []uint32) ([]uint32, error)
}

// Settings keeps a user's per-store properties (Sieve scripts,
// out-of-office).
type Settings interface {
	UserStore(ctx context.Context, login string) (*Store, error)
	StoreProps(ctx context.Context, storeID int64) (map[string]string, error)
	SetStoreProps(ctx context.Context, storeID int64, set map[string]*string) error
}
