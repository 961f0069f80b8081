package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestBackupToS3AgainstServe: roost backup --to s3://… against a running
// server, with the S3 settings of the server's configuration (its s3_
// keys, the secret in a file); an incremental run; roost backup verify of
// the bucket with --config and with the environment; roost restore --from
// s3://… into an empty installation that has no S3 settings (they come
// from the environment), compared message by message over IMAP, twice;
// a corrupted object found by verify and refused by restore.
func TestBackupToS3AgainstServe(t *testing.T) { backupToS3AgainstServe(t, "") }

func TestBackupToS3AgainstServePostgres(t *testing.T) {
	testenv.PostgresDSN(t)
	roostBinary(t)
	backupToS3AgainstServe(t, testenv.NewPostgresDB(t))
}

func backupToS3AgainstServe(t *testing.T, database string) {
	roostBinary(t)
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	secretFile := filepath.Join(t.TempDir(), "s3.key")
	if err := os.WriteFile(secretFile, []byte(srv.SecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := newInstallation(t, database, fmt.Sprintf("s3_endpoint = %q", srv.Endpoint), fmt.Sprintf("s3_access_key = %q", srv.AccessKey),
		fmt.Sprintf("s3_secret_key_file = %q", secretFile), "s3_tls = false")
	c := src.imapLogin(t, "u0")
	if err := c.Create("Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetACL("Projects", "bob", imap.RightModificationReplace, imap.RightSet("lrs")).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg := func(box string, i int, flags ...imap.Flag) {
		t.Helper()
		msg := fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n%s", i, i, strings.Repeat("text\r\n", i*1000))
		ac := c.Append(box, int64(len(msg)), &imap.AppendOptions{Time: time.Date(2025, 2, 1+i%27, 12, i, 0, 0, time.UTC), Flags: flags})
		ac.Write([]byte(msg))
		ac.Close()
		if _, err := ac.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		appendMsg("Projects", i, imap.FlagSeen, imap.Flag(fmt.Sprintf("$k%d", i%3)))
		appendMsg("INBOX", 100+i)
	}
	loc := "s3://" + bucket + "/nightly"
	out := src.cli(t, "", 0, "backup", "--to", loc)
	if !strings.Contains(out, "backup run 1 (full) in "+loc+": ") || !strings.Contains(out, " stores, 40 items recorded, 40 objects written") {
		t.Errorf("first backup: %s", out)
	}
	// Changes: a new message, flags, an expunge.
	appendMsg("INBOX", 200, imap.FlagFlagged)
	if _, err := c.Select("Projects", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	out = src.cli(t, "", 0, "backup", "--to", loc, "u0")
	if !strings.Contains(out, "backup run 2 (incremental)") || !strings.Contains(out, "1 objects written") {
		t.Errorf("incremental backup: %s", out)
	}
	// verify with the server's configuration, and with the environment.
	out = src.cli(t, "", 0, "backup", "verify", "--config", src.cfg, loc)
	if !strings.Contains(out, "backup in "+loc+" is intact: 2 runs") {
		t.Errorf("verify --config: %s", out)
	}
	env := []string{"ROOST_S3_ENDPOINT=" + srv.Endpoint, "ROOST_S3_ACCESS_KEY=" + srv.AccessKey, "ROOST_S3_SECRET_KEY=" + srv.SecretKey}
	out = src.cliEnv(t, env, "", 0, "backup", "verify", "--s3-no-tls", loc)
	if !strings.Contains(out, "is intact: 2 runs") {
		t.Errorf("verify with the environment: %s", out)
	}
	want := src.imapDump(t, "u0")
	if len(want["INBOX"]) != 21 || len(want["Projects"]) != 19 {
		t.Fatalf("source: INBOX %d, Projects %d messages", len(want["INBOX"]), len(want["Projects"]))
	}

	// An empty installation without S3 settings: they come from the
	// command's environment and flags.
	dstDB := ""
	if database != "" {
		dstDB = testenv.NewPostgresDB(t) // restored into PostgreSQL too
	}
	dst := newInstallation(t, dstDB)
	out = dst.cli(t, "", 1, "restore", "--from", loc, "u0")
	if !strings.Contains(out, "no S3 endpoint") {
		t.Errorf("restore without S3 settings: %s", out)
	}
	out = dst.cliEnv(t, env, "", 0, "restore", "--from", loc, "u0", "--s3-no-tls")
	if !strings.Contains(out, "restored from run 2") {
		t.Errorf("restore: %s", out)
	}
	sameDump(t, "restored from S3", want, dst.imapDump(t, "u0"))
	out = dst.cliEnv(t, env, "", 0, "restore", "--from", loc, "u0", "--s3-no-tls", "--json")
	if !strings.Contains(out, `"created": 0`) {
		t.Errorf("second restore created items: %s", out)
	}
	sameDump(t, "restored twice", want, dst.imapDump(t, "u0"))

	// A secret is not a command-line argument.
	out = dst.cli(t, "", 2, "restore", "--from", loc, "u0", "--s3-endpoint", srv.Endpoint, "--s3-secret-key", "x")
	if !strings.Contains(out, "not a command-line argument") {
		t.Errorf("--s3-secret-key: %s", out)
	}

	// A corrupted object: verify exits 1 naming it, restore refuses.
	var obj string
	var size int64
	filepath.WalkDir(filepath.Join(srv.Dir, bucket, "nightly", "objects"), func(p string, d os.DirEntry, err error) error {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > size {
			obj, size = p, fi.Size()
		}
		return nil
	})
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(obj, bytes.Clone(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out = src.cli(t, "", 1, "backup", "verify", "--config", src.cfg, loc)
	if !strings.Contains(out, "damaged: object "+filepath.Base(obj)+" is corrupted") {
		t.Errorf("verify of a corrupted object: %s", out)
	}
	dst2 := newInstallation(t, "")
	out = dst2.cliEnv(t, env, "", 1, "restore", "--from", loc, "u0", "--s3-no-tls")
	if !strings.Contains(out, "refusing to restore from "+loc) || !strings.Contains(out, "corrupted") {
		t.Errorf("restore of a damaged backup: %s", out)
	}
	if got := dst2.imapDump(t, "u0"); len(got["INBOX"]) != 0 || got["Projects"] != nil {
		t.Errorf("a refused restore stored messages: %d in INBOX", len(got["INBOX"]))
	}
}

// TestS3Flags: the S3 settings of a command line: flags before the
// environment, the secret key only from the environment or a file, and
// S3 flags without an endpoint (or with a directory) refused.
func TestS3Flags(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secret, []byte("from-file\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (*s3Flags, error) {
		f := &s3Flags{}
		for i := 0; i < len(args); i++ {
			ok, err := f.parse(args, &i)
			if err != nil {
				return nil, err
			}
			if !ok {
				t.Fatalf("%q not taken as an S3 flag", args[i])
			}
		}
		return f, nil
	}
	t.Setenv("ROOST_S3_ENDPOINT", "")
	t.Setenv("ROOST_S3_ACCESS_KEY", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "aws-id")
	t.Setenv("ROOST_S3_SECRET_KEY", "env-secret")
	f, err := parse("--s3-endpoint", "s3.example:9000", "--s3-region=eu-west-1", "--s3-no-tls")
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.resolve()
	if err != nil || c == nil || c.Endpoint != "s3.example:9000" || c.Region != "eu-west-1" || !c.NoTLS || c.AccessKey != "aws-id" || c.SecretKey != "env-secret" {
		t.Errorf("flags and environment: %+v, %v", c, err)
	}
	f, _ = parse("--s3-endpoint=e:1", "--s3-access-key", "flag-id", "--s3-secret-key-file", secret)
	if c, err := f.resolve(); err != nil || c.AccessKey != "flag-id" || c.SecretKey != "from-file" {
		t.Errorf("flag and file before the environment: %+v, %v", c, err)
	}
	// No endpoint anywhere: the server's settings (nil), unless S3 flags
	// were given.
	f, _ = parse()
	if c, err := f.resolve(); c != nil || err != nil {
		t.Errorf("nothing given: %+v, %v", c, err)
	}
	f, _ = parse("--s3-access-key", "x")
	if _, err := f.resolve(); err == nil || !strings.Contains(err.Error(), "need --s3-endpoint") {
		t.Errorf("a flag without an endpoint: %v", err)
	}
	t.Setenv("ROOST_S3_ENDPOINT", "env:9000")
	f, _ = parse()
	if c, err := f.resolve(); err != nil || c.Endpoint != "env:9000" {
		t.Errorf("endpoint from the environment: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"--s3-secret-key", "x"}, {"--s3-secret-key=x"}, {"--s3-bogus", "x"}, {"--s3-no-tls=1"}, {"--s3-endpoint"}} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var out, errb bytes.Buffer
	if code := runBackup(t.Context(), []string{"--to", t.TempDir(), "--s3-endpoint", "e:1"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "go with --to s3://") {
		t.Errorf("S3 flags with a directory: exit %d, %s", code, errb.String())
	}
	// $ROOST_S3_ENDPOINT (set above) does not concern a directory.
	errb.Reset()
	if code := runBackup(t.Context(), []string{"--data", shortDir(t), "--to", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "cannot reach the server") {
		t.Errorf("a directory with $ROOST_S3_ENDPOINT set: exit %d, %s", code, errb.String())
	}
	if code := runVerify(t.Context(), []string{"--s3-endpoint", "e:1", t.TempDir()}, &out, &errb); code != 2 {
		t.Errorf("verify of a directory with S3 flags: exit %d, %s", code, errb.String())
	}
	if code := runBackup(t.Context(), []string{"--to", "s3://A/x"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "not a bucket name") {
		t.Errorf("a bad location: exit %d, %s", code, errb.String())
	}
}
