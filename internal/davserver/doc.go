// Package davserver is Roost's CalDAV (RFC 4791) and CardDAV (RFC 6352)
// server: an http.Handler over the store, with WebDAV (RFC 4918), WebDAV
// sync (RFC 6578), extended MKCOL (RFC 5689), quota properties (RFC 4331),
// current-user-principal (RFC 5397) and implicit scheduling between users
// of the installation (RFC 6638, through package groupware).
//
// # URL layout
//
//	/.well-known/caldav, /.well-known/carddav   PROPFIND and OPTIONS answered as
//	(and / when mounted there)                  /dav/ would; other methods 301
//	                                            (GET) or 308 to /dav/ (RFC 6764)
//	/dav/                                       context path
//	/dav/principals/<login>/                    a user's principal
//	/dav/calendars/<login>/                     calendar home
//	/dav/calendars/<login>/<folder>/            a calendar (or plain collection)
//	/dav/calendars/<login>/<folder>/<name>      a calendar object resource
//	/dav/calendars/<login>/~<id>/               any folder by id (shared,
//	                                            public, or nested under a
//	                                            mail folder)
//	/dav/calendars/<login>/inbox/, outbox/      schedule inbox (copies of the
//	                                            iTIP messages the user received;
//	                                            invitations themselves are
//	                                            delivered into the calendar) and
//	                                            outbox (POST VFREEBUSY requests)
//	/dav/addressbooks/<login>/<folder>/<name>   address books and vCards
//
// # Data model
//
//   - A calendar, task list or address book is a store folder (types
//     calendar, tasks, contacts); a plain WebDAV collection (MKCOL without
//     a resource type under a calendar home, and every nested collection)
//     is a notes folder. A top-level folder is named by its folder name,
//     nested ones by the path of names below it.
//   - A resource is a store item: content = the bytes the client PUT,
//     unchanged unless scheduling rewrote it (and read with the
//     liberties of ical.Normalize, each logged at PUT); Name = the last URL segment; ObjectUID = the UID; Start
//     and End = the instants the object occupies (package groupware), so
//     that the store prefilters time-range queries in the database.
//   - The ETag is the item's blob id (its content hash), strong and quoted.
//     A PUT over an existing resource replaces the item (store.ReplaceItem),
//     which refuses if it changed concurrently: 412.
//   - Collection properties (displayname, calendar-color, …, and every dead
//     property) are folder properties "{namespace}local" holding the XML
//     content; dead properties of a resource are folder properties
//     "item/<name>/{namespace}local".
//   - getctag and sync tokens come from the store's change journal: the
//     token is the store MODSEQ; a sync-collection reads the journal after
//     it, keeps the changes of the collection and reports the resources
//     that still exist and those that no longer do.
//
// # Scheduling and free/busy
//
//   - A PUT or DELETE in a calendar runs implicit scheduling (package
//     groupware) after the resource is stored: internal attendees of the
//     organizer's tenant get the event in their default calendar, their
//     PARTSTAT changes are written into the organizer's copy, resources
//     answer by themselves, and other addresses go to Options.Outbound.
//     When scheduling changed the stored resource, the PUT answers
//     without an ETag (RFC 4791 §5.3.4). The organizer's copy gets
//     SCHEDULE-STATUS per attendee (RFC 6638 §7.3).
//   - Scheduling is planned (owner, old version, every attendee looked
//     up) before the resource is written: a store failure fails the
//     request with nothing written, never a wrong invitation.
//     An organizer's object naming more than
//     groupware.DefaultMaxAttendees attendees is refused (403
//     max-attendees-per-instance).
//   - A scheduling object resource (one with ORGANIZER) has a
//     Schedule-Tag (header and property) derived from its content
//     without what the server changes on its own (SCHEDULE-STATUS,
//     other attendees' PARTSTAT), so merged replies keep it; PUT and
//     DELETE honour If-Schedule-Tag-Match (RFC 6638 §3.2.10, §8.3).
//   - The schedule inbox is the hidden notes folder
//     groupware.ScheduleInboxName: one copy of the latest iTIP message
//     per UID, removed when the user answers or deletes the event, by
//     the client, or, once older than Options.ScheduleInboxTTL, when the
//     next message for the user is written.
//   - free-busy-query needs the lookup right on the calendar; the schedule
//     outbox POST answers for every user of the caller's tenant (Kopano:
//     Everyone sees free/busy), from their calendar folders, never with
//     event details.
//
// # Invariants
//
//   - Every store call carries the authenticated principal; the store
//     enforces ACLs and tenancy. Objects of other tenants and folders the
//     principal cannot look up answer 404, the same as nonexistent ones.
//   - Request bodies are bounded (Options.MaxBodyBytes, MaxXMLBytes); XML
//     with a DOCTYPE is refused (no entity expansion of any kind); XML
//     trees are bounded in depth and size; recurrence expansion is bounded
//     (ical.ExpandLimits, Options.MaxInstances), and a rule that exceeds
//     the bounds yields the instances found so far, never an endless loop;
//     the answer then says it is incomplete (a 507 entry with
//     DAV:number-of-matches-within-limits, or REQUEST-STATUS 2.11).
//   - Store errors become HTTP statuses in one place (Server.writeError).
package davserver
