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
