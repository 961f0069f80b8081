// Package jmapserver serves JMAP (RFC 8620 core, RFC 8621 mail, with
// VacationResponse, Quota RFC 9425, Sieve RFC 9661, Blob RFC 9404) as an
// http.Handler: the session resource at /.well-known/jmap and
// /jmap/session, the API endpoint, blob upload and download, and push
// over EventSource, WebSocket (RFC 8887) and PushSubscription callbacks. Wire formats live in internal/proto/jmap;
// access control and tenancy are the store's.
//
// Invariants:
//   - Every state string of the mail types is a position in the store's
//     change journal (store.Store.ModSeq): /changes reads that same
//     journal, so it sees what IMAP, LMTP, CalDAV and every other adapter
//     changed. There is no second change log. Types kept in store
//     settings (VacationResponse, Identity, SieveScript, Quota levels,
//     EmailSubmission, PushSubscription) have states of their own values
//     or counters, documented in docs/jmap.md.
//   - One account per user: the private store ("A" + store id). An id of
//     another account or tenant is notFound (never forbidden), as the
//     store reports it.
//   - Ids carry a one-letter kind: M mailbox, E email, T thread (the
//     store's thread id), S script or submission, I identity, P push
//     subscription; blob ids are "m"+item id (a whole message), "p"+item
//     id+"_"+part path (a body part), "G"+SHA-256 (an upload), "Q"+SHA-256
//     +"_"+part path (a part of an upload), "s"+digest (a Sieve script).
//   - A push callback never connects to an address outside
//     Options.PushAllowedNetworks that is loopback, link-local, private or
//     multicast: the dialer checks the address it connects to.
//   - An unexpected store error is serverFail (method level) or HTTP 500
//     (request level), logged with its context; never notFound.
package jmapserver
