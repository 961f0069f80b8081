package imapserver

import (
	"context"
	"errors"

	"github.com/roost-mail/roost/internal/proto/imap"
	"github.com/roost-mail/roost/internal/store"
)

// respError is a command failure answered with a tagged NO or BAD.
type respError struct {
	st    imap.Status
	code  imap.Code
	text  string
	fatal bool // the Reader lost sync: BYE and close after the answer
}

func (e *respError) Error() string { return string(e.st) + " [" + string(e.code) + "] " + e.text }

func no(code imap.Code, text string) error  { return &respError{st: imap.NO, code: code, text: text} }
func bad(code imap.Code, text string) error { return &respError{st: imap.BAD, code: code, text: text} }

// op says what a store call was about, which decides how its errors read.
type op uint8

const (
	opMailbox op = iota // a mailbox named by the client
	opTarget            // the destination of APPEND, COPY or MOVE (TRYCREATE)
	opCreate            // CREATE, RENAME: conflicts mean the name exists
	opMessage           // a message of the selected mailbox
	opACL               // an ACL identifier
)

// storeError is a store error with the operation it came from.
type storeError struct {
	op  op
	err error
}

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// wrap tags a store error with its operation (nil stays nil).
func wrap(o op, err error) error {
	if err == nil {
		return nil
	}
	var se *storeError
	if errors.As(err, &se) {
		return err
	}
	return &storeError{op: o, err: err}
}

// Texts of the answers that must not differ between a missing and an
// inaccessible mailbox.
const (
	textNonExistent = "No such mailbox"
	textTryCreate   = "No such mailbox"
)

// errNoMailbox is what every failed mailbox lookup returns, whether the
// name does not exist, names another tenant's mailbox or one the principal
// may not look up.
var errNoMailbox = &storeError{op: opMailbox, err: store.ErrNotFound}

// mapErr maps an error of a command to its tagged response. It is the one
// place where store errors become IMAP: ErrNotFound is NONEXISTENT (or
// TRYCREATE for a destination) with a fixed text, so that existence never
// leaks; ErrPermission NOPERM; ErrOverQuota OVERQUOTA; ErrConflict
// ALREADYEXISTS for CREATE and RENAME; ErrInvalid CANNOT; anything else
// SERVERBUG, logged with the command.
func (s *session) mapErr(c *imap.Command, err error) *respError {
	var re *respError
	if errors.As(err, &re) {
		return re
	}
	o := opMailbox
	var se *storeError
	if errors.As(err, &se) {
		o = se.op
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		switch o {
		case opTarget:
			return &respError{st: imap.NO, code: imap.CodeTryCreate, text: textTryCreate}
		case opMessage:
			return &respError{st: imap.NO, code: imap.CodeExpungeIssued, text: "Message was expunged"}
		case opACL:
			return &respError{st: imap.NO, code: imap.CodeNonExistent, text: "No such user or group"}
		}
		return &respError{st: imap.NO, code: imap.CodeNonExistent, text: textNonExistent}
	case errors.Is(err, store.ErrPermission):
		return &respError{st: imap.NO, code: imap.CodeNoPerm, text: "Permission denied"}
	case errors.Is(err, store.ErrOverQuota):
		return &respError{st: imap.NO, code: imap.CodeOverQuota, text: "Quota exceeded"}
	case errors.Is(err, store.ErrConflict):
		if o == opCreate {
			return &respError{st: imap.NO, code: imap.CodeAlreadyExists, text: "Mailbox already exists"}
		}
		return &respError{st: imap.NO, code: imap.CodeUnavailable, text: "Conflicting change, try again"}
	case errors.Is(err, store.ErrInvalid):
		return &respError{st: imap.NO, code: imap.CodeCannot, text: "Operation not possible"}
	case errors.Is(err, context.Canceled) || s.srv.ctx.Err() != nil:
		return &respError{st: imap.NO, code: imap.CodeUnavailable, text: "Server shutting down"}
	}
	s.log.Error("command failed", "cmd", c.Redacted(), "err", err)
	return &respError{st: imap.NO, code: imap.CodeServerBug, text: "Internal error"}
}
