// Package jmap holds the wire format of JMAP (RFC 8620): the request and
// response envelopes, invocations, result references with their JSON
// pointers (§3.7, including the "*" array wildcard), the request-level
// problem details (§3.6.1) and method-level errors (§3.6.2), ids (§1.2)
// and state strings. It knows nothing of storage or HTTP.
//
// Invariants:
//   - ParseRequest never accepts a body larger than Limits.MaxSize, nested
//     deeper than Limits.MaxDepth, or with more than Limits.MaxCalls
//     method calls; each refusal is a *Problem with the RFC's type.
//   - Evaluating a result reference never follows a reference to a later
//     call, so references cannot loop.
package jmap
