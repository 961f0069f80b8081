package backup

import (
	"bytes"
	"testing"
)

// FuzzImportParsers feeds untrusted mbox and Maildir input to the
// parsers the importer uses: none may panic, and CRLF conversion keeps
// every byte but adds CRs.
func FuzzImportParsers(f *testing.F) {
	f.Add("From a@b Mon Jan  2 15:04:05 2006", "1700000000.M1P1.host:2,SRFab", []byte("Subject: x\nStatus: RO\n\nbody\n"))
	f.Add("From ", ":2,", []byte("\r\n\n\r"))
	f.Fuzz(func(t *testing.T, fromLine, name string, msg []byte) {
		mboxDate(fromLine)
		maildirFlags(name, map[byte]string{'a': "$Label1"})
		c := toCRLF(msg)
		if len(c) < len(msg) || !bytes.Equal(bytes.ReplaceAll(c, []byte("\r"), nil), bytes.ReplaceAll(msg, []byte("\r"), nil)) {
			t.Fatalf("toCRLF(%q) = %q", msg, c)
		}
		mboxFlags(c)
		headerDate(c)
		looksLikeMessage(c)
		if _, err := countMbox(bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	})
}
