// Package kerberos accepts Kerberos 5 sign-ins: HTTP Negotiate (SPNEGO,
// RFC 4559) and SASL GSSAPI (RFC 4752). gokrb5 decrypts and checks the
// AP-REQ against the service keytab (ticket, authenticator, clock skew,
// replay); the SASL GSSAPI exchange, the mutual-authentication AP-REP
// and the security-layer negotiation are written here. A client's
// principal is mapped to a Roost login by Config.
package kerberos

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// ErrRefused is returned for a ticket that is not valid here (bad
// token, wrong service, wrong realm, unmapped principal, replay,
// expired): the caller answers it as bad credentials.
var ErrRefused = errors.New("kerberos: ticket refused")

// MaxToken bounds a client's GSS token (a ticket with a large AD PAC is
// a few KiB; 64 KiB is generous).
const MaxToken = 64 << 10

// Config is what the administrator sets.
type Config struct {
	// Keytab is the path of the service keytab.
	Keytab string
	// Principals are the service principals accepted, e.g.
	// "HTTP/mail.example.org@EXAMPLE.ORG", "imap/mail.example.org@EXAMPLE.ORG".
	// Empty: any principal of the keytab (of the right service).
	Principals []string
	// Realms whose users sign in as the principal's name without the
	// realm ("alice@EXAMPLE.ORG" is login "alice"). Empty: the realms
	// of the keytab's principals.
	Realms []string
	// Map maps whole principals ("alice@EXAMPLE.ORG") to a login or an
	// address; it wins over Realms.
	Map map[string]string
	// MaxClockSkew: 0 is 5 minutes.
	MaxClockSkew time.Duration
}

// Acceptor verifies client tokens against the keytab.
type Acceptor struct {
	cfg Config
	kt  *keytab.Keytab
}

// New loads the keytab.
func New(cfg Config) (*Acceptor, error) {
	kt, err := keytab.Load(cfg.Keytab)
	if err != nil {
		return nil, fmt.Errorf("kerberos: load keytab %s: %w", cfg.Keytab, err)
	}
	if len(kt.Entries) == 0 {
		return nil, fmt.Errorf("kerberos: keytab %s has no keys", cfg.Keytab)
	}
	for _, p := range cfg.Principals {
		if !strings.Contains(p, "/") || !strings.Contains(p, "@") {
			return nil, fmt.Errorf("kerberos: service principal %q is not service/host@REALM", p)
		}
	}
	for k := range cfg.Map {
		if !strings.Contains(k, "@") {
			return nil, fmt.Errorf("kerberos: mapped principal %q has no @REALM", k)
		}
	}
	if len(cfg.Realms) == 0 {
		for _, e := range kt.Entries {
			if !slices.Contains(cfg.Realms, e.Principal.Realm) {
				cfg.Realms = append(cfg.Realms, e.Principal.Realm)
			}
		}
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = 5 * time.Minute
	}
	return &Acceptor{cfg: cfg, kt: kt}, nil
}

// Identity is a verified client.
type Identity struct {
	Principal string // "alice@EXAMPLE.ORG"
	Login     string // what Config maps it to
}

// context is an accepted security context: what SASL GSSAPI needs for
// the AP-REP and the wrap tokens.
type secContext struct {
	id         Identity
	apreq      messages.APReq
	sessionKey types.EncryptionKey // the ticket's
	key        types.EncryptionKey // of wrap tokens: the initiator's subkey, else the session key
	mutual     bool
}

// AcceptSPNEGO verifies an HTTP Negotiate token (SPNEGO NegTokenInit
// with a Kerberos mechToken, or a bare Kerberos token) for the HTTP
// service.
func (a *Acceptor) AcceptSPNEGO(tok []byte) (Identity, error) {
	if len(tok) == 0 || len(tok) > MaxToken {
		return Identity{}, fmt.Errorf("negotiate token of %d bytes: %w", len(tok), ErrRefused)
	}
	var krb []byte
	var st spnego.SPNEGOToken
	if err := st.Unmarshal(tok); err == nil && st.Init {
		if len(st.NegTokenInit.MechTypes) == 0 {
			return Identity{}, fmt.Errorf("SPNEGO without mechanisms: %w", ErrRefused)
		}
		m := st.NegTokenInit.MechTypes[0]
		if !m.Equal(gssapi.OIDKRB5.OID()) && !m.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
			return Identity{}, fmt.Errorf("SPNEGO mechanism %s is not Kerberos: %w", m, ErrRefused)
		}
		krb = st.NegTokenInit.MechTokenBytes
	} else {
		krb = tok
	}
	c, err := a.accept(krb, "HTTP")
	if err != nil {
		return Identity{}, err
	}
	return c.id, nil
}

