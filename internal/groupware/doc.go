// Package groupware holds the calendar and contact logic that does not
// depend on a protocol: the object index of calendar resources (UID, kind
// and the instant range a resource occupies, used by the store to
// prefilter time-range queries), free/busy computation, iTIP scheduling
// between users of the installation (RFC 5546, RFC 6638 implicit
// scheduling), incoming iMIP (RFC 6047, Scheduler.ProcessITIP), resource
// booking (Kopano §8.8), and import/export of whole calendars and address
// books.
//
// # Invariants
//
//   - All recurrence work is bounded (ical.ExpandLimits): a rule that
//     cannot be expanded within the bounds is treated as unbounded, never
//     as an error the client can use to make the server spin.
//   - An index range always contains every instance of the object: for
//     floating times and dates it is widened by 14 hours on each side,
//     because their instants depend on the time zone of whoever asks
//     (RFC 4791 §9.9).
package groupware
