package imap

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	// RFC 4467 §7 and RFC 5092 examples.
	u, err := ParseURL("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038")
	if err != nil {
		t.Fatal(err)
	}
	if u.User != "joe" || u.Host != "example.com" || u.Mailbox != "INBOX" || u.UID != 20 || u.Section != "1.2" ||
		u.Access != "submit+fred" || u.Mechanism != "INTERNAL" || u.Token != "91354a473744909de610943775f92038" ||
		u.Rump != "imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred" {
		t.Errorf("got %+v", u)
	}
	u, err = ParseURL("imap://fred;AUTH=*@example.com:143/Sent%20Items;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024;EXPIRE=2026-12-31T23:59:59Z;URLAUTH=user+fred")
	if err != nil {
		t.Fatal(err)
	}
	if u.User != "fred" || u.Host != "example.com:143" || u.Mailbox != "Sent Items" || u.UIDValidity != 385759045 ||
		u.Partial == nil || u.Partial[0] != 0 || u.Partial[1] != 1024 || u.Expire.Year() != 2026 || u.Token != "" ||
		!strings.HasSuffix(u.Rump, "URLAUTH=user+fred") {
		t.Errorf("got %+v", u)
	}
	for _, bad := range []string{
		"http://x/INBOX/;UID=1", "imap://x/INBOX", "imap://x/INBOX/;UID=0", "imap://x//;UID=1",
		"imap://x/INBOX/;UID=1;URLAUTH=nobody", "imap://x/INBOX/;UID=1;URLAUTH=authuser:internal",
		"imap://x/INBOX/;UID=1;URLAUTH=authuser:internal:xyz", "imap://x/INBOX/;UID=1;EXPIRE=tomorrow",
		"imap://x/INBOX/;SECTION=1/;UID=1", "imap://x/INBOX/;UID=1/;PARTIAL=1.0",
	} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// Relative URLs, as CATENATE takes them (RFC 4469 §5): the same path
// grammar without user, host or URLAUTH.
func TestParseRelativeURL(t *testing.T) {
	t.Parallel()
	u, err := ParseRelativeURL("/Sent%20Items;UIDVALIDITY=7/;UID=20/;section=1.mime/;PARTIAL=2.3")
	if err != nil {
		t.Fatal(err)
	}
	if u.Mailbox != "Sent Items" || u.UIDValidity != 7 || u.UID != 20 || u.Section != "1.MIME" ||
		u.Partial == nil || u.Partial[0] != 2 || u.Partial[1] != 3 || u.User != "" || u.Host != "" {
		t.Errorf("got %+v", u)
	}
	for _, bad := range []string{
		"INBOX/;UID=1", "//host/INBOX/;UID=1", "/INBOX", "/INBOX/;UID=0", "/;UID=1",
		"/INBOX/;SECTION=1/;UID=1", "/INBOX/;UID=1;URLAUTH=authuser", "imap://x/INBOX/;UID=1",
	} {
		if _, err := ParseRelativeURL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// FuzzParseURL: never panics, and a parsed URL's rump is a prefix of it.
func FuzzParseURL(f *testing.F) {
	f.Add("imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred:internal:91354a473744909de610943775f92038")
	f.Add("imap://fred;AUTH=*@example.com:143/Sent%20Items;UIDVALIDITY=385759045/;UID=20/;PARTIAL=0.1024;EXPIRE=2026-12-31T23:59:59Z;URLAUTH=user+fred")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if u.UID == 0 || u.Mailbox == "" || !strings.HasPrefix(s, u.Rump) {
			t.Fatalf("%q: %+v", s, u)
		}
	})
}
