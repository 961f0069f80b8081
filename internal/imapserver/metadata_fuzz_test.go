package imapserver_test

// Session seeds for FuzzSession with METADATA commands (RFC 5464).
func init() {
	sessionSeeds = append(sessionSeeds,
		"a SETMETADATA INBOX (/private/comment \"c\" /shared/x {3+}\r\nabc)\r\nb GETMETADATA (DEPTH infinity MAXSIZE 2) INBOX (/private /shared)\r\n",
		"a SETMETADATA \"\" (/shared/bin ~{3+}\r\na\x00b)\r\nb GETMETADATA \"\" /shared/bin\r\nc SETMETADATA \"\" (/shared/bin NIL)\r\n",
		"a GETMETADATA \"Other Users/bob/INBOX\" /shared/comment\r\nb SETMETADATA Nope (/private/x \"y\")\r\n",
		"a SETMETADATA INBOX (/private/big {70000+}\r\n",
	)
}
