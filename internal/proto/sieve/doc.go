// Package sieve implements the Sieve mail filtering language (RFC 5228)
// with the extensions Roost offers its users: fileinto, reject and
// ereject (RFC 5429), envelope, encoded-character, the comparators
// i;octet, i;ascii-casemap and i;ascii-numeric, relational (RFC 5231),
// subaddress (RFC 5233), copy (RFC 3894), imap4flags (RFC 5232), body
// (RFC 5173), variables (RFC 5229), vacation (RFC 5230) with
// vacation-seconds (RFC 6131), date and currentdate (RFC 5260), and
// mailbox (RFC 5490: fileinto :create and the mailboxexists test, which
// asks the Message through the optional MailboxChecker interface).
//
// Not implemented: :regex, the index extension (:index, :last), the
// envelope part "auth", variable namespaces (${a.b} is left as written),
// and restricting the address test to address headers (any header may be
// given; values that do not parse as addresses are compared whole by
// :all and skipped by the other address parts).
//
// The package is pure: it knows nothing of storage or the network. The
// caller parses a script once with Parse, then runs it per message with
// Run, handing in the message through the Message interface. Run never
// performs an action; it returns the list of actions in a Result and the
// caller carries them out.
//
// Invariants:
//   - Parse rejects a script that uses an extension it did not require
//     (RFC 5228 §3.2), so Run never meets an unknown command, test or tag.
//   - Parse is bounded by Limits: script size, nesting depth (checked before
//     recursing, so a 10,000-deep script is an error, not a stack
//     overflow), command count, string size and list length.
//   - Run is bounded by Env: an instruction budget that also pays for
//     wildcard matching, a cap on every variable's length (RFC 5229 §6:
//     values are truncated, never grown without bound) and on the number of
//     actions.
//   - A Result always says whether the implicit keep applies
//     (RFC 5228 §2.10.2); when Run returns an error the caller must keep
//     the message (RFC 5228 §2.10.6).
package sieve
