package eas

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrBadRequest marks a request line that is not a well-formed
// ActiveSync request.
var ErrBadRequest = errors.New("malformed ActiveSync request line")

// Request is the request line of an ActiveSync POST ([MS-ASHTTP]
// §2.2.1.1.1): what the plain query string (Cmd=…&User=…&DeviceId=…&
// DeviceType=…) or the base64-encoded one carries.
type Request struct {
	Cmd        string
	User       string
	DeviceID   string
	DeviceType string
	// Version is the protocol version ("14.1"): from the base64 query,
	// or else the MS-ASProtocolVersion header (the caller sets it).
	Version string
	// PolicyKey from the base64 query (HasPolicyKey), or else the
	// X-MS-PolicyKey header.
	PolicyKey    uint32
	HasPolicyKey bool
	Locale       uint16
	// Command parameters.
	AttachmentName string
	CollectionID   string
	ItemID         string
	LongID         string
	Occurrence     string
	SaveInSent     bool
	AcceptMulti    bool
}

// commandCodes are the base64 query's command codes ([MS-ASHTTP]
// §2.2.1.1.1.1.2).
var commandCodes = map[byte]string{
	0: "Sync", 1: "SendMail", 2: "SmartForward", 3: "SmartReply", 4: "GetAttachment",
	9: "FolderSync", 10: "FolderCreate", 11: "FolderDelete", 12: "FolderUpdate", 13: "MoveItems",
	14: "GetItemEstimate", 15: "MeetingResponse", 16: "Search", 17: "Settings", 18: "Ping",
	19: "ItemOperations", 20: "Provision", 21: "ResolveRecipients", 22: "ValidateCert", 23: "Find",
}

// MaxDeviceID bounds a device id ([MS-ASHTTP] allows 32 characters).
const MaxDeviceID = 32

// ParseQuery parses a request's raw query string, plain or base64.
func ParseQuery(raw string) (Request, error) {
	if len(raw) > 2048 {
		return Request{}, fmt.Errorf("%w: query string too long", ErrBadRequest)
	}
	var r Request
	var err error
	if looksBase64(raw) {
		r, err = parseBase64(raw)
	} else {
		r, err = parsePlain(raw)
	}
	if err != nil {
		return Request{}, err
	}
	if r.Cmd == "" {
		return Request{}, fmt.Errorf("%w: no command", ErrBadRequest)
	}
	if !validDeviceID(r.DeviceID) {
		return Request{}, fmt.Errorf("%w: device id must be 1 to %d letters and digits", ErrBadRequest, MaxDeviceID)
	}
	if len(r.DeviceType) == 0 || len(r.DeviceType) > 64 || strings.ContainsFunc(r.DeviceType, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return Request{}, fmt.Errorf("%w: bad device type", ErrBadRequest)
	}
	if len(r.User) > 512 {
		return Request{}, fmt.Errorf("%w: user too long", ErrBadRequest)
	}
	return r, nil
}

// looksBase64 tells a base64 query from a plain one: a plain one always
// has a Cmd parameter (base64 has no "&", and "=" only as padding at the
// end, so it never parses to one).
func looksBase64(raw string) bool {
	q, err := url.ParseQuery(raw)
	return err != nil || !q.Has("Cmd")
}

