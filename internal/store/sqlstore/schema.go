package sqlstore

// migrations are applied in order; each runs in one transaction and bumps
// schema_version. They are append-only: a released migration is never
// edited. "{{id}}" becomes the dialect's auto-increment primary key.
//
// Ids are never reused, on SQLite too (AUTOINCREMENT): caches and
// clients may key on them.
//
// Times are stored as Unix microseconds (BIGINT) so both dialects compare
// them the same way. "{{bytes}}" becomes the dialect's byte-string type.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
CREATE TABLE tenants (
	id {{id}},
	name TEXT NOT NULL,
	name_lc TEXT NOT NULL UNIQUE,
	quota_warn BIGINT NOT NULL DEFAULT 0,
	uq_warn BIGINT NOT NULL DEFAULT 0,
	uq_soft BIGINT NOT NULL DEFAULT 0,
	uq_hard BIGINT NOT NULL DEFAULT 0,
	public_store_id BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE TABLE tenant_viewers (
	tenant_id BIGINT NOT NULL,
	viewer_id BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, viewer_id)
);
CREATE TABLE tenant_admins (
	tenant_id BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);
CREATE TABLE domains (
	name TEXT PRIMARY KEY,
	tenant_id BIGINT NOT NULL
);
CREATE TABLE users (
	id {{id}},
	tenant_id BIGINT NOT NULL,
	login TEXT NOT NULL,
	login_lc TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL DEFAULT '',
	full_name TEXT NOT NULL DEFAULT '',
	active INTEGER NOT NULL DEFAULT 1,
	admin INTEGER NOT NULL DEFAULT 0,
	features_on TEXT NOT NULL DEFAULT '',
	features_off TEXT NOT NULL DEFAULT '',
	quota_override INTEGER NOT NULL DEFAULT 0,
	q_warn BIGINT NOT NULL DEFAULT 0,
	q_soft BIGINT NOT NULL DEFAULT 0,
	q_hard BIGINT NOT NULL DEFAULT 0,
	mr_accept INTEGER NOT NULL DEFAULT 0,
	mr_decline_conflict INTEGER NOT NULL DEFAULT 0,
	mr_decline_recurring INTEGER NOT NULL DEFAULT 0,
	capacity INTEGER NOT NULL DEFAULT 0,
	home_node TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	store_id BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);