// accept verifies a GSS Kerberos initial context token for service.
func (a *Acceptor) accept(tok []byte, svc string) (*secContext, error) {
	if len(tok) == 0 || len(tok) > MaxToken {
		return nil, fmt.Errorf("GSS token of %d bytes: %w", len(tok), ErrRefused)
	}
	var kt spnego.KRB5Token
	if err := kt.Unmarshal(tok); err != nil {
		return nil, fmt.Errorf("GSS token: %v: %w", err, ErrRefused)
	}
	if !kt.IsAPReq() {
		return nil, fmt.Errorf("GSS token is not an AP-REQ: %w", ErrRefused)
	}
	req := kt.APReq
	sname := req.Ticket.SName.PrincipalNameString() + "@" + req.Ticket.Realm
	if len(req.Ticket.SName.NameString) != 2 || !strings.EqualFold(req.Ticket.SName.NameString[0], svc) {
		return nil, fmt.Errorf("ticket for %s, not a %s service: %w", sname, svc, ErrRefused)
	}
	if len(a.cfg.Principals) > 0 && !slices.Contains(a.cfg.Principals, sname) {
		return nil, fmt.Errorf("ticket for %s, not a configured service principal: %w", sname, ErrRefused)
	}
	s := service.NewSettings(a.kt, service.MaxClockSkew(a.cfg.MaxClockSkew), service.DecodePAC(false))
	ok, creds, err := service.VerifyAPREQ(&req, s)
	if err != nil || !ok {
		return nil, fmt.Errorf("AP-REQ for %s: %v: %w", sname, err, ErrRefused)
	}
	princ := creds.CName().PrincipalNameString() + "@" + creds.Realm()
	login, err := a.mapPrincipal(creds.CName().NameString, creds.Realm())
	if err != nil {
		return nil, err
	}
	c := &secContext{id: Identity{Principal: princ, Login: login}, apreq: req,
		sessionKey: req.Ticket.DecryptedEncPart.Key, key: req.Ticket.DecryptedEncPart.Key,
		mutual: types.IsFlagSet(&req.APOptions, 2)} // mutual-required
	if req.Authenticator.SubKey.KeyType != 0 && len(req.Authenticator.SubKey.KeyValue) > 0 {
		c.key = req.Authenticator.SubKey
	}
	// The GSS checksum (RFC 4121 §4.1.1) carries the context flags: a
	// client asking for mutual authentication there wants the AP-REP.
	if ck := req.Authenticator.Cksum; ck.CksumType == 0x8003 && len(ck.Checksum) >= 24 {
		if ck.Checksum[20]&0x02 != 0 {
			c.mutual = true
		}
	}
	return c, nil
}

// mapPrincipal turns a client principal into a login.
func (a *Acceptor) mapPrincipal(names []string, realm string) (string, error) {
	full := strings.Join(names, "/") + "@" + realm
	if l, ok := a.cfg.Map[full]; ok && l != "" {
		return l, nil
	}
	if len(names) == 1 && names[0] != "" && slices.Contains(a.cfg.Realms, realm) {
		return names[0], nil
	}
	return "", fmt.Errorf("principal %s is not of an allowed realm nor mapped: %w", full, ErrRefused)
}

// apRep is the GSS token of the AP-REP for mutual authentication
// (RFC 4120 §5.5.2, RFC 4121 §4.1): the authenticator's time, encrypted
// in the session key. No subkey and no sequence number: both sides
// then use the initiator's subkey and sequence number 0.
func (c *secContext) apRep() ([]byte, error) {
	part := messages.EncAPRepPart{CTime: c.apreq.Authenticator.CTime, Cusec: c.apreq.Authenticator.Cusec}
	b, err := asn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("marshal EncAPRepPart: %w", err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncAPRepPart)
	enc, err := crypto.GetEncryptedData(b, c.sessionKey, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("encrypt AP-REP: %w", err)
	}
	rep := messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: enc}
	rb, err := asn1.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("marshal AP-REP: %w", err)
	}
	rb = asn1tools.AddASNAppTag(rb, asnAppTag.APREP)
	oid, _ := asn1.Marshal(gssapi.OIDKRB5.OID())
	tokID, _ := hex.DecodeString(spnego.TOK_ID_KRB_AP_REP)
	out := append(append(oid, tokID...), rb...)
	return asn1tools.AddASNAppTag(out, 0), nil
}
