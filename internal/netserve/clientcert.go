package netserve

// Service identity between Roost's own services (mutual TLS): a client
// certificate that chains to ssl_ca_file is the system identity
// (Zarafa §6.1), e.g. a frontend of the sharded mode logging in to a
// backend on a user's behalf.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrNoClientCert: the connection is not TLS, or its peer presented no
// certificate.
var ErrNoClientCert = errors.New("no client certificate")

// VerifyClientCert checks that c is a TLS connection whose peer presented
// a certificate for client authentication that chains to roots, and
// returns its subject's common name. It works whether the handshake
// asked for certificates with tls.RequestClientCert (no verification of
// its own, so a stranger's certificate does not break the handshake for
// an ordinary client) or verified them already.
func VerifyClientCert(c net.Conn, roots *x509.CertPool) (string, error) {
	if roots == nil {
		return "", errors.New("no certificate authority configured")
	}
	tc, ok := c.(interface{ ConnectionState() tls.ConnectionState })
	if !ok {
		return "", ErrNoClientCert
	}
	return VerifyClientState(tc.ConnectionState(), roots)
}

// VerifyClientState is VerifyClientCert on a connection's TLS state (an
// HTTP request's r.TLS).
func VerifyClientState(cs tls.ConnectionState, roots *x509.CertPool) (string, error) {
	if roots == nil {
		return "", errors.New("no certificate authority configured")
	}
	if !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
		return "", ErrNoClientCert
	}
	inter := x509.NewCertPool()
	for _, ic := range cs.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return "", fmt.Errorf("client certificate %q: %w", leaf.Subject.CommonName, err)
	}
	return leaf.Subject.CommonName, nil
}

// ClientTLS runs the client side of a TLS handshake on c (after a
// STARTTLS or STLS the peer accepted) with the service at addr: conf's
// client certificate is presented, and the server's certificate is
// checked for addr's host unless conf names a ServerName.
func ClientTLS(ctx context.Context, c net.Conn, conf *tls.Config, addr string) (*tls.Conn, error) {
	conf = conf.Clone()
	if conf.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		conf.ServerName = host
	}
	tc := tls.Client(c, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS with %s: %w", addr, err)
	}
	return tc, nil
}

// ProxyIdentity is the SASL PLAIN authentication identity with which a
// frontend of the sharded mode logs a user in on a backend (IMAP, POP3,
// ManageSieve; the authorization identity is the user). It is no valid
// login name.
const ProxyIdentity = "@roost-proxy"

// ProxyPlain is the base64 SASL PLAIN initial response of a frontend's
// proxy login of login with the shard secret (empty under mutual TLS).
func ProxyPlain(login string, secret []byte) string {
	return base64.StdEncoding.EncodeToString([]byte(login + "\x00" + ProxyIdentity + "\x00" + string(secret)))
}
