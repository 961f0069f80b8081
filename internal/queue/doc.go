// Package queue is Roost's outbound mail path (SPEC §4.4, Kopano's
// spooler): the submission policy, local delivery without a round trip,
// the durable queue in the store, the spooler that delivers through a
// relay or to the recipients' MX with an SMTP client, DKIM signing,
// delivery status notifications (RFC 3464) and the tenant disclaimer.
//
// Every submission path (SMTP submission now; JMAP, the web client and
// ActiveSync later) goes through Queue.Submit with the authenticated
// principal in its context.
//
// # Sender rule
//
// A user U may use address A as envelope sender and as From: when
//   - A is U's primary address or one of U's aliases; or
//   - A belongs to a user V (primary or alias) whose SendAs list names U
//     (store.User.SendAs: "logins that may send as this user", Kopano
//     `kopano-admin --add-sendas V -u U`).
//
// In the second case the message is sent "as" V when it carries no Sender:
// header, and "on behalf of" V when the client put a Sender: header in it:
// Roost then rewrites Sender: to U's primary address (RFC 5322 §3.6.2), so
// receivers see "U on behalf of V". Roost keeps no separate on-behalf
// permission (Kopano's WebApp-only delegate flag); the SendAs grant covers
// both, and the client chooses. When From: is U's own, a Sender: header must
// be U's own address too. Every From: address must pass (RFC 5322 allows
// several). The null sender <> is not accepted from users.
//
// # Invariants
//
//   - Submit returns nil only when every recipient is delivered to a local
//     store, durably in the queue (store.Queue.Enqueue returned), or
//     failed permanently at local delivery (a full mailbox) and reported
//     to the sender by a DSN. Policy refusals store nothing, and the Sent
//     copy is made only after acceptance. (If Enqueue itself fails after
//     local recipients were served, the client gets 451 and a resend gives
//     those local recipients a second copy.)
//   - A queue entry is deleted only when every recipient is sent or failed,
//     and the DSN for failed recipients (when one is due) is itself queued
//     first. A DSN is never sent to the null sender, and DSNs go out with
//     MAIL FROM:<>, so bounces cannot loop.
//   - Retries back off exponentially (RetryBase·2^(n-1), capped at
//     RetryMax) until the message's lifetime expires.
//   - DSNs (RFC 3461): the default, and NOTIFY=FAILURE, report permanent
//     failures and expiry (Status 4.4.7); NOTIFY=SUCCESS reports local
//     delivery ("delivered") and hand-over to a server without the DSN
//     extension ("relayed"); NOTIFY=DELAY gets one "delayed" report after
//     DelayWarning; NOTIFY=NEVER gets nothing. A server that accepts the
//     DSN parameters takes the reporting over (RFC 3461 §5.2.2). RET=HDRS
//     returns only the header; failure reports otherwise return the whole
//     message (up to 10 MiB).
//   - Messages that are signed or encrypted (multipart/signed,
//     multipart/encrypted, application/pkcs7-mime, inline PGP) are never
//     changed by the disclaimer.
package queue
