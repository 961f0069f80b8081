// Package ical reads and writes iCalendar (RFC 5545) objects and expands
// their recurrences for CalDAV (RFC 4791).
//
// The package is pure: it works on []byte and io.Writer and never touches
// storage or the network.
//
// # Invariants
//
//   - Decode keeps every component and property it does not understand
//     (X- and IANA extensions), in order, so that Encode writes back what a
//     client stored. Property values are kept as written (still escaped,
//     RFC 5545 §3.3.11); Text and SetText convert.
//   - Decode → Encode → Decode gives an equal tree. Encode folds lines at
//     75 octets (RFC 5545 §3.1) and never splits a UTF-8 sequence.
//   - All work is bounded: Decode by [Limits], Expand by [ExpandLimits].
//     Exceeding a limit yields a [*LimitError]; Expand still returns the
//     occurrences found so far, in order.
//   - Times are resolved through the calendar's own VTIMEZONE components
//     first (RFC 5545 §3.6.5), then through the IANA database when the
//     TZID is an IANA name and the database is available. Floating times
//     and dates use the caller's zone ([Zones.Floating], UTC by default),
//     as RFC 4791 §9.9 asks for calendar-query.
package ical
