package jmap

import "fmt"

// Request-level problem types (RFC 8620 §3.6.1).
const (
	ProblemUnknownCapability = "urn:ietf:params:jmap:error:unknownCapability"
	ProblemNotJSON           = "urn:ietf:params:jmap:error:notJSON"
	ProblemNotRequest        = "urn:ietf:params:jmap:error:notRequest"
	ProblemLimit             = "urn:ietf:params:jmap:error:limit"
)

// Problem is an RFC 7807 problem details object, the answer to a request
// that cannot be processed at all (RFC 8620 §3.6.1).
type Problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Limit names the limit that was exceeded (type ProblemLimit).
	Limit string `json:"limit,omitempty"`
}

func (p *Problem) Error() string {
	if p.Limit != "" {
		return fmt.Sprintf("%s (%s): %s", p.Type, p.Limit, p.Detail)
	}
	return p.Type + ": " + p.Detail
}

// Method-level error types (RFC 8620 §3.6.2, §5.x; RFC 8621).
const (
	ErrServerUnavailable      = "serverUnavailable"
	ErrServerFail             = "serverFail"
	ErrServerPartialFail      = "serverPartialFail"
	ErrUnknownMethod          = "unknownMethod"
	ErrInvalidArguments       = "invalidArguments"
	ErrInvalidResultReference = "invalidResultReference"
	ErrForbidden              = "forbidden"
	ErrAccountNotFound        = "accountNotFound"
	ErrAccountNotSupported    = "accountNotSupportedByMethod"
	ErrAccountReadOnly        = "accountReadOnly"
	ErrRequestTooLarge        = "requestTooLarge"
	ErrCannotCalculateChanges = "cannotCalculateChanges"
	ErrStateMismatch          = "stateMismatch"
	ErrAnchorNotFound         = "anchorNotFound"
	ErrUnsupportedSort        = "unsupportedSort"
	ErrUnsupportedFilter      = "unsupportedFilter"
	ErrTooManyChanges         = "tooManyChanges"
)

// SetError types (RFC 8620 §5.3, RFC 8621).
const (
	SetForbidden         = "forbidden"
	SetOverQuota         = "overQuota"
	SetTooLarge          = "tooLarge"
	SetRateLimit         = "rateLimit"
	SetNotFound          = "notFound"
	SetInvalidPatch      = "invalidPatch"
	SetWillDestroy       = "willDestroy"
	SetInvalidProperties = "invalidProperties"
	SetSingleton         = "singleton"
	SetMailboxHasChild   = "mailboxHasChild"
	SetMailboxHasEmail   = "mailboxHasEmail"
	SetBlobNotFound      = "blobNotFound"
	SetTooManyKeywords   = "tooManyKeywords"
	SetTooManyMailboxes  = "tooManyMailboxes"
	SetAlreadyExists     = "alreadyExists"
	SetServerFail        = "serverFail"
)

// MethodError is the arguments of an "error" response (RFC 8620 §3.6.2).
type MethodError struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

func (e *MethodError) Error() string {
	if e.Description == "" {
		return e.Type
	}
	return e.Type + ": " + e.Description
}

// Errorf builds a MethodError.
func Errorf(typ, format string, args ...any) *MethodError {
	return &MethodError{Type: typ, Description: fmt.Sprintf(format, args...)}
}

// SetError is one entry of notCreated/notUpdated/notDestroyed (RFC 8620
// §5.3).
type SetError struct {
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Properties  []string `json:"properties,omitempty"`
}

func (e *SetError) Error() string {
	if e.Description == "" {
		return e.Type
	}
	return e.Type + ": " + e.Description
}
