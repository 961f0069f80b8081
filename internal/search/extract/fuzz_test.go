package extract

import (
	"bytes"
	"context"
	"testing"
)

// FuzzOffice feeds arbitrary bytes to the OOXML and OpenDocument
// readers: they must return within their limits, without panicking.
func FuzzOffice(f *testing.F) {
	f.Add(docx(f, "hello world"))
	f.Add(odt(f, "Grüße"))
	f.Add([]byte("PK\x03\x04garbage"))
	e := New(Limits{MaxAttachment: 1 << 20}, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mt := range []string{mtDOCX, mtODT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
			s, _ := e.Document(context.Background(), mt, "", data, 4096)
			if len(s) > 4096 {
				t.Fatalf("%d bytes of text, limit 4096", len(s))
			}
		}
	})
}

// FuzzXMLText checks the XML text reader on its own.
func FuzzXMLText(f *testing.F) {
	f.Add([]byte(`<a><b>x</b><p>y</p></a>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := xmlText(context.Background(), bytes.NewReader(data), 32, 1000)
		if len(s) > 1000 {
			t.Fatalf("%d bytes", len(s))
		}
	})
}

func FuzzRTF(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0 Hello \'e9\par}`))
	f.Add([]byte(`{\*\x{{{{\'`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := rtfText(context.Background(), data, 1000)
		if len(s) > 1000 {
			t.Fatalf("%d bytes", len(s))
		}
	})
}

// FuzzMessage extracts arbitrary messages.
func FuzzMessage(f *testing.F) {
	f.Add(message(map[string][]byte{"a.docx": docx(f, "x")}))
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n y\r\nATTENDEE;CN=\"a:b\":mailto:c\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nFN:a\\,b\r\nN:a;b;;;\r\nEND:VCARD\r\n"))
	e := New(Limits{MaxText: 8192}, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := e.Message(context.Background(), bytes.NewReader(data), int64(len(data)))
		if err == nil && int64(len(m.Body)+len(m.Attach)) > 8192+1 {
			t.Fatalf("%d bytes of text", len(m.Body)+len(m.Attach))
		}
	})
}
