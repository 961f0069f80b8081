package easserver

import (
	"crypto/x509"
	"encoding/base64"
	"errors"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

func vc(name, v string) *wbxml.Node { return wbxml.Str(eas.ValidateCert, name, v) }

// ValidateCert statuses ([MS-ASCMD] §2.2.3.177.15).
const (
	vcOK         = "1"
	vcProtocol   = "2"
	vcSignature  = "3"
	vcUntrusted  = "4"
	vcChain      = "5"
	vcNotEmail   = "6"
	vcExpired    = "7"
	vcUnknown    = "17"
	maxCertBytes = 64 << 10
)

// validateCert is ValidateCert ([MS-ASCMD] §2.2.1.22): each certificate
// (an S/MIME signer's) is verified against the system's roots, with the
// intermediates the device sent, for e-mail protection. CheckCRL is not
// honoured: revocation is not checked.
func validateCert(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.ValidateCert, "ValidateCert")
	certs := req.Child("Certificates").All("Certificate")
	if len(certs) == 0 || len(certs) > 50 {
		return resp.Add(vc("Status", vcProtocol)), nil
	}
	inter := x509.NewCertPool()
	for _, n := range req.Child("CertificateChain").All("Certificate") {
		if cert, err := parseCert(n); err == nil {
			inter.AddCert(cert)
		}
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	resp.Add(vc("Status", vcOK))
	for _, n := range certs {
		cert, err := parseCert(n)
		if err != nil {
			resp.Add(wbxml.El(eas.ValidateCert, "Certificate", vc("Status", vcProtocol)))
			continue
		}
		_, err = cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: c.s.o.Now(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
		resp.Add(wbxml.El(eas.ValidateCert, "Certificate", vc("Status", certStatus(err))))
	}
	return resp, nil
}

func parseCert(n *wbxml.Node) (*x509.Certificate, error) {
	s := n.Content()
	if len(s) > maxCertBytes*2 {
		return nil, errors.New("certificate too large")
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		der = []byte(s) // sent as opaque DER
	}
	return x509.ParseCertificate(der)
}

func certStatus(err error) string {
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	switch {
	case err == nil:
		return vcOK
	case errors.As(err, &inv):
		switch inv.Reason {
		case x509.Expired:
			return vcExpired
		case x509.IncompatibleUsage:
			return vcNotEmail
		default:
			return vcChain
		}
	case errors.As(err, &unk):
		return vcUntrusted
	case errors.Is(err, x509.ErrUnsupportedAlgorithm):
		return vcSignature
	}
	return vcUnknown
}
