package app

// Service identity by mutual TLS (docs/cluster.md, "Mutual TLS"): a
// client certificate that chains to ssl_ca_file is the system identity
// on the internal listeners (admin_listen, the proxy logins of the
// sharded mode, LMTP with lmtp_require_client_certificate), and a
// frontend presents ssl_client_certificate_file to its backends.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/roost-mail/roost/internal/config"
	"github.com/roost-mail/roost/internal/smtpserver"
)

// loadServiceTLS reads ssl_ca_file and the client certificate.
func (s *server) loadServiceTLS(cfg *config.Config) error {
	s.shard.cas, s.shard.client = nil, nil
	if cfg.SSLCAFile == "" {
		return nil
	}
	b, err := os.ReadFile(cfg.SSLCAFile)
	if err != nil {
		return fmt.Errorf("ssl_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("ssl_ca_file %s: no PEM certificate", cfg.SSLCAFile)
	}
	s.shard.cas = pool
	if cfg.SSLClientCertificateFile == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.SSLClientCertificateFile, cfg.SSLClientKeyFile)
	if err != nil {
		return fmt.Errorf("ssl_client_certificate_file: %w", err)
	}
	s.shard.client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return nil
}

// requestClientCerts is conf asking clients for a certificate without
// checking it in the handshake: an ordinary client (a mail client that
// happens to hold some certificate) is never turned away by the
// handshake; the proxy login and LMTP verify the certificate themselves.
func requestClientCerts(conf *tls.Config) *tls.Config {
	if conf == nil {
		return nil
	}
	c := conf.Clone()
	c.ClientAuth = tls.RequestClientCert
	return c
}

// lmtpTLS offers STARTTLS on LMTP when ssl_ca_file is set, and with
// lmtp_require_client_certificate requires a certificate of that CA on
// TCP.
func (s *server) lmtpTLS(cfg *config.Config, o *smtpserver.Options) {
	if s.shard.cas == nil {
		return
	}
	o.TLS = requestClientCerts(s.tlsConf)
	if cfg.LMTPRequireClientCert {
		o.ClientCAs = s.shard.cas
	}
}
