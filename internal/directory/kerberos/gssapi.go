package kerberos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Security layers of RFC 4752 §3.3: only "no security layer" is offered
// (the connection is protected by TLS, or not at all).
const (
	layerNone = 0x01
	// MaxAuthzID bounds the authorization identity of the last message.
	MaxAuthzID = 1024
)

// SASL is the server side of one SASL GSSAPI exchange (RFC 4752) for a
// service ("imap", "pop", "smtp", "sieve": the first component of the
// service principal). Call Next with each client response until it
// reports done.
type SASL struct {
	a     *Acceptor
	svc   string
	state int // 0: wait for the AP-REQ; 1: wait for the empty reply to the AP-REP; 2: wait for the layer reply; 3: done
	ctx   *secContext

	authzid string
}

// SASL starts a GSSAPI exchange for service.
func (a *Acceptor) SASL(service string) *SASL { return &SASL{a: a, svc: service} }

// Next takes the client's response and returns the next challenge, or
// done when the exchange is over (then Identity and AuthzID are set). An
// error ends the exchange; ErrRefused in its chain means bad
// credentials, anything else a protocol error of the client.
func (g *SASL) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch g.state {
	case 0:
		c, err := g.a.accept(resp, g.svc)
		if err != nil {
			g.state = 3
			return nil, false, err
		}
		g.ctx = c
		if c.mutual {
			rep, err := c.apRep()
			if err != nil {
				g.state = 3
				return nil, false, err
			}
			g.state = 1
			return rep, false, nil
		}
		return g.layers()
	case 1:
		if len(resp) != 0 {
			g.state = 3
			return nil, false, fmt.Errorf("GSSAPI: unexpected data after the AP-REP: %w", ErrRefused)
		}
		return g.layers()
	case 2:
		g.state = 3
		payload, err := unwrap(resp, g.ctx.key)
		if err != nil {
			return nil, false, fmt.Errorf("GSSAPI layer reply: %v: %w", err, ErrRefused)
		}
		authz, err := ParseLayerReply(payload)
		if err != nil {
			return nil, false, fmt.Errorf("GSSAPI layer reply: %v: %w", err, ErrRefused)
		}
		g.authzid = authz
		return nil, true, nil
	}
	return nil, false, errors.New("GSSAPI: exchange is over")
}

// Identity is the verified client, once Next reported done.
func (g *SASL) Identity() Identity {
	if g.ctx == nil {
		return Identity{}
	}
	return g.ctx.id
}

// AuthzID is the authorization identity the client asked for ("" for
// none), once Next reported done. The caller checks it names the user.
func (g *SASL) AuthzID() string { return g.authzid }

// layers sends the wrapped security-layer offer: no layer, no maximum
// message size (RFC 4752 §3.1).
func (g *SASL) layers() ([]byte, bool, error) {
	tok, err := wrap([]byte{layerNone, 0, 0, 0}, g.ctx.key, seqOf(g.ctx))
	if err != nil {
		g.state = 3
		return nil, false, err
	}
	g.state = 2
	return tok, false, nil
}

// seqOf is the acceptor's first sequence number: the AP-REP carries
// none, so RFC 4121 clients start at 0 after mutual authentication and
// at the initiator's own number without it (MIT's behaviour).
func seqOf(c *secContext) uint64 {
	if c.mutual {
		return 0
	}
	return uint64(uint32(c.apreq.Authenticator.SeqNumber))
}

// ParseLayerReply parses the client's unwrapped last message: the chosen
// layer (it must be exactly "no security layer"), a maximum size (0
// with no layer; ignored) and the authorization identity.
func ParseLayerReply(b []byte) (string, error) {
	if len(b) < 4 {
		return "", fmt.Errorf("%d bytes, want at least 4", len(b))
	}
	if b[0] != layerNone {
		return "", fmt.Errorf("security layer %#x chosen, only none (1) is offered", b[0])
	}
	authz := b[4:]
	if len(authz) > MaxAuthzID {
		return "", fmt.Errorf("authorization identity of %d bytes", len(authz))
	}
	if !utf8.Valid(authz) {
		return "", errors.New("authorization identity is not UTF-8")
	}
	for _, c := range authz {
		if c == 0 {
			return "", errors.New("authorization identity contains NUL")
		}
	}
	return string(authz), nil
}

// wrap makes an RFC 4121 Wrap token from the acceptor, integrity only.
func wrap(payload []byte, key types.EncryptionKey, seq uint64) ([]byte, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI wrap: %w", err)
	}
	wt := gssapi.WrapToken{Flags: 0x01, EC: uint16(et.GetHMACBitLength() / 8), SndSeqNum: seq, Payload: payload}
	if err := wt.SetCheckSum(key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		return nil, fmt.Errorf("GSSAPI wrap: %w", err)
	}
	return wt.Marshal()
}

// unwrap checks an RFC 4121 Wrap token from the initiator, integrity
// only (a sealed token is refused: no confidentiality layer is offered),
// undoing its right rotation (RRC), and returns the payload.
func unwrap(tok []byte, key types.EncryptionKey) ([]byte, error) {
	if len(tok) < gssapi.HdrLen || len(tok) > MaxToken {
		return nil, fmt.Errorf("wrap token of %d bytes", len(tok))
	}
	if tok[0] != 0x05 || tok[1] != 0x04 {
		return nil, fmt.Errorf("not a wrap token (id %x)", tok[:2])
	}
	flags := tok[2]
	if flags&0x01 != 0 {
		return nil, errors.New("wrap token sent by the acceptor")
	}
	if flags&0x02 != 0 {
		return nil, errors.New("sealed wrap token: no confidentiality layer is offered")
	}
	body := append([]byte(nil), tok[gssapi.HdrLen:]...)
	if rrc := int(binary.BigEndian.Uint16(tok[6:8])); rrc != 0 && len(body) > 0 {
		rrc %= len(body)
		body = append(body[rrc:], body[:rrc]...)
	}
	plain := append(append([]byte(nil), tok[:gssapi.HdrLen]...), body...)
	binary.BigEndian.PutUint16(plain[6:8], 0)
	var wt gssapi.WrapToken
	if err := wt.Unmarshal(plain, false); err != nil {
		return nil, err
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, err
	}
	if int(wt.EC) != et.GetHMACBitLength()/8 {
		return nil, fmt.Errorf("checksum of %d bytes", wt.EC)
	}
	if ok, err := wt.Verify(key, keyusage.GSSAPI_INITIATOR_SEAL); !ok || err != nil {
		return nil, fmt.Errorf("wrap token checksum: %v", err)
	}
	return wt.Payload, nil
}