func validDeviceID(id string) bool {
	if id == "" || len(id) > MaxDeviceID {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func parsePlain(raw string) (Request, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	r := Request{Cmd: q.Get("Cmd"), User: q.Get("User"), DeviceID: q.Get("DeviceId"), DeviceType: q.Get("DeviceType"),
		AttachmentName: q.Get("AttachmentName"), CollectionID: q.Get("CollectionId"), ItemID: q.Get("ItemId"),
		LongID: q.Get("LongId"), Occurrence: q.Get("Occurrence")}
	if v := q.Get("SaveInSent"); v == "T" || v == "t" {
		r.SaveInSent = true
	}
	return r, nil
}

// parseBase64 decodes [MS-ASHTTP] §2.2.1.1.1.1.
func parseBase64(raw string) (Request, error) {
	// Percent-decoding only: a "+" is base64, not a space.
	s, err := url.PathUnescape(raw)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err != nil {
			return Request{}, fmt.Errorf("%w: base64: %v", ErrBadRequest, err)
		}
	}
	var r Request
	pos := 0
	need := func(n int) error {
		if n < 0 || pos+n > len(b) {
			return fmt.Errorf("%w: base64 query truncated", ErrBadRequest)
		}
		return nil
	}
	field := func() (string, error) {
		if err := need(1); err != nil {
			return "", err
		}
		n := int(b[pos])
		pos++
		if err := need(n); err != nil {
			return "", err
		}
		v := b[pos : pos+n]
		pos += n
		return string(v), nil
	}
	if err := need(4); err != nil {
		return r, err
	}
	v := int(b[0])
	r.Version = strconv.Itoa(v/10) + "." + strconv.Itoa(v%10)
	cmd, ok := commandCodes[b[1]]
	if !ok {
		return r, fmt.Errorf("%w: unknown command code %d", ErrBadRequest, b[1])
	}
	r.Cmd = cmd
	r.Locale = binary.LittleEndian.Uint16(b[2:4])
	pos = 4
	if r.DeviceID, err = field(); err != nil {
		return r, err
	}
	// [MS-ASHTTP]: the device id is sent as bytes; clients send ASCII or
	// binary GUIDs, which are shown in hex.
	if !validDeviceID(r.DeviceID) {
		r.DeviceID = fmt.Sprintf("%X", []byte(r.DeviceID))
	}
	pk, err := field()
	if err != nil {
		return r, err
	}
	switch len(pk) {
	case 0:
	case 4:
		r.PolicyKey, r.HasPolicyKey = binary.LittleEndian.Uint32([]byte(pk)), true
	default:
		return r, fmt.Errorf("%w: policy key of %d bytes", ErrBadRequest, len(pk))
	}
	if r.DeviceType, err = field(); err != nil {
		return r, err
	}
	for pos < len(b) {
		if err := need(1); err != nil {
			return r, err
		}
		tag := b[pos]
		pos++
		val, err := field()
		if err != nil {
			return r, err
		}
		switch tag {
		case 0:
			r.AttachmentName = val
		case 1:
			r.CollectionID = val
		case 3:
			r.ItemID = val
		case 4:
			r.LongID = val
		case 6:
			r.Occurrence = val
		case 7:
			if len(val) > 0 {
				r.SaveInSent = val[0]&0x01 != 0
				r.AcceptMulti = val[0]&0x02 != 0
			}
		case 8:
			r.User = val
		}
	}
	return r, nil
}

// EncodeBase64Query builds a base64 query string (clients and tests).
func EncodeBase64Query(r Request) string {
	var b []byte
	v := 141
	if maj, min, ok := strings.Cut(r.Version, "."); ok {
		a, _ := strconv.Atoi(maj)
		c, _ := strconv.Atoi(min)
		v = a*10 + c
	}
	code := byte(0)
	for c, n := range commandCodes {
		if n == r.Cmd {
			code = c
		}
	}
	b = append(b, byte(v), code, byte(r.Locale), byte(r.Locale>>8))
	b = append(b, byte(len(r.DeviceID)))
	b = append(b, r.DeviceID...)
	if r.HasPolicyKey {
		b = append(b, 4)
		b = binary.LittleEndian.AppendUint32(b, r.PolicyKey)
	} else {
		b = append(b, 0)
	}
	b = append(b, byte(len(r.DeviceType)))
	b = append(b, r.DeviceType...)
	add := func(tag byte, v string) {
		if v != "" {
			b = append(b, tag, byte(len(v)))
			b = append(b, v...)
		}
	}
	add(0, r.AttachmentName)
	add(1, r.CollectionID)
	add(3, r.ItemID)
	add(4, r.LongID)
	add(6, r.Occurrence)
	add(8, r.User)
	if r.SaveInSent {
		b = append(b, 7, 1, 1)
	}
	return base64.StdEncoding.EncodeToString(b)
}
