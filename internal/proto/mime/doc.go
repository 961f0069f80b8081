// Package mime parses stored RFC 5322 messages with MIME (RFC 2045-2049)
// structure into a tree of parts that carry byte offsets into the message,
// and derives from that tree what the IMAP server (RFC 9051), SEARCH, SORT
// and THREAD (RFC 5256), single-instance attachment storage and the
// full-text indexer need.
//
// The package is pure: it reads a message from a []byte or an io.ReaderAt
// and never touches storage or the network.
//
// # Invariants
//
//   - Parsing never rejects a message. Malformed structure degrades the way
//     RFC 2045 §5.2 and RFC 2046 §5.1 ask: an unusable Content-Type becomes
//     text/plain; charset=us-ascii, a multipart without a boundary parameter
//     becomes a single text/plain part, a missing close delimiter ends the
//     multipart at the end of its parent (or of the message). Only an
//     exceeded [Limits] value produces an error, a [*LimitError], and even
//     then Parse returns the tree built so far, which still covers the whole
//     message.
//   - Offsets always satisfy
//     HeaderStart <= HeaderEnd <= BodyStart <= BodyEnd <= len(msg), the
//     header and body of every child lie inside the body of its parent, and
//     the encapsulated message of a message/rfc822 part spans exactly that
//     part's body. In practice HeaderEnd == BodyStart; they are kept apart
//     so that callers never have to assume it.
//   - A header block includes its terminating blank line (the IMAP
//     BODY[HEADER] rule); the line break in front of a boundary delimiter
//     belongs to the delimiter, not to the part before it (RFC 2046 §5.1.1).
//   - Work is linear in the size of the message: one pass over its lines,
//     boundary lookups in a trie, no recursion while parsing. Tree depth,
//     part count and header sizes are bounded by [Limits].
//   - Sizes and line counts are of the stored bytes. A message stored with
//     bare LF line endings reports LF sizes; normalise to CRLF at delivery
//     if IMAP clients must see RFC 5322 sizes.
//   - Strings taken from headers are raw: encoded words (RFC 2047) stay
//     encoded, as IMAP ENVELOPE and BODYSTRUCTURE require. Use
//     [DecodeHeaderValue] to get text for SEARCH, SORT and display.
//
// # Use from IMAP (RFC 9051)
//
//	ENVELOPE                       Envelope(root).List()
//	BODY, BODYSTRUCTURE            BodyStructure(root, extended) or AppendBodyStructure
//	BODY[], BODY[p], p.HEADER,
//	  p.TEXT, p.MIME               root.SectionRange(path, spec), then slice the message
//	HEADER.FIELDS (.NOT)           root.SectionHeader(path), then Header.Filter
//	BINARY[p], BINARY.SIZE[p]      root.Section(path), then Part.DecodedBody /
//	                               DecodedSize; Part.CanDecode false means
//	                               NO [UNKNOWN-CTE] (RFC 3516)
//	SEARCH HEADER/FROM/SUBJECT...  Header.Values and DecodeHeaderValue
//	SEARCH BODY/TEXT               Part.Text (TEXT adds the decoded header)
//	SENTBEFORE/ON/SINCE, SORT DATE ParseDate(root.Header.Get("Date"))
//	SORT SUBJECT, THREAD           BaseSubject, ParseMessageIDs, ParseMessageID
//
// Value trees are written with AppendValue; see wire.go for the encoding.
package mime
