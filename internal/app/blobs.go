package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/roost-mail/roost/internal/backup"
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
	secret, err := s3Secret(cfg)
	if err != nil {
		return nil, err
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

// s3Secret is s3_secret_key, or the first line of s3_secret_key_file.
func s3Secret(cfg *config.Config) (string, error) {
	if cfg.S3SecretKeyFile == "" {
		return cfg.S3SecretKey, nil
	}
	b, err := os.ReadFile(cfg.S3SecretKeyFile)
	if err != nil {
		return "", fmt.Errorf("s3_secret_key_file: %w", err)
	}
	secret, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(secret), nil
}

// backupS3 are the S3 settings of roost backup --to s3://… and roost
// restore --from s3://… when the command names no endpoint: the blob
// store's s3_ keys (read when a backup starts, so a changed secret key
// file applies), uploads spooled in data_dir/tmp.
func backupS3(cfg *config.Config, log *slog.Logger) backup.S3Config {
	secret, err := s3Secret(cfg)
	if err != nil {
		log.Warn("backup to S3 without the secret key", "err", err)
	}
	return backup.S3Config{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey, SecretKey: secret,
		NoTLS: !cfg.S3TLS, CAFile: cfg.S3CAFile, TempDir: filepath.Join(cfg.DataDir, "tmp")}
}
