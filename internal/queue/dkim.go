package queue

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/roost-mail/roost/internal/store"
)

// Domain properties (store.DomainProps) that hold a domain's DKIM key.
const (
	PropDKIMSelector   = "dkim.selector"
	PropDKIMPrivateKey = "dkim.private_key" // PKCS #8 PEM
)

// dkimKeyBits is the RSA key size: RFC 8301 §3.2 asks for at least 1024
// and recommends 2048 (ed25519, RFC 8463, is not yet verified everywhere).
const dkimKeyBits = 2048

// signedHeaders are the fields DKIM signs (RFC 6376 §5.4.1); From must be
// one of them. A field listed but absent is still signed (as empty), so
// that nobody can add it later.
var signedHeaders = []string{"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References"}

var selectorRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// GenerateDKIMKey creates an RSA key for domain, stores it with its
// selector in the domain's properties (replacing an earlier one) and
// returns the TXT record to publish at SELECTOR._domainkey.DOMAIN
// (RFC 6376 §3.6.1). ctx must carry a principal that may set the domain's
// properties (a system admin or the domain's tenant admin).
func GenerateDKIMKey(ctx context.Context, b store.Backend, domain, selector string) (string, error) {
	if !selectorRE.MatchString(selector) {
		return "", fmt.Errorf("dkim selector %q: %w", selector, store.ErrInvalid)
	}
	key, err := rsa.GenerateKey(rand.Reader, dkimKeyBits)
	if err != nil {
		return "", fmt.Errorf("generate dkim key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encode dkim key: %w", err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err := b.SetDomainProps(ctx, domain, map[string]*string{PropDKIMSelector: &selector, PropDKIMPrivateKey: &pemKey}); err != nil {
		return "", fmt.Errorf("store dkim key of %s: %w", domain, err)
	}
	return DKIMRecord(key.Public())
}

// DKIMRecordName is where the TXT record of a selector lives.
func DKIMRecordName(domain, selector string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".")
}

// DKIMRecord returns the TXT record value for a public key.
func DKIMRecord(pub crypto.PublicKey) (string, error) {
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return "", errors.New("dkim: only RSA keys are supported")
	}
	der, err := x509.MarshalPKIXPublicKey(rk)
	if err != nil {
		return "", err
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
}

// parseDKIMKey reads a PEM private key (PKCS #8 or PKCS #1).
func parseDKIMKey(s string) (crypto.Signer, error) {
	blk, _ := pem.Decode([]byte(s))
	if blk == nil {
		return nil, errors.New("dkim key is not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if sg, ok := k.(crypto.Signer); ok {
			return sg, nil
		}
		return nil, errors.New("dkim key cannot sign")
	}
	return x509.ParsePKCS1PrivateKey(blk.Bytes)
}

// sign adds a DKIM-Signature for the From: domain when that domain has a
// key. No key (or an unknown domain) leaves the message as it is.
func (q *Queue) sign(ctx context.Context, msg []byte, domain string) ([]byte, error) {
	if domain == "" {
		return msg, nil
	}
	props, err := q.o.Store.DomainProps(store.SystemContext(ctx), domain)
	if errors.Is(err, store.ErrNotFound) {
		return msg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dkim key of %s: %w", domain, err)
	}
	sel, pk := props[PropDKIMSelector], props[PropDKIMPrivateKey]
	if sel == "" || pk == "" {
		return msg, nil
	}
	key, err := parseDKIMKey(pk)
	if err != nil {
		return nil, fmt.Errorf("dkim key of %s: %w", domain, err)
	}
	return SignDKIM(msg, domain, sel, key)
}

// SignDKIM returns msg with a DKIM-Signature (relaxed/relaxed, SHA-256)
// prepended.
func SignDKIM(msg []byte, domain, selector string, key crypto.Signer) ([]byte, error) {
	var buf bytes.Buffer
	err := dkim.Sign(&buf, bytes.NewReader(msg), &dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		return nil, fmt.Errorf("dkim sign for %s: %w", domain, err)
	}
	return buf.Bytes(), nil
}
