package imap

import "errors"

// ParseError is a client error the server answers with a status response:
// "Tag BAD [Code] Msg" (or NO when No is set), or "* BAD Msg" when Tag is
// empty because no tag could be read (RFC 9051 §7.1.3).
//
// Unless Fatal is set the Reader has already skipped the rest of the failed
// command and the session can continue. Fatal means the Reader could not
// find the start of the next command (a non-synchronizing literal too large
// to skip, say): the server sends BYE and closes the connection.
type ParseError struct {
	Tag   string
	Msg   string
	Code  Code // optional response code, e.g. CodeTooBig
	No    bool // answer NO rather than BAD: well-formed but refused (APPENDLIMIT)
	Fatal bool
	Err   error // underlying error, if any (e.g. the OnLiteral hook's)
}

func (e *ParseError) Error() string {
	s := e.Msg
	if e.Code != "" {
		s = "[" + string(e.Code) + "] " + s
	}
	if e.Tag != "" {
		s = e.Tag + ": " + s
	}
	if e.Fatal {
		s += " (fatal)"
	}
	return "imap: " + s
}

func (e *ParseError) Unwrap() error { return e.Err }

// Reject returns an error for an OnLiteral hook that refuses a literal: the
// command fails with "Tag NO [code] msg" (no=true) or "Tag BAD [code] msg".
func Reject(no bool, code Code, msg string) error {
	return &ParseError{Msg: msg, Code: code, No: no}
}

// ErrAuthCanceled is returned by Reader.ReadAuthResponse when the client
// cancels an AUTHENTICATE exchange with "*" (RFC 9051 §6.2.2); the server
// answers "Tag BAD".
var ErrAuthCanceled = errors.New("imap: authentication canceled by client")
