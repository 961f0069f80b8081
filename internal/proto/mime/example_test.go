package mime_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/roost-mail/roost/internal/proto/mime"
)

func Example() {
	msg := []byte("From: Alice <alice@example.com>\r\n" +
		"Subject: Re: =?utf-8?q?caf=C3=A9?=\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain\r\n" +
		"\r\n" +
		"Hello\r\n" +
		"--b\r\n" +
		"Content-Type: application/octet-stream; name=x.bin\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"AAEC\r\n" +
		"--b--\r\n")
	root, err := mime.Parse(msg, mime.Limits{})
	if err != nil {
		// a *mime.LimitError: root is still usable
		fmt.Println(err)
	}

	// FETCH ENVELOPE and BODYSTRUCTURE
	fmt.Printf("%s\n", mime.AppendValue(nil, mime.Envelope(root).List(), false))
	fmt.Printf("%s\n", mime.AppendBodyStructure(nil, root, true, false))

	// FETCH BODY[1] and BODY[HEADER.FIELDS (SUBJECT)]
	start, end, _ := root.SectionRange([]int{1}, mime.SpecBody)
	fmt.Printf("%q\n", msg[start:end])
	h, _ := root.SectionHeader(nil)
	fmt.Printf("%q\n", h.Filter([]string{"subject"}, false))

	// FETCH BINARY[2]
	part, _ := root.Section([]int{2})
	data, _ := io.ReadAll(part.DecodedBody(bytes.NewReader(msg)))
	fmt.Println(data, part.Filename())

	// SORT SUBJECT
	fmt.Println(mime.BaseSubject(root.Header.Get("Subject")))
	// Output:
	// (NIL "Re: =?utf-8?q?caf=C3=A9?=" (("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" "example.com")) NIL NIL NIL NIL NIL)
	// (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)("application" "octet-stream" ("name" "x.bin") NIL NIL "base64" 4 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)
	// "Hello"
	// "Subject: Re: =?utf-8?q?caf=C3=A9?=\r\n\r\n"
	// [0 1 2] x.bin
	// café
}
