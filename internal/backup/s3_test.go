package backup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// s3Loc is a backup location in a new bucket of a real S3 server
// (versitygw, posix backend), and the directory its keys are files in.
func s3Loc(t *testing.T, srv *testenv.S3) (backup.Location, string) {
	t.Helper()
	bucket := srv.Bucket(t)
	cfg := backup.S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, NoTLS: true, TempDir: t.TempDir()}
	return backup.Location{Path: "s3://" + bucket + "/site/roost", S3: cfg}, filepath.Join(srv.Dir, bucket, "site", "roost")
}

// TestS3RoundTrip backs up to S3 (full, then incremental), verifies the
// backup there, restores it into an empty installation and compares
// item by item, restores again (nothing twice), and checks that the
// bucket holds the directory layout (its keys copied to a directory are
// a valid directory backup).
func TestS3RoundTrip(t *testing.T) {
	srv := testenv.StartS3(t)
	for _, be := range testenv.Backends(t) {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			loc, files := s3Loc(t, srv)
			src := install(t, be)
			populate(t, src)
			sum, err := backup.Run(ctx, src, backup.Options{Dir: loc.Path, S3: loc.S3})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Run != 1 || len(sum.Stores) != 2 || sum.Objects == 0 {
				t.Fatalf("full backup: %+v", sum)
			}
			for _, e := range sum.Stores {
				if e.Parent != 0 {
					t.Errorf("store %s of the first run builds on run %d", e.Login, e.Parent)
				}
			}
			// Three changes: a flag, a new message, a deletion.
			actx := testenv.As(t, src, "alice")
			inbox := testenv.Folder(t, actx, src, "alice", store.SpecialInbox)
			if _, err := src.UpdateFlags(actx, inbox.ID, []uint32{1}, store.FlagsAdd, []string{`\Flagged`}); err != nil {
				t.Fatal(err)
			}
			appendMsg(t, actx, src, inbox.ID, msg(500), day0)
			if _, err := src.DeleteItems(actx, inbox.ID, []uint32{2}); err != nil {
				t.Fatal(err)
			}
			inc, err := backup.Run(ctx, src, backup.Options{Dir: loc.Path, S3: loc.S3, Logins: []string{"alice"}})
			if err != nil {
				t.Fatal(err)
			}
			if e := inc.Stores[0]; inc.Run != 2 || e.Parent != 1 || e.Items != 3 || inc.Objects != 1 {
				t.Errorf("incremental: run %d, parent %d, %d items and %d objects written; want run 2 on 1, 3 items, 1 object", inc.Run, e.Parent, e.Items, inc.Objects)
			}
			// Nothing changed: nothing written.
			if again, err := backup.Run(ctx, src, backup.Options{Dir: loc.Path, S3: loc.S3, Logins: []string{"alice"}}); err != nil {
				t.Fatal(err)
			} else if again.Stores[0].Items != 0 || again.Objects != 0 {
				t.Errorf("an unchanged store's incremental wrote %d items, %d objects", again.Stores[0].Items, again.Objects)
			}
			rep, err := backup.Verify(ctx, loc, nil)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if rep.Runs != 3 || rep.Objects == 0 {
				t.Errorf("verify: %+v", rep)
			}
			// The same layout as a directory.
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(files)); err != nil {
				t.Fatal(err)
			}
			if drep, err := backup.Verify(ctx, backup.Location{Path: dir}, nil); err != nil || drep.Objects != rep.Objects || drep.Items != rep.Items {
				t.Errorf("the bucket's keys as a directory: %+v, %v; want %+v", drep, err, rep)
			}

			want := snap(t, src, "alice")
			dst := install(t, be)
			r, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: loc.Path, S3: loc.S3, Login: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Run != 3 || len(r.Warnings) > 0 {
				t.Errorf("restore: %+v", r)
			}
			same(t, want, snap(t, dst, "alice"))
			r2, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: loc.Path, S3: loc.S3, Login: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if r2.Created != 0 || r2.FoldersCreated != 0 || r2.Present != r.Created {
				t.Errorf("second restore: %+v (first %+v)", r2, r)
			}
			same(t, want, snap(t, dst, "alice"))
			// bob's store comes from run 1.
			wantBob := snap(t, src, "bob")
			if _, err := backup.Restore(ctx, dst, backup.RestoreOptions{Dir: loc.Path, S3: loc.S3, Login: "bob"}); err != nil {
				t.Fatal(err)
			}
			same(t, wantBob, snap(t, dst, "bob"))
		})
	}
}

