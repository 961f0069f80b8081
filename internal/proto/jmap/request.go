package jmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Capability URIs (RFC 8620 §9.4, RFC 8621 §10.1).
const (
	CapCore = "urn:ietf:params:jmap:core"
	CapMail = "urn:ietf:params:jmap:mail"
)

// Invocation is a method call or response (RFC 8620 §3.2): a JSON array
// of a name, an arguments object and a method call id.
type Invocation struct {
	Name   string
	Args   json.RawMessage
	CallID string
}

// MarshalJSON writes the three-element array.
func (in Invocation) MarshalJSON() ([]byte, error) {
	args := in.Args
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	return json.Marshal([]any{in.Name, args, in.CallID})
}

// UnmarshalJSON reads the three-element array; the arguments must be an
// object.
func (in *Invocation) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return fmt.Errorf("invocation is not an array: %w", err)
	}
	if len(parts) != 3 {
		return fmt.Errorf("invocation has %d elements, not 3", len(parts))
	}
	if err := json.Unmarshal(parts[0], &in.Name); err != nil {
		return fmt.Errorf("method name is not a string")
	}
	if t := bytes.TrimSpace(parts[1]); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("arguments of %q are not an object", in.Name)
	}
	in.Args = parts[1]
	if err := json.Unmarshal(parts[2], &in.CallID); err != nil {
		return fmt.Errorf("method call id is not a string")
	}
	return nil
}

// Request is the body of a POST to the API URL (RFC 8620 §3.3).
type Request struct {
	Using       []string          `json:"using"`
	MethodCalls []Invocation      `json:"methodCalls"`
	CreatedIDs  map[string]string `json:"createdIds,omitempty"`
}

// Response is the body of the answer (RFC 8620 §3.4).
type Response struct {
	MethodResponses []Invocation      `json:"methodResponses"`
	CreatedIDs      map[string]string `json:"createdIds,omitempty"`
	SessionState    string            `json:"sessionState"`
}

// Limits bound what ParseRequest accepts.
type Limits struct {
	MaxSize  int64 // bytes of the body (maxSizeRequest)
	MaxCalls int   // method calls (maxCallsInRequest)
	MaxDepth int   // nesting of JSON arrays and objects; default 64
}

// ParseRequest parses and checks a request body. Its errors are *Problem:
// notJSON, notRequest, or limit (maxSizeRequest, maxCallsInRequest).
func ParseRequest(body []byte, lim Limits) (*Request, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 64
	}
	if lim.MaxSize > 0 && int64(len(body)) > lim.MaxSize {
		return nil, &Problem{Type: ProblemLimit, Status: 400, Limit: "maxSizeRequest",
			Detail: "the request is larger than maxSizeRequest (" + strconv.FormatInt(lim.MaxSize, 10) + " bytes)"}
	}
	if d := depth(body); d > lim.MaxDepth {
		return nil, &Problem{Type: ProblemNotJSON, Status: 400, Detail: fmt.Sprintf("JSON nested deeper than %d levels", lim.MaxDepth)}
	}
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, &Problem{Type: ProblemNotJSON, Status: 400, Detail: "the request body is not valid I-JSON"}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "the request is not a JSON object"}
	}
	if raw["using"] == nil || raw["methodCalls"] == nil {
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "the request needs using and methodCalls"}
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		var ute *json.UnmarshalTypeError
		detail := err.Error()
		if errors.As(err, &ute) {
			detail = "wrong type for " + ute.Field
		}
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: detail}
	}
	if req.Using == nil || req.MethodCalls == nil {
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "using and methodCalls must be arrays"}
	}
	if lim.MaxCalls > 0 && len(req.MethodCalls) > lim.MaxCalls {
		return nil, &Problem{Type: ProblemLimit, Status: 400, Limit: "maxCallsInRequest",
			Detail: fmt.Sprintf("%d method calls, at most %d allowed", len(req.MethodCalls), lim.MaxCalls)}
	}
	for id := range req.CreatedIDs {
		if !ValidID(id) || !ValidID(req.CreatedIDs[id]) {
			return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "createdIds holds an invalid id"}
		}
	}
	return &req, nil
}

// depth returns the deepest nesting of arrays and objects in b, scanning
// without allocating so that a hostile body cannot exhaust the decoder's
// stack. Brackets inside strings are skipped.
func depth(b []byte) int {
	d, maxd := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			d++
			if d > maxd {
				maxd = d
			}
		case ']', '}':
			d--
		}
	}
	return maxd
}
