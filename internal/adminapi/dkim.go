package adminapi

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/queue"
)

// DKIM is a domain's DKIM key as DNS must publish it (POST and GET
// /v1/domains/{domain}/dkim). The private key never leaves the server:
// it stays in the domain's properties, where the queue reads it to sign.
// The store decides who may read or replace it: system admins and the
// admins of the domain's tenant; to anyone else the domain does not exist.
type DKIM struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	Name     string `json:"name"` // SELECTOR._domainkey.DOMAIN
	TXT      string `json:"txt"`  // the TXT record value (RFC 6376 §3.6.1)
}

// DKIMRequest is the body of POST /v1/domains/{domain}/dkim; an empty
// selector means DefaultDKIMSelector.
type DKIMRequest struct {
	Selector string `json:"selector"`
}

// DefaultDKIMSelector is "roost" and the year and month (roost202611): a
// new key next month gets a new selector, so the old record can stay
// published until mail signed with it has been delivered (RFC 6376 §3.1).
func DefaultDKIMSelector(now time.Time) string {
	return "roost" + now.UTC().Format("200601")
}

// createDKIM makes a new key for the domain, replacing the old one, and
// answers with the record to publish.
func (s *Server) createDKIM(w http.ResponseWriter, r *http.Request) error {
	var in DKIMRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	domain := strings.ToLower(strings.TrimSpace(r.PathValue("domain")))
	sel := in.Selector
	if sel == "" {
		sel = DefaultDKIMSelector(time.Now())
	}
	txt, err := queue.GenerateDKIMKey(r.Context(), s.b, domain, sel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, DKIM{Domain: domain, Selector: sel, Name: queue.DKIMRecordName(domain, sel), TXT: txt})
	return nil
}

// showDKIM answers with the record of the domain's current key, derived
// from the stored private key.
func (s *Server) showDKIM(w http.ResponseWriter, r *http.Request) error {
	domain := strings.ToLower(strings.TrimSpace(r.PathValue("domain")))
	props, err := s.b.DomainProps(r.Context(), domain)
	if err != nil {
		return err
	}
	sel, pk := props[queue.PropDKIMSelector], props[queue.PropDKIMPrivateKey]
	if sel == "" || pk == "" {
		return errorf(http.StatusNotFound, "domain %s has no DKIM key (create one with roost admin domain dkim %s)", domain, domain)
	}
	pub, err := dkimPublicKey(pk)
	if err != nil {
		return fmt.Errorf("dkim key of %s: %w", domain, err)
	}
	txt, err := queue.DKIMRecord(pub)
	if err != nil {
		return fmt.Errorf("dkim key of %s: %w", domain, err)
	}
	writeJSON(w, http.StatusOK, DKIM{Domain: domain, Selector: sel, Name: queue.DKIMRecordName(domain, sel), TXT: txt})
	return nil
}

// dkimPublicKey returns the public half of a PEM private key (PKCS #8 as
// queue.GenerateDKIMKey stores it, or PKCS #1).
func dkimPublicKey(pemKey string) (crypto.PublicKey, error) {
	blk, _ := pem.Decode([]byte(pemKey))
	if blk == nil {
		return nil, errors.New("stored key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		if k1, err1 := x509.ParsePKCS1PrivateKey(blk.Bytes); err1 == nil {
			return k1.Public(), nil
		}
		return nil, err
	}
	sg, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("stored key cannot sign")
	}
	return sg.Public(), nil
}
