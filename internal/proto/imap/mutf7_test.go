package imap

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestMailboxNameCodec(t *testing.T) {
	t.Parallel()
	tests := []struct{ wire, name string }{
		{"", ""},
		{"INBOX", "INBOX"},
		{"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語"}, // RFC 3501 §5.1.3
		{"&-", "&"},
		{"a&-b&-", "a&b&"},
		{"Entw&APw-rfe", "Entwürfe"},
		{"&2D3eAA-", "😀"},
		{"&AOQA9gD8-", "äöü"},
		{"x&AOQ-&-&APY-", "xä&ö"},
		{"&AAA-", "\x00"}, // decodes; DecodeMailbox rejects the control
	}
	for _, tc := range tests {
		got, err := DecodeMailboxName(tc.wire)
		if err != nil || got != tc.name {
			t.Errorf("Decode(%q) = %q, %v; want %q", tc.wire, got, err, tc.name)
		}
		if enc := EncodeMailboxName(tc.name); enc != tc.wire {
			t.Errorf("Encode(%q) = %q; want %q", tc.name, enc, tc.wire)
		}
	}
	for _, bad := range []string{
		"&",          // unterminated
		"&Jjo",       // unterminated
		"foo&U,BTFw", // unterminated
		"&AGE-",      // "a" must stand for itself
		"&ACY-",      // "&" must be "&-"
		"&U,BTFw-&ZeVnLIqe-",
		"&2D0-",    // lone high surrogate
		"&3gA-",    // lone low surrogate
		"&2D1OLQ-", // high surrogate then a BMP character
		"&U,BTF-",  // non-zero padding bits
		"&U,BTFw==-",
		"&U/BTFw-", // "/" is not modified base64
		"&A-",      // too short
		"caf\xc3\xa9",
		"tab\there",
		"del\x7f",
	} {
		if got, err := DecodeMailboxName(bad); err == nil || !errors.Is(err, ErrInvalidMailboxName) {
			t.Errorf("Decode(%q) = %q, %v; want error", bad, got, err)
		}
	}
}

func TestDecodeMailbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire string
		utf8 bool
		want string
		ok   bool
	}{
		{"inbox", false, "INBOX", true},
		{"InBoX", true, "INBOX", true},
		{"inbox/x", false, "inbox/x", true},
		{"&AAA-", false, "", false},
		{"a\u0085b", true, "", false}, // C1 control
		{"\xff", true, "", false},
		{"Entwürfe", true, "Entwürfe", true},
		{"&AOQ-", true, "&AOQ-", true},
	}
	for _, tc := range tests {
		got, err := DecodeMailbox(tc.wire, tc.utf8)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("DecodeMailbox(%q, %v) = %q, %v", tc.wire, tc.utf8, got, err)
		}
	}
}

func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "&-", "&2D3eAA-", "&AGE-", "&", "Entw&APw-rfe", "台北", "a&b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// decode → encode → decode is stable, and only canonical forms
		// decode.
		if name, err := DecodeMailboxName(s); err == nil {
			enc := EncodeMailboxName(name)
			if enc != s {
				t.Fatalf("%q decodes to %q, which encodes to %q", s, name, enc)
			}
			if again, err := DecodeMailboxName(enc); err != nil || again != name {
				t.Fatalf("%q: re-decode %q, %v", s, again, err)
			}
		}
		// Any Unicode name survives encode → decode.
		if utf8.ValidString(s) {
			enc := EncodeMailboxName(s)
			if got, err := DecodeMailboxName(enc); err != nil || got != s {
				t.Fatalf("%q → %q → %q, %v", s, enc, got, err)
			}
			for i := 0; i < len(enc); i++ {
				if enc[i] < 0x20 || enc[i] > 0x7e {
					t.Fatalf("%q encodes to non-ASCII %q", s, enc)
				}
			}
		}
	})
}
