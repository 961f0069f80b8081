// Package proxyproto reads the header of the PROXY protocol (HAProxy's
// "The PROXY protocol", versions 1 and 2), which a load balancer sends at
// the start of a TCP connection to name the client it accepted the
// connection from.
//
// ReadHeader reads exactly the header's bytes and nothing after them, so
// that the connection's own protocol (a server greeting, a TLS
// handshake, an HTTP request) follows untouched.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ErrNoHeader is returned when the connection does not start with a
// PROXY protocol header of either version.
var ErrNoHeader = errors.New("proxy protocol: no PROXY header")

// sigV2 opens every version 2 header.
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// maxV1 is the longest version 1 header, CRLF included (the
// specification's 107 bytes).
const maxV1 = 107

// Header is what a PROXY header says.
type Header struct {
	Version int
	// Local is set when the header names no client: a version 2 LOCAL
	// command (the load balancer's own health check), or an UNKNOWN or
	// non-TCP family. The connection's own addresses stand.
	Local bool
	// Source is the client's address and port, Dest the address and port
	// it connected to; both valid unless Local.
	Source, Dest netip.AddrPort
}

// ReadHeader reads a PROXY header of version 1 or 2 from r. Any other
// start is ErrNoHeader; a malformed header is an error naming what is
// wrong. It reads at most 107 bytes for version 1, 16 + 65535 for
// version 2.
func ReadHeader(r io.Reader) (Header, error) {
	// Six bytes tell the versions apart ("PROXY " and the first six of
	// the signature), and every header is longer: nothing beyond the
	// header is read.
	var start [16]byte
	if _, err := io.ReadFull(r, start[:6]); err != nil {
		return Header{}, fmt.Errorf("proxy protocol: reading the header: %w", err)
	}
	switch {
	case string(start[:6]) == "PROXY ":
		return readV1(r, start[:6])
	case bytes.Equal(start[:6], sigV2[:6]):
		if _, err := io.ReadFull(r, start[6:]); err != nil {
			return Header{}, fmt.Errorf("proxy protocol: reading the header: %w", err)
		}
		return readV2(r, start)
	}
	return Header{}, ErrNoHeader
}

// readV1 reads the rest of a version 1 header ("PROXY TCP4 src dst sport
// dport\r\n") one byte at a time up to its LF.
func readV1(r io.Reader, start []byte) (Header, error) {
	line := append(make([]byte, 0, maxV1), start...)
	var b [1]byte
	for {
		if len(line) >= maxV1 {
			return Header{}, errors.New("proxy protocol: version 1 header longer than 107 bytes")
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, fmt.Errorf("proxy protocol: reading the header: %w", err)
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			break
		}
	}
	s, ok := strings.CutSuffix(string(line), "\r\n")
	if !ok {
		return Header{}, errors.New("proxy protocol: version 1 header not ended by CRLF")
	}
	f := strings.Split(s, " ")
	h := Header{Version: 1}
	if len(f) >= 2 && f[1] == "UNKNOWN" {
		// The rest of the line may hold anything; the receiver ignores it.
		h.Local = true
		return h, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return Header{}, fmt.Errorf("proxy protocol: malformed version 1 header %q", s)
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	sport, err3 := port(f[4])
	dport, err4 := port(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Header{}, fmt.Errorf("proxy protocol: malformed version 1 header %q: %w", s, err)
	}
	if src.Is4() != (f[1] == "TCP4") || dst.Is4() != (f[1] == "TCP4") {
		return Header{}, fmt.Errorf("proxy protocol: version 1 header %q: addresses are not of family %s", s, f[1])
	}
	h.Source, h.Dest = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	return h, nil
}

// port parses a version 1 port: decimal, no sign, no leading zero.
func port(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (s[0] == '0' && s != "0") || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(n), nil
}

// readV2 reads the rest of a version 2 header whose first 16 bytes are
// hdr: the addresses, and any TLVs after them, which are skipped.
func readV2(r io.Reader, hdr [16]byte) (Header, error) {
	if !bytes.Equal(hdr[:12], sigV2) {
		return Header{}, ErrNoHeader
	}
	if hdr[12]>>4 != 2 {
		return Header{}, fmt.Errorf("proxy protocol: unknown version %d", hdr[12]>>4)
	}
	n := binary.BigEndian.Uint16(hdr[14:16])
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return Header{}, fmt.Errorf("proxy protocol: reading the header: %w", err)
	}
	h := Header{Version: 2}
	switch hdr[12] & 0xf {
	case 0: // LOCAL: the load balancer speaks for itself
		h.Local = true
		return h, nil
	case 1: // PROXY
	default:
		return Header{}, fmt.Errorf("proxy protocol: unknown command %d", hdr[12]&0xf)
	}
	switch hdr[13] {
	case 0x11: // TCP over IPv4
		if len(body) < 12 {
			return Header{}, errors.New("proxy protocol: version 2 header too short for IPv4 addresses")
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case 0x21: // TCP over IPv6
		if len(body) < 36 {
			return Header{}, errors.New("proxy protocol: version 2 header too short for IPv6 addresses")
		}
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:34]))
		h.Dest = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])).Unmap(), binary.BigEndian.Uint16(body[34:36]))
	default:
		// UNSPEC, UDP, unix sockets: no TCP client to name.
		h.Local = true
	}
	return h, nil
}
