package imap

// Seeds for FuzzReadCommand from RFC 5464 (METADATA) §4.2 and §4.3, and
// edge cases of entry names, options and values.
func init() {
	fuzzSeeds = append(fuzzSeeds,
		"a GETMETADATA \"\" /shared/comment\r\n",
		"a GETMETADATA INBOX (/shared/comment /private/comment)\r\n",
		"a GETMETADATA (MAXSIZE 1024) INBOX /shared/comment\r\n",
		"a GETMETADATA (DEPTH infinity) INBOX (/shared/vendor)\r\n",
		"a GETMETADATA INBOX (DEPTH 1 MAXSIZE 10) (/Private/Vendor/X)\r\n",
		"a GETMETADATA INBOX /shared/\r\n",
		"a GETMETADATA (DEPTH 2) INBOX /shared//x\r\n",
		"a SETMETADATA INBOX (/private/comment \"My new comment\")\r\n",
		"a SETMETADATA INBOX (/private/comment NIL)\r\n",
		"a SETMETADATA \"\" (/shared/admin {17}\r\nmailto:a@b.test.x /shared/bin ~{3+}\r\na\x00b)\r\n",
		"a SETMETADATA INBOX (/shared/x \"\" /shared/y {0}\r\n)\r\n",
		"a SETMETADATA INBOX (/shared/*x \"v\")\r\n",
		"a SETMETADATA INBOX (/shared/x {4294967295}\r\n",
	)
}
