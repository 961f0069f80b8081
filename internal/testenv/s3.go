package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersityGWVersion is the versitygw release the tests run, installed by
// scripts/test.sh with
// `go install github.com/versity/versitygw/cmd/versitygw@<version>`.
const VersityGWVersion = "v1.8.0"

// S3 is a real S3 server, versitygw with its posix backend in a temp
// directory, run as a child process on 127.0.0.1 for one test.
type S3 struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	Dir       string // the posix backend's root: one directory per bucket
	cmd       *exec.Cmd
	buckets   atomic.Int64
}

// versityGW finds the versitygw binary: $ROOST_VERSITYGW, $PATH, the Go
// bin directories, or where scripts/test.sh installs it.
func versityGW() string {
	if p := os.Getenv("ROOST_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	home, _ := os.UserHomeDir()
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	} else if home != "" {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" && home != "" {
		cache = filepath.Join(home, ".cache")
	}
	if cache != "" {
		dirs = append(dirs, filepath.Join(cache, "roost-test", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// StartS3 starts versitygw, or skips the test when it is not installed
// (fails instead when ROOST_REQUIRE_CLIENTS is set). It is stopped at
// cleanup.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := versityGW()
	if bin == "" {
		msg := "versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@" + VersityGWVersion + "; scripts/test.sh does)"
		if os.Getenv("ROOST_REQUIRE_CLIENTS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &S3{Dir: filepath.Join(dir, "root"), AccessKey: "roosttest", SecretKey: "roosttest-secret-key"}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		s.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("versitygw-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--port", s.Endpoint, "--access", s.AccessKey, "--secret", s.SecretKey, "--quiet", "posix", s.Dir)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			log.Close()
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); log.Close(); close(exited) }()
		if waitPort(s.Endpoint, exited, 30*time.Second) {
			s.cmd = cmd
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		out, _ := os.ReadFile(log.Name())
		lastErr = fmt.Errorf("versitygw did not start on %s: %s", s.Endpoint, strings.TrimSpace(string(out)))
	}
	t.Fatal(lastErr)
	return nil
}

func waitPort(addr string, exited <-chan struct{}, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Bucket creates a new, empty bucket and returns its name.
func (s *S3) Bucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("roost-test-%d", s.buckets.Add(1))
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}