-- Every mail address (user primary, user alias, group) is unique.
CREATE TABLE addresses (
	address TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL DEFAULT 0,
	group_id BIGINT NOT NULL DEFAULT 0,
	is_primary INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX addresses_user ON addresses (user_id);
CREATE TABLE sendas (
	user_id BIGINT NOT NULL,
	delegate_id BIGINT NOT NULL,
	PRIMARY KEY (user_id, delegate_id)
);
CREATE TABLE groups (
	id {{id}},
	tenant_id BIGINT NOT NULL,
	name TEXT NOT NULL,
	name_lc TEXT NOT NULL,
	email TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	hidden INTEGER NOT NULL DEFAULT 0,
	builtin INTEGER NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, name_lc)
);
CREATE TABLE group_members (
	group_id BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
CREATE TABLE stores (
	id {{id}},
	tenant_id BIGINT NOT NULL,
	kind TEXT NOT NULL,
	owner_id BIGINT NOT NULL DEFAULT 0,
	former_owner TEXT NOT NULL DEFAULT '',
	orphan INTEGER NOT NULL DEFAULT 0,
	locale TEXT NOT NULL,
	size BIGINT NOT NULL DEFAULT 0,
	messages BIGINT NOT NULL DEFAULT 0,
	modseq BIGINT NOT NULL DEFAULT 0,
	deleted INTEGER NOT NULL DEFAULT 0,
	deleted_at BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE INDEX stores_tenant ON stores (tenant_id);
CREATE TABLE folders (
	id {{id}},
	store_id BIGINT NOT NULL,
	parent_id BIGINT NOT NULL DEFAULT 0,
	name TEXT NOT NULL,
	name_lc TEXT NOT NULL,
	type TEXT NOT NULL,
	special TEXT NOT NULL DEFAULT '',
	uidvalidity BIGINT NOT NULL,
	uidnext BIGINT NOT NULL DEFAULT 1,
	highestmodseq BIGINT NOT NULL DEFAULT 0,
	messages BIGINT NOT NULL DEFAULT 0,
	size BIGINT NOT NULL DEFAULT 0,
	deleted INTEGER NOT NULL DEFAULT 0,
	deleted_at BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL
);
CREATE INDEX folders_store ON folders (store_id);
CREATE UNIQUE INDEX folders_live_name ON folders (store_id, parent_id, name_lc) WHERE deleted = 0;
CREATE TABLE items (
	id {{id}},
	store_id BIGINT NOT NULL,
	folder_id BIGINT NOT NULL,
	uid BIGINT NOT NULL,
	modseq BIGINT NOT NULL,
	flags TEXT NOT NULL DEFAULT '',
	size BIGINT NOT NULL,
	blob TEXT NOT NULL,
	internal_date BIGINT NOT NULL,
	deleted INTEGER NOT NULL DEFAULT 0,
	deleted_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX items_folder_uid ON items (folder_id, uid);
-- Covers the listing of a folder (UID, MODSEQ, flags, size) without row look-ups.
CREATE INDEX items_listing ON items (folder_id, deleted, uid, modseq, size, internal_date, flags);
CREATE INDEX items_deleted ON items (deleted, deleted_at) WHERE deleted = 1;
-- IMAP subscriptions are per user (a delegate subscribes to shared folders).
CREATE TABLE subscriptions (
	user_id BIGINT NOT NULL,
	folder_id BIGINT NOT NULL,
	PRIMARY KEY (user_id, folder_id)
);
CREATE INDEX subscriptions_folder ON subscriptions (folder_id);
CREATE TABLE acl (
	folder_id BIGINT NOT NULL,
	subject TEXT NOT NULL,
	rights TEXT NOT NULL,
	PRIMARY KEY (folder_id, subject)
);
CREATE INDEX acl_subject ON acl (subject);
CREATE TABLE changes (
	store_id BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	kind TEXT NOT NULL,
	folder_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL DEFAULT 0,
	uid BIGINT NOT NULL DEFAULT 0,
	time BIGINT NOT NULL,
	PRIMARY KEY (store_id, seq)
);
CREATE INDEX changes_folder ON changes (folder_id, seq);
-- Reference counts of content blobs. Blobs up to inlineMax bytes keep
-- their content in data (committed with the item, no file), larger ones
-- live in the blob store and data is NULL.
CREATE TABLE blobs (
	id TEXT PRIMARY KEY,
	size BIGINT NOT NULL,
	refs BIGINT NOT NULL,
	zero_since BIGINT NOT NULL DEFAULT 0,
	data {{bytes}}
);
CREATE INDEX blobs_unreferenced ON blobs (zero_since) WHERE refs = 0;
`,
	// 2: object index (CalDAV/CardDAV names, UIDs, time ranges), properties,
	// autoreply records and the outbound queue.
	`
ALTER TABLE items ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN object_uid TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN t_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN t_end BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX items_live_name ON items (folder_id, name) WHERE deleted = 0 AND name <> '';
CREATE INDEX items_object_uid ON items (folder_id, object_uid) WHERE deleted = 0 AND object_uid <> '';
CREATE INDEX items_range ON items (folder_id, deleted, t_start, t_end) WHERE name <> '';
-- Properties of folders, stores, domains and tenants. principal is the
-- user id for per-user ("/private/") keys, 0 otherwise.
CREATE TABLE props (
	kind TEXT NOT NULL,
	target TEXT NOT NULL,
	principal BIGINT NOT NULL DEFAULT 0,
	key TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (kind, target, principal, key)
);
CREATE TABLE record_once (
	store_id BIGINT NOT NULL,
	key TEXT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (store_id, key)
);
CREATE TABLE queue (
	id {{id}},
	tenant TEXT NOT NULL DEFAULT '',
	sender TEXT NOT NULL DEFAULT '',
	mail_from TEXT NOT NULL DEFAULT '',
	rcpts TEXT NOT NULL,
	blob TEXT NOT NULL,
	size BIGINT NOT NULL,
	envid TEXT NOT NULL DEFAULT '',
	ret TEXT NOT NULL DEFAULT '',
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL,
	next_attempt BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
CREATE INDEX queue_due ON queue (next_attempt);
`,
	// 3: single instance storage of MIME parts: a message blob may be a
	// manifest of literal segments and part blobs (parts.go).
	`
ALTER TABLE blobs ADD COLUMN parts TEXT;
`,
	// 4: IMAP SAVEDATE (RFC 8514) reads when an item was saved into its
	// folder from its latest item-created journal entry (savedate.go).
	`
CREATE INDEX changes_item_created ON changes (item_id) WHERE kind = 'item-created';
`,
	// 5: message summaries (IMAP ENVELOPE, BODYSTRUCTURE, header) kept
	// with the content they derive from (itemmeta.go); NULL until computed.
	`
ALTER TABLE blobs ADD COLUMN meta {{bytes}};
`,
	// 6: users linked to an external directory (user_plugin = ldap) by
	// its unique attribute, so renames there keep the same Roost user.
	`
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id <> '';
`,
	// 7: per-user secrets: bearer tokens, app passwords and web client
	// sessions (secrets.go). Only a keyed hash of each is kept.
	`
CREATE TABLE secrets (
	id {{id}},
	user_id BIGINT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	scopes TEXT NOT NULL DEFAULT '',
	hash TEXT NOT NULL,
	remote TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL DEFAULT 0,
	last_used BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX secrets_name ON secrets (user_id, kind, name);
CREATE UNIQUE INDEX secrets_hash ON secrets (kind, hash);
`,
	// 8: TOTP keys (RFC 6238) of users with a second factor (secrets.go).
	`
CREATE TABLE totp (
	user_id BIGINT PRIMARY KEY,
	key_b32 TEXT NOT NULL,
	enabled BIGINT NOT NULL,
	last_step BIGINT NOT NULL DEFAULT 0
);
`,
	// 9: the cluster's node registry and the leases of run-once jobs
	// (cluster.go, docs/cluster.md).
	`
CREATE TABLE nodes (
	name TEXT PRIMARY KEY,
	address TEXT NOT NULL DEFAULT '',
	roles TEXT NOT NULL DEFAULT '',
	version TEXT NOT NULL DEFAULT '',
	started BIGINT NOT NULL DEFAULT 0,
	heartbeat BIGINT NOT NULL,
	draining INTEGER NOT NULL DEFAULT 0,
	instance TEXT NOT NULL DEFAULT ''
);
CREATE TABLE leases (
	job TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	expires BIGINT NOT NULL
);
`,
	// 10: conversations (JMAP Thread): every item's thread, assigned when
	// mail is appended (threads.go), and the keys that find a thread; a
	// date index per folder and per store, so that the newest messages
	// are paged in the database (QueryItems).
	`
ALTER TABLE items ADD COLUMN thread_id BIGINT NOT NULL DEFAULT 0;
UPDATE items SET thread_id = id;
CREATE INDEX items_thread ON items (thread_id, deleted, internal_date);
CREATE INDEX items_folder_date ON items (folder_id, deleted, internal_date, id);
CREATE INDEX items_store_date ON items (store_id, deleted, internal_date, id);
CREATE TABLE thread_keys (
	store_id BIGINT NOT NULL,
	key TEXT NOT NULL,
	thread_id BIGINT NOT NULL,
	PRIMARY KEY (store_id, key)
);
`,
	// 11: the full-text index (store.Index, search.go): a cursor per
	// store into its change journal and one document per indexed item.
	// The engine's part differs: an FTS5 table on SQLite, a tsvector
	// column with a GIN index on PostgreSQL (migrateStep fills these in).
	`
CREATE TABLE search_cursor (
	store_id BIGINT PRIMARY KEY,
	seq BIGINT NOT NULL
);
CREATE TABLE search_docs (
	item_id BIGINT PRIMARY KEY,
	store_id BIGINT NOT NULL,
	bytes BIGINT NOT NULL{{search_doc}}
);
CREATE INDEX search_docs_store ON search_docs (store_id);
{{search_index}}
`,
	// 12: the OpenID provider's clients and signing keys (sso.go), the
	// same on every node.
	`
CREATE TABLE sso_objects (
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	created BIGINT NOT NULL,
	PRIMARY KEY (kind, name)
);
`,
	// 13: the proxy targets a backend of the sharded mode registers
	// (docs/cluster.md, "Sharded mode").
	`ALTER TABLE nodes ADD COLUMN endpoints TEXT NOT NULL DEFAULT ''`,
	// 14: a group's link to its directory entry (LDAP sync: renames and
	// deletions of groups).
	`ALTER TABLE groups ADD COLUMN external_id TEXT NOT NULL DEFAULT ''`,
	// 15: share notifications (JMAP Sharing, store.ShareNotification):
	// written by SetACL into the store of the user an entry names, with
	// a journal entry of that store; deleted_seq marks a destroyed one
	// (kept for /changes until the purge).
	`
CREATE TABLE share_notifications (
	id {{id}},
	store_id BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	deleted_seq BIGINT NOT NULL DEFAULT 0,
	deleted_at BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	changed_by TEXT NOT NULL,
	object_store_id BIGINT NOT NULL,
	folder_id BIGINT NOT NULL,
	folder_type TEXT NOT NULL,
	name TEXT NOT NULL,
	old_rights TEXT NOT NULL,
	new_rights TEXT NOT NULL
);
CREATE INDEX share_notifications_store ON share_notifications (store_id, deleted_seq, seq);
`,
	// 16: an outbound message's claim by a node's queue, until a time in
	// the database's clock (queue.go, ClaimDue), apart from next_attempt,
	// which each node schedules by its own clock.
	`ALTER TABLE queue ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0`,
	// 17: the user a journal entry's change was made for (store.Change.Actor:
	// JMAP's CalendarEventNotification tells other users' changes apart).
	`ALTER TABLE changes ADD COLUMN actor TEXT NOT NULL DEFAULT ''`,
	// 18: archive stores (archive.go): the node an archive lives on, at most
	// one attached archive per user, and what was archived, so that an
	// item is copied once however often the archiver runs.
	`
ALTER TABLE stores ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX stores_one_archive ON stores (owner_id) WHERE kind = 'archive' AND orphan = 0 AND deleted = 0 AND owner_id <> 0;
CREATE TABLE archived (
	item_id BIGINT PRIMARY KEY,
	store_id BIGINT NOT NULL,
	archive_item_id BIGINT NOT NULL,
	archived BIGINT NOT NULL,
	stubbed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX archived_store ON archived (store_id);
`,
	// 19: a login reads the tenants its user administers (Principal): by
	// user, which the primary key (tenant_id, user_id) serves only by
	// scanning it whole, a cost that grows with the number of tenants.
	`CREATE INDEX tenant_admins_user ON tenant_admins (user_id)`,
	// 20: journal entries from before migration 17 recorded no actor ('');
	// they are marked as unrecorded (store.ActorUnrecorded), so that an
	// upgraded store does not show its whole calendar history as other
	// users' changes. (On a database that ran 17 earlier, the no-actor
	// entries written since are marked too: they are at most days old.)
	`UPDATE changes SET actor = '(unrecorded)' WHERE actor = ''`,
	// 21: the archiver removed the original of an archived item (its
	// removal rule): the copy stays where it is, while the copy of an
	// original the user deleted moves to the archive's deleted folder.
	// Copies are looked up by the records that claim them (a restored
	// archive's unclaimed copies are linked, not copied again).
	`
ALTER TABLE archived ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX archived_copy ON archived (archive_item_id);
`,
	// 22: a tenant's home node (sharded mode): its users without one of
	// their own live there.
	`ALTER TABLE tenants ADD COLUMN home_node TEXT NOT NULL DEFAULT ''`,
	// 23: the URLs a node registers for HTTP clients (sharded mode's
	// redirect mode, docs/cluster.md): its own and through the reverse
	// proxy.
	`
ALTER TABLE nodes ADD COLUMN public_url TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN proxy_url TEXT NOT NULL DEFAULT '';
`,
	// A tenant's link to its directory entry (LDAP companies,
	// ldap_company_unique_attribute), so that the directory sync
	// follows a company's renames.
	`ALTER TABLE tenants ADD COLUMN external_id TEXT NOT NULL DEFAULT ''`,
	// A tenant's contacts: address book entries with an address and no
	// account (store.Contact).
	`
CREATE TABLE contacts (
	id {{id}},
	tenant_id BIGINT NOT NULL,
	email TEXT NOT NULL,
	email_lc TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '',
	hidden INTEGER NOT NULL DEFAULT 0,
	external_id TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL,
	UNIQUE (tenant_id, email_lc)
);
CREATE TABLE group_contacts (
	group_id BIGINT NOT NULL,
	contact_id BIGINT NOT NULL,
	PRIMARY KEY (group_id, contact_id)
);
CREATE INDEX group_contacts_contact ON group_contacts (contact_id);
`,
}
