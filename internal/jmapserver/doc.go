// Package jmapserver serves JMAP (RFC 8620 core, RFC 8621 mail) as an
// http.Handler: the session resource at /.well-known/jmap and
// /jmap/session, the API endpoint, blob upload and download, and the
// EventSource push channel. Wire formats live in internal/proto/jmap;
// access control and tenancy are the store's.
//
// Invariants:
//   - Every state string is a position in the store's change journal
//     (store.Store.ModSeq): /changes reads that same journal, so it sees
//     what IMAP, LMTP, CalDAV and every other adapter changed. There is
//     no second change log.
//   - One account per user: the private store ("A" + store id). An id of
//     another account or tenant is notFound (never forbidden), as the
//     store reports it.
//   - Ids carry a one-letter kind: M mailbox, E email, T thread; blob ids
//     are "m"+item id (a whole message), "p"+item id+"_"+part path (a body
//     part), "G"+SHA-256 (an upload).
//   - An unexpected store error is serverFail (method level) or HTTP 500
//     (request level), logged with its context; never notFound.
package jmapserver