// TestS3Damaged: an object corrupted or truncated in the bucket is found
// by Verify and makes Restore refuse before it stores anything; an
// unfinished run (no manifest) is not counted.
func TestS3Damaged(t *testing.T) {
	srv := testenv.StartS3(t)
	ctx := context.Background()
	loc, files := s3Loc(t, srv)
	s := install(t, testenv.Backend())
	populate(t, s)
	if _, err := backup.Run(ctx, s, backup.Options{Dir: loc.Path, S3: loc.S3, Logins: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	var big string
	var bigSize int64
	filepath.WalkDir(filepath.Join(files, "objects"), func(p string, d os.DirEntry, err error) error {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > bigSize {
			big, bigSize = p, fi.Size()
		}
		return nil
	})
	orig, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	// A run that stopped before its manifest: ignored by Verify.
	if err := os.MkdirAll(filepath.Join(files, "runs", "000002"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(files, "runs", "000002", "1.jsonl"), []byte("{\"t\":\"item\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := backup.Verify(ctx, loc, nil); err != nil || rep.Runs != 1 {
		t.Fatalf("verify with an unfinished run: %+v, %v", rep, err)
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"corrupted", "corrupted", func() []byte {
			b := append([]byte(nil), orig...)
			b[len(b)/2] ^= 0x20
			return b
		}()},
		{"truncated", "truncated", orig[:len(orig)/2]},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(big, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(big, orig, 0o600)
			_, err := backup.Verify(ctx, loc, nil)
			if !errors.Is(err, backup.ErrDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("verify: %v, want damage naming %q", err, c.want)
			}
			dst := install(t, testenv.Backend())
			_, err = backup.Restore(ctx, dst, backup.RestoreOptions{Dir: loc.Path, S3: loc.S3, Login: "alice"})
			if !errors.Is(err, backup.ErrDamaged) || !strings.Contains(err.Error(), "refusing to restore from "+loc.Path) {
				t.Errorf("restore: %v, want it refused as damaged", err)
			}
			if n := count(snap(t, dst, "alice")); n != 0 {
				t.Errorf("a refused restore stored %d items", n)
			}
		})
	}
	// Intact again: a new run builds on run 1, numbered after the
	// unfinished one.
	sum, err := backup.Run(ctx, s, backup.Options{Dir: loc.Path, S3: loc.S3, Logins: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Run != 3 || sum.Stores[0].Parent != 1 {
		t.Errorf("run after an unfinished one: run %d on %d, want 3 on 1", sum.Run, sum.Stores[0].Parent)
	}
}

// TestS3Settings: a wrong location, a missing bucket, missing or wrong
// credentials are named, not reported as a damaged backup.
func TestS3Settings(t *testing.T) {
	srv := testenv.StartS3(t)
	ctx := context.Background()
	loc, _ := s3Loc(t, srv)
	s := install(t, testenv.Backend())
	cases := []struct {
		name, want string
		loc        backup.Location
	}{
		{"bad bucket", "not a bucket name", backup.Location{Path: "s3://A_B/x", S3: loc.S3}},
		{"dot-dot prefix", "'..'", backup.Location{Path: strings.Replace(loc.Path, "/site/", "/../", 1), S3: loc.S3}},
		{"no bucket", "does not exist", backup.Location{Path: "s3://no-such-bucket/x", S3: loc.S3}},
		{"no endpoint", "no S3 endpoint", backup.Location{Path: loc.Path}},
		{"no secret", "no S3 credentials", backup.Location{Path: loc.Path, S3: backup.S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, NoTLS: true}}},
		{"wrong secret", "bucket", backup.Location{Path: loc.Path, S3: backup.S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: "wrong", NoTLS: true}}},
	}
	for _, c := range cases {
		_, err := backup.Run(ctx, s, backup.Options{Dir: c.loc.Path, S3: c.loc.S3})
		if err == nil || backup.IsDamaged(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: backup: %v, want an error naming %q", c.name, err, c.want)
		}
		_, err = backup.Verify(ctx, c.loc, nil)
		if err == nil || backup.IsDamaged(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: verify: %v, want an error naming %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), srv.SecretKey) {
			t.Errorf("%s: the error shows the secret key: %v", c.name, err)
		}
	}
	// An empty prefix holds no backup: that is damage for verify.
	if _, err := backup.Verify(ctx, loc, nil); !backup.IsDamaged(err) || !strings.Contains(err.Error(), "no backup run") {
		t.Errorf("verify of an empty prefix: %v", err)
	}
}
