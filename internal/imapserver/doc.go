// Package imapserver is Roost's IMAP server: IMAP4rev2 (RFC 9051) and
// IMAP4rev1 (RFC 3501) sessions over a store.Backend. The wire format
// lives in internal/proto/imap and message structure in
// internal/proto/mime; this package holds sessions and command semantics.
//
// # Mailbox model
//
// The personal namespace ("" with delimiter "/") holds the mail folders of
// the user's private store. The folder whose Special role is "inbox" is
// always "INBOX", whatever its localised name; other folders appear by
// their path, parent names joined with "/". Only folders of type mail whose
// ancestors are all mail folders are visible; calendars, contacts, tasks
// and notes never appear. Folders of other users that the principal may
// look up appear under "Other Users/<login>/…" (the other-users namespace),
// and the tenant's public store under "Shared Folders/…" (the shared
// namespace). A shared folder whose parent the principal may not see is
// placed at the top of its owner's tree, so no hidden folder's name leaks.
// Subscriptions are to names (RFC 9051 §6.3.7, RFC 3501 §6.3.6). For an
// existing mailbox they are the store's, per user and per folder in every
// namespace; a name without a mailbox (SUBSCRIBE of a missing name, or a
// subscribed mailbox that DELETE removed) is kept in the user's own
// private store's properties under "imap:subscribed:<name>" (subs.go), a
// key METADATA never maps, and LIST (SUBSCRIBED) shows it \NonExistent,
// LSUB \Noselect. CREATE (or RENAME) onto a stored name makes a subscribed
// mailbox and drops the stored name; RENAME takes the subscription along
// with the folder, as Dovecot does. A mailbox created over IMAP starts
// unsubscribed otherwise (RFC 9051 §6.3.4).
//
// \Recent (RFC 3501 §2.3.2) exists in IMAP4rev1 sessions only, from a
// per-folder watermark of the highest UID already announced (recent.go).
//
// # Object ids, save dates, previews
//
// OBJECTID (RFC 8474, objectid.go): MAILBOXID is "F" and the folder id,
// EMAILID "M" and the item id; both are store ids, never reused, kept by
// RENAME and MOVE. THREADID is NIL. SAVEDATE (RFC 8514) is the time of the
// item's latest item-created journal entry in its folder (store.SaveDates).
// PREVIEW (RFC 8970, preview.go) is made from the first text part that is
// not an attachment and cached in memory by item id.
//
// # Invariants
//
//   - Access control is the store's: every store call carries the session's
//     principal in its context, and the store enforces ACLs and tenancy.
//     The session adds no rights of its own.
//   - A mailbox the principal may not look up, one of another tenant and one
//     that does not exist all get the same answer, "NO [NONEXISTENT]",
//     with the same text: store errors are mapped to responses in one place
//     (errors.go).
//   - Message sequence numbers are the session's own view of the selected
//     mailbox (view.go). The view changes only when the session announces
//     the change: EXISTS for new messages, EXPUNGE or VANISHED for removed
//     ones, and never an EXPUNGE while answering FETCH, STORE or SEARCH by
//     sequence number (RFC 9051 §7.4.1). Changes by other sessions, LMTP,
//     JMAP or the web are read from the store's change journal after every
//     command and while idling.
//   - UIDs come from the store, which never reuses them within a
//     UIDVALIDITY; the session never invents one.
//   - Passwords never reach the log: commands are logged with
//     Command.Redacted.
//   - After COMPRESS DEFLATE (RFC 4978) the tagged OK is the last byte sent
//     in the clear; from then on every response is sync-flushed through
//     the compressor, so a client never waits on a partial deflate block,
//     and client data is handed to the parser as soon as it decodes.
//   - SORT and THREAD (RFC 5256) evaluate search keys exactly as SEARCH
//     does; the sequence number is the final tie-breaker of every order.
//   - A panic in a session is recovered at the connection boundary, logged,
//     and closes that connection only.
//   - Ending sessions (Close, a drain; EndUser, a store move) never cuts a
//     command in progress: a session waiting for a command or in IDLE is
//     told BYE at once, one in a command (an APPEND whose literal is still
//     arriving) after its tagged answer; only Close's grace period ends
//     what still runs after that.
package imapserver
