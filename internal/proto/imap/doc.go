// Package imap is the IMAP wire format for a server: it parses client
// commands and encodes server responses for IMAP4rev2 (RFC 9051) and
// IMAP4rev1 (RFC 3501) with the extensions Roost offers (SPEC §4.2). It
// knows nothing of storage or the network: a Reader parses from a
// *bufio.Reader and a Writer encodes to an io.Writer.
//
// # Reading commands
//
// A session reads one command at a time with Reader.ReadCommand. The result
// is a *Command whose Args field holds a typed value per command (*FetchCmd,
// *SearchCmd, …, see Command). Errors come in two kinds:
//
//   - *ParseError: the client sent something malformed or too large. The
//     server answers it (Writer.WriteParseError) and keeps serving, unless
//     ParseError.Fatal is set, in which case the Reader lost track of where
//     the next command starts and the connection must be closed.
//   - anything else (io.EOF, network errors): the connection is gone.
//
// Invariants the Reader keeps:
//
//   - Memory is bounded by Limits: a line never exceeds Limits.MaxLine, the
//     bytes buffered for one command never exceed Limits.MaxCommand, a
//     literal is never allocated before its size has been checked (so
//     "{4294967295}" costs nothing), nesting is bounded by Limits.MaxDepth
//     and the number of literals by Limits.MaxLiterals.
//   - A synchronizing literal ("{n}", RFC 9051 §4.3) is read only after the
//     OnLiteral hook accepted it; the hook sends the "+" continuation. A
//     rejected synchronizing literal is never read, so the session stays in
//     sync.
//   - After a non-fatal ParseError the Reader has consumed the whole failed
//     command, including any non-synchronizing literals (RFC 7888) it
//     announced, so the next ReadCommand starts at a command boundary.
//   - APPEND message literals are never buffered: the first message is
//     returned as an io.Reader (AppendMessage.Body) streaming from the
//     connection, and further MULTIAPPEND messages (RFC 3502) come from
//     Reader.NextAppendMessage.
//   - Mailbox names in parsed commands are always Unicode (UTF-8): modified
//     UTF-7 (RFC 3501 §5.1.3) is decoded unless Reader.UTF8 is set
//     (UTF8=ACCEPT, RFC 6855, or IMAP4rev2), and "INBOX" in any case is
//     returned as "INBOX" (RFC 9051 §5.1).
//
// # Writing responses
//
// Writer writes complete response lines into a buffer; the server calls
// Flush when it wants the client to see them. Strings are sent as atoms,
// quoted strings or literals as their content requires (AppendString).
// Message bodies are streamed with FetchWriter.Literal and never buffered.
//
// The package never panics on client input; FuzzReadCommand checks that.
package imap
