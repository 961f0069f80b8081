package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/roost-mail/roost/internal/blob"
	"github.com/roost-mail/roost/internal/blob/fs"
	"github.com/roost-mail/roost/internal/blob/s3"
	"github.com/roost-mail/roost/internal/config"
)

// openBlobs opens the blob store blob_store names: files in data_dir, or
// an S3 bucket every node of a cluster shares (docs/cluster.md).
func (s *server) openBlobs(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if cfg.BlobStore != "s3" {
		b, err := fs.New(filepath.Join(cfg.DataDir, "blobs"))
		if err != nil {
			return nil, fmt.Errorf("open blob store: %w", err)
		}
		return b, nil
	}
	secret := cfg.S3SecretKey
	if cfg.S3SecretKeyFile != "" {
		b, err := os.ReadFile(cfg.S3SecretKeyFile)
		if err != nil {
			return nil, fmt.Errorf("s3_secret_key_file: %w", err)
		}
		secret, _, _ = strings.Cut(string(b), "\n")
		secret = strings.TrimSpace(secret)
	}
	var roots *x509.CertPool
	if cfg.S3CAFile != "" {
		pem, err := os.ReadFile(cfg.S3CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3_ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
	}
	b, err := s3.New(ctx, s3.Options{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Prefix: cfg.S3Prefix, Region: cfg.S3Region,
		AccessKey: cfg.S3AccessKey, SecretKey: secret, TLS: cfg.S3TLS, RootCAs: roots,
		TempDir: filepath.Join(cfg.DataDir, "tmp"), Logger: s.log.With("proto", "s3")})
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return b, nil
}
