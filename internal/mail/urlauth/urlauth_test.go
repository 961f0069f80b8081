package urlauth

import "testing"

// section cuts what RFC 9051 §6.4.5 names.
func TestSection(t *testing.T) {
	t.Parallel()
	msg := "Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\none\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ntwo\r\n" +
		"--b--\r\n"
	for _, tc := range []struct{ sec, want string }{
		{"", msg},
		{"HEADER", "Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"},
		{"1", "one"},
		{"1.MIME", "Content-Type: text/plain\r\n\r\n"},
		{"2.HEADER", "Subject: inner\r\n\r\n"},
		{"2.TEXT", "two"},
	} {
		got, err := section([]byte(msg), tc.sec)
		if err != nil || string(got) != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.sec, got, err, tc.want)
		}
	}
	// As FETCH: HEADER and TEXT of a part need a message/rfc822 part.
	for _, sec := range []string{"3", "0", "1.X", "+1", "1.HEADER", "1.TEXT", "MIME"} {
		if got, err := section([]byte(msg), sec); err == nil {
			t.Errorf("%q: got %q", sec, got)
		}
	}
}
