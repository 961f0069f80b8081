// Package vcard reads and writes vCard 4.0 (RFC 6350) and reads vCard 3.0
// (RFC 2426) objects, for CardDAV (RFC 6352).
//
// The package is pure: it works on []byte and io.Writer and never touches
// storage or the network.
//
// # Invariants
//
//   - Decode keeps every property, group prefix and parameter, in order,
//     so that Encode writes back what a client stored. Values are kept as
//     written (escapes included, RFC 6350 §3.4); the typed helpers
//     unescape.
//   - Decode → Encode → Decode gives equal cards. Encode folds lines at 75
//     octets (RFC 6350 §3.2) and never splits a UTF-8 sequence.
//   - vCard 3.0 input is read as is: its TYPE=pref and bare parameters
//     ("TEL;WORK:…", read as TYPE=WORK) are understood by the helpers; no
//     conversion between versions happens.
//   - Decode is bounded by [Limits]; exceeding one yields a [*LimitError].
package vcard
