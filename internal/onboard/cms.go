package onboard

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Sign wraps content in a CMS SignedData (RFC 5652 §5) with the content
// attached, signed by the certificate's key, its chain included, SHA-256
// throughout: what Apple devices expect of a signed .mobileconfig and what
// `openssl smime -verify -inform DER` (or `openssl cms -verify`) checks.
//
// Written with encoding/asn1 rather than a dependency: signing (never
// parsing) one structure is a few dozen lines, and the maintained PKCS #7
// packages carry decryption and parsing code Roost does not need.
func Sign(content []byte, cert tls.Certificate, now time.Time) ([]byte, error) {
	if len(cert.Certificate) == 0 {
		return nil, errors.New("sign: no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("sign: the private key cannot sign")
	}
	var sigAlg algID
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = algID{Algorithm: oidRSA, Parameters: asn1.NullRawValue}
	case *ecdsa.PublicKey:
		sigAlg = algID{Algorithm: oidECDSASHA256}
	case ed25519.PublicKey:
		sigAlg = algID{Algorithm: oidEd25519}
	default:
		return nil, fmt.Errorf("sign: unsupported key type %T", signer.Public())
	}
	digest := sha256.Sum256(content)

	// Signed attributes (§5.3): content type, message digest, signing
	// time; DER orders a SET OF by its elements' encodings.
	var attrs [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		val any
	}{{oidContentType, oidData}, {oidMessageDigest, digest[:]}, {oidSigningTime, now.UTC()}} {
		v, err := asn1.Marshal(a.val)
		if err != nil {
			return nil, err
		}
		enc, err := asn1.Marshal(attribute{Type: a.oid, Values: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: v}})
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, enc)
	}
	slices.SortFunc(attrs, bytes.Compare)
	attrBytes := bytes.Join(attrs, nil)
	// The signature covers the attributes with their SET tag (§5.4).
	toSign, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: attrBytes})
	if err != nil {
		return nil, err
	}
	var sig []byte
	if sigAlg.Algorithm.Equal(oidEd25519) {
		sig, err = signer.Sign(rand.Reader, toSign, crypto.Hash(0))
	} else {
		h := sha256.Sum256(toSign)
		sig, err = signer.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	si, err := asn1.Marshal(signerInfo{Version: 1,
		SID:         issuerAndSerial{Issuer: asn1.RawValue{FullBytes: leaf.RawIssuer}, Serial: leaf.SerialNumber},
		DigestAlg:   algID{Algorithm: oidSHA256},
		SignedAttrs: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrBytes},
		SigAlg:      sigAlg, Signature: sig})
	if err != nil {
		return nil, err
	}
	dalg, err := asn1.Marshal(algID{Algorithm: oidSHA256})
	if err != nil {
		return nil, err
	}
	octets, err := asn1.Marshal(content)
	if err != nil {
		return nil, err
	}
	sd, err := asn1.Marshal(signedData{Version: 1,
		DigestAlgs: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: dalg},
		Encap: encapContent{Type: oidData,
			Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets}},
		Certs:       asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bytes.Join(cert.Certificate, nil)},
		SignerInfos: asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: si}})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{Type: oidSignedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
}

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
)

type algID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version     int
	SID         issuerAndSerial
	DigestAlg   algID
	SignedAttrs asn1.RawValue
	SigAlg      algID
	Signature   []byte
}

type encapContent struct {
	Type    asn1.ObjectIdentifier
	Content asn1.RawValue
}

type signedData struct {
	Version     int
	DigestAlgs  asn1.RawValue
	Encap       encapContent
	Certs       asn1.RawValue
	SignerInfos asn1.RawValue
}

type contentInfo struct {
	Type    asn1.ObjectIdentifier
	Content asn1.RawValue
}
