// Package easserver serves Exchange ActiveSync ([MS-ASHTTP], [MS-ASCMD])
// at /Microsoft-Server-ActiveSync as an http.Handler over the store:
// Provision, FolderSync, Sync of mail, GetItemEstimate, Ping, ItemOperations,
// MoveItems, SendMail/SmartReply/SmartForward, Settings and
// FolderCreate/Update/Delete. The WBXML codec and code pages are in
// internal/proto/wbxml and internal/proto/eas; access control and
// tenancy are the store's.
//
// Invariants:
//   - Sync state comes from the store's change journal: a SyncKey names a
//     journal position (and, during the first full load of a folder, a UID
//     cursor), so changes made by IMAP, JMAP, LMTP or any other adapter
//     reach the device, and there is no second change log. A SyncKey is
//     self-contained ("S<uidvalidity>.<seq>[.<cursor>.<bound>]"): resending
//     the previous key after a lost answer repeats the same changes.
//   - Collection ids are folder ids of the user's own store; any other id
//     (another user's folder, another tenant's) is "not found", as the
//     store reports it.
//   - Every command but Provision needs the device's current policy key;
//     a device with a pending remote wipe gets nothing but the wipe.
//   - A parked Ping holds only its request's goroutine, a timer and a
//     hub subscription that calls a function (no goroutine of its own):
//     it costs about what an IMAP IDLE does.
//   - An unexpected store error is EAS status 111 (retry later), logged;
//     never "not found".
package easserver
