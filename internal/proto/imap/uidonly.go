package imap

// CodeUIDRequired is the response code of a command that uses message
// sequence numbers after UIDONLY was enabled (RFC 9586 §3).
const CodeUIDRequired Code = "UIDREQUIRED"

// UIDFetch starts "* uid UIDFETCH (": the FETCH response of a UIDONLY
// session, numbered by UID (RFC 9586 §3.3). The UID item is written only
// when the client asked for it.
func (w *Writer) UIDFetch(uid uint32) *FetchWriter {
	b := appendUint(append(w.line(), "* "...), uid)
	w.write(append(b, " UIDFETCH ("...))
	return &FetchWriter{w: w}
}

// HasSeqNumbers reports whether a search program names messages by
// sequence number (a bare set other than "$").
func HasSeqNumbers(keys []SearchKey) bool {
	for i := range keys {
		k := &keys[i]
		if k.Op == "SEQ" && !k.Seq.Saved || HasSeqNumbers(k.Keys) {
			return true
		}
	}
	return false
}
