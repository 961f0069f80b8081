package onboard

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Microsoft autodiscover: the "plain old XML" protocol Outlook and mobile
// clients POST to /autodiscover/autodiscover.xml ([MS-OXDSCLI] §2.2.3,
// [MS-ASCMD] §2.2.2.1 for mobilesync), and the JSON endpoint
// /autodiscover/autodiscover.json that newer Outlook asks first.

// Request and response schemas.
const (
	nsRequestOutlook    = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsRequestMobileSync = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
	nsResponse          = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	SchemaOutlook       = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	SchemaMobileSync    = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
	MaxRequestBytes     = 16 << 10 // a real request is a few hundred bytes
	maxRequestDepth     = 8
	maxRequestTokens    = 256
)

// ErrBadRequest marks a request that is not a well-formed, bounded
// autodiscover request.
var ErrBadRequest = errors.New("malformed autodiscover request")

// POXRequest is a parsed autodiscover request.
type POXRequest struct {
	Email  string
	Schema string // AcceptableResponseSchema
}

// ParsePOX parses an autodiscover request strictly: at most
// MaxRequestBytes, no DTD (so no entity can be declared: XXE), no
// processing instruction other than the XML declaration, bounded depth and
// token count, root Autodiscover/Request in a request schema namespace.
func ParsePOX(r io.Reader) (POXRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestBytes+1))
	if err != nil {
		return POXRequest{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if len(data) > MaxRequestBytes {
		return POXRequest{}, fmt.Errorf("%w: larger than %d bytes", ErrBadRequest, MaxRequestBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	var (
		path   []string
		req    POXRequest
		text   strings.Builder
		seen   int
		gotReq bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return POXRequest{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		if seen++; seen > maxRequestTokens {
			return POXRequest{}, fmt.Errorf("%w: too many tokens", ErrBadRequest)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return POXRequest{}, fmt.Errorf("%w: DTDs and declarations are refused", ErrBadRequest)
		case xml.ProcInst:
			if t.Target != "xml" {
				return POXRequest{}, fmt.Errorf("%w: processing instruction %q", ErrBadRequest, t.Target)
			}
		case xml.StartElement:
			if len(path) == 0 && (t.Name.Local != "Autodiscover" ||
				(t.Name.Space != nsRequestOutlook && t.Name.Space != nsRequestMobileSync)) {
				return POXRequest{}, fmt.Errorf("%w: root element is not an autodiscover request", ErrBadRequest)
			}
			if len(path) == 1 && t.Name.Local == "Request" {
				gotReq = true
			}
			path = append(path, t.Name.Local)
			if len(path) > maxRequestDepth {
				return POXRequest{}, fmt.Errorf("%w: nested too deeply", ErrBadRequest)
			}
			text.Reset()
		case xml.CharData:
			if text.Len()+len(t) <= 1024 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(path) == 3 && path[1] == "Request" {
				switch path[2] {
				case "EMailAddress":
					req.Email = strings.TrimSpace(text.String())
				case "AcceptableResponseSchema":
					req.Schema = strings.TrimSpace(text.String())
				}
			}
			path = path[:len(path)-1]
		}
	}
	if !gotReq || req.Email == "" {
		return POXRequest{}, fmt.Errorf("%w: no Request/EMailAddress", ErrBadRequest)
	}
	if req.Schema == "" {
		req.Schema = SchemaOutlook
	}
	return req, nil
}

// POX response documents.
type poxResponse struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response any
}

type outlookResponse struct {
	XMLName xml.Name       `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
	Account outlookAccount `xml:"Account"`
}

type outlookAccount struct {
	AccountType string            `xml:"AccountType"`
	Action      string            `xml:"Action"`
	Protocol    []outlookProtocol `xml:"Protocol"`
}

type outlookProtocol struct {
	Type         string `xml:"Type"`
	Server       string `xml:"Server"`
	Port         int    `xml:"Port"`
	LoginName    string `xml:"LoginName"`
	DomainReq    string `xml:"DomainRequired"`
	SPA          string `xml:"SPA"`
	SSL          string `xml:"SSL"`
	Encryption   string `xml:"Encryption"`
	AuthRequired string `xml:"AuthRequired"`
	UsePOPAuth   string `xml:"UsePOPAuth,omitempty"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"Response"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Error   poxError `xml:"Error"`
}

type poxError struct {
	Time      string `xml:"Time,attr"`
	ID        string `xml:"Id,attr"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

type mobileSyncResponse struct {
	XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006 Response"`
	Culture string   `xml:"Culture"`
	User    struct {
		EMailAddress string `xml:"EMailAddress"`
	} `xml:"User"`
	Action struct {
		Settings *mobileSyncSettings `xml:"Settings,omitempty"`
		Error    *struct {
			Status    int    `xml:"Status"`
			Message   string `xml:"Message"`
			DebugData string `xml:"DebugData"`
		} `xml:"Error,omitempty"`
	} `xml:"Action"`
}

// mobileSyncSettings is Action/Settings of [MS-ASCMD] §2.2.3.162.3.
type mobileSyncSettings struct {
	Server []struct {
		Type string `xml:"Type"`
		URL  string `xml:"Url"`
		Name string `xml:"Name"`
	} `xml:"Server"`
}

// EASPath is where ActiveSync is served (internal/easserver).
const EASPath = "/Microsoft-Server-ActiveSync"

// EASURL is the ActiveSync URL of an account, "" without HTTPS.
func (a Account) EASURL() string {
	if b := a.BaseURL(); b != "" {
		return b + EASPath
	}
	return ""
}

// POXResponse answers req for account a. The outlook schema gets IMAP,
// POP3 and SMTP settings. The mobilesync schema gets the ActiveSync URL
// ([MS-ASCMD] §2.2.3.162.3, Server of Type MobileSync), or, when HTTPS
// is not offered, an Action/Error (Status 1) so the device falls back to
// manual or IMAP setup; other schemas get error 601 ("the requested
// schema is not available").
func POXResponse(req POXRequest, a Account) ([]byte, error) {
	var resp any
	switch req.Schema {
	case SchemaOutlook:
		var ps []outlookProtocol
		add := func(typ string, port int, implicit bool) {
			if port == 0 {
				return
			}
			enc, ssl := "TLS", "on" // TLS = STARTTLS
			if implicit {
				enc = "SSL"
			}
			ps = append(ps, outlookProtocol{Type: typ, Server: a.Host, Port: port, LoginName: a.Username,
				DomainReq: "off", SPA: "off", SSL: ssl, Encryption: enc, AuthRequired: "on"})
		}
		add("IMAP", a.IMAPS, true)
		if a.IMAPS == 0 {
			add("IMAP", a.IMAP, false)
		}
		if a.IMAPS == 0 && a.IMAP == 0 {
			add("POP3", a.POP3S, true)
		}
		add("SMTP", a.Submissions, true)
		if a.Submissions == 0 {
			add("SMTP", a.Submission, false)
		}
		resp = outlookResponse{Account: outlookAccount{AccountType: "email", Action: "settings", Protocol: ps}}
	case SchemaMobileSync:
		m := mobileSyncResponse{Culture: "en:us"}
		m.User.EMailAddress = a.Address
		if u := a.EASURL(); u != "" {
			m.Action.Settings = &mobileSyncSettings{}
			m.Action.Settings.Server = append(m.Action.Settings.Server, struct {
				Type string `xml:"Type"`
				URL  string `xml:"Url"`
				Name string `xml:"Name"`
			}{"MobileSync", u, u})
		} else {
			m.Action.Error = &struct {
				Status    int    `xml:"Status"`
				Message   string `xml:"Message"`
				DebugData string `xml:"DebugData"`
			}{1, "This server offers Exchange ActiveSync over HTTPS only, and HTTPS is not published; set the account up as IMAP.", "MobileSyncNotAvailable"}
		}
		resp = m
	default:
		resp = errorResponse{Error: poxError{Time: "00:00:00", ID: "0", ErrorCode: 601,
			Message: "Provider could not provide the requested response schema", DebugData: req.Schema}}
	}
	return marshalPOX(resp)
}

// POXError is an Error response: 600 (invalid request) for a request
// that could not be parsed or names a domain that is not served, the
// same for both so nothing is learnt from the difference.
func POXError(code int, msg string) []byte {
	out, _ := marshalPOX(errorResponse{Error: poxError{Time: "00:00:00", ID: "0", ErrorCode: code, Message: msg}})
	return out
}

func marshalPOX(resp any) ([]byte, error) {
	out, err := xml.MarshalIndent(poxResponse{Response: resp}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// JSONAnswer is the body of /autodiscover/autodiscover.json.
type JSONAnswer struct {
	Protocol     string `json:"Protocol,omitempty"`
	URL          string `json:"Url,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// JSONResponse answers the JSON autodiscover endpoint for protocol:
// AutodiscoverV1 points at the POX endpoint, ActiveSync at
// /Microsoft-Server-ActiveSync; anything else (or no HTTPS) gets
// ProtocolNotSupported (HTTP 400).
func JSONResponse(protocol string, a Account) (int, []byte) {
	var ans JSONAnswer
	status := 200
	if strings.EqualFold(protocol, "AutodiscoverV1") && a.BaseURL() != "" {
		ans = JSONAnswer{Protocol: "AutodiscoverV1", URL: a.BaseURL() + "/autodiscover/autodiscover.xml"}
	} else if strings.EqualFold(protocol, "ActiveSync") && a.EASURL() != "" {
		ans = JSONAnswer{Protocol: "ActiveSync", URL: a.EASURL()}
	} else {
		status = 400
		ans = JSONAnswer{ErrorCode: "ProtocolNotSupported", ErrorMessage: "The given protocol value '" + protocol + "' is invalid. Supported values are 'AutodiscoverV1', 'ActiveSync'"}
	}
	out, _ := json.Marshal(ans)
	return status, out
}
