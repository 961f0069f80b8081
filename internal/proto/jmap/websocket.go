package jmap

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// CapWebSocket is RFC 8887.
const CapWebSocket = "urn:ietf:params:jmap:websocket"

// WebSocket message types (RFC 8887 §4).
const (
	WSRequest          = "Request"
	WSPushEnable       = "WebSocketPushEnable"
	WSPushDisable      = "WebSocketPushDisable"
	WSResponse         = "Response"
	WSRequestError     = "RequestError"
	WSStateChange      = "StateChange"
	maxWSDataTypes     = 64
	maxWSRequestIDSize = 255
)

// WSMessage is a message a client sends over a JMAP WebSocket. For a
// Request, Request holds it parsed (ParseRequest's checks).
type WSMessage struct {
	Type string
	// ID is the Request's "id" (echoed as requestId), "" when absent.
	ID string
	// DataTypes is WebSocketPushEnable's "dataTypes"; nil: all types.
	DataTypes []string
	// PushState is WebSocketPushEnable's "pushState", "" when absent.
	PushState string
	Request   *Request
}

// ParseWSMessage parses a text message of a JMAP WebSocket (RFC 8887
// §4.2–4.3). Its errors are *Problem, to be sent as a RequestError: the
// same limits as ParseRequest, notJSON, notRequest for an unknown @type
// or ill-typed fields.
func ParseWSMessage(b []byte, lim Limits) (*WSMessage, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 64
	}
	if lim.MaxSize > 0 && int64(len(b)) > lim.MaxSize {
		return nil, &Problem{Type: ProblemLimit, Status: 400, Limit: "maxSizeRequest",
			Detail: "the message is larger than maxSizeRequest (" + strconv.FormatInt(lim.MaxSize, 10) + " bytes)"}
	}
	if d := depth(b); d > lim.MaxDepth {
		return nil, &Problem{Type: ProblemNotJSON, Status: 400, Detail: fmt.Sprintf("JSON nested deeper than %d levels", lim.MaxDepth)}
	}
	if !utf8.Valid(b) || !json.Valid(b) {
		return nil, &Problem{Type: ProblemNotJSON, Status: 400, Detail: "the message is not valid I-JSON"}
	}
	var head struct {
		Type      *string   `json:"@type"`
		ID        *string   `json:"id"`
		DataTypes *[]string `json:"dataTypes"`
		PushState *string   `json:"pushState"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Type == nil {
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "the message needs a string @type"}
	}
	m := &WSMessage{Type: *head.Type}
	switch m.Type {
	case WSRequest:
		if head.ID != nil {
			if len(*head.ID) > maxWSRequestIDSize {
				return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "the request id is too long"}
			}
			m.ID = *head.ID
		}
		req, err := ParseRequest(b, lim)
		if err != nil {
			return nil, err
		}
		m.Request = req
	case WSPushEnable:
		if head.DataTypes != nil {
			if len(*head.DataTypes) > maxWSDataTypes {
				return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: fmt.Sprintf("at most %d dataTypes", maxWSDataTypes)}
			}
			m.DataTypes = append([]string{}, *head.DataTypes...)
		}
		if head.PushState != nil {
			if len(*head.PushState) > maxWSRequestIDSize {
				return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: "pushState is too long"}
			}
			m.PushState = *head.PushState
		}
	case WSPushDisable:
	default:
		return nil, &Problem{Type: ProblemNotRequest, Status: 400, Detail: fmt.Sprintf("unknown @type %q", m.Type)}
	}
	return m, nil
}
