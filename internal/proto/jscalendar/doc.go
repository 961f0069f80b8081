// Package jscalendar converts between iCalendar (RFC 5545) VEVENT/VTODO
// series and JSCalendar (RFC 8984) Event and Task objects, following the
// JSCalendar ⇄ iCalendar mapping of the IETF calext working group
// (draft-ietf-calext-jscalendar-icalendar).
//
// Objects are the JSON forms (map[string]any as encoding/json decodes
// them), so that JMAP patches apply to them directly. What has no mapping
// is kept, never dropped:
//
//   - an iCalendar property with no JSCalendar counterpart (LAST-MODIFIED,
//     X- properties, …) goes into "iCalProps": a list of
//     [name, {param: value|[values]}, "unknown", raw value] entries, jCal
//     style (RFC 7265), and comes back as written;
//   - a subcomponent with no counterpart (anything but VALARM) goes into
//     "iCalComponents" as its iCalendar text;
//   - a JSCalendar property with no iCalendar counterpart (vendor
//     properties, locale, virtualLocations…) is written as
//     JSPROP;JSPTR=<name> with its JSON value, and read back;
//   - Merge puts the original lines back for every property whose meaning
//     did not change, so parameters this package does not read (X-
//     parameters on ATTENDEE, ALTREP…) survive an edit made through
//     JSCalendar, and VTIMEZONE components are carried over.
//
// The package is pure: no I/O, no clock (callers pass the time).
package jscalendar
