package adminapi_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/backup"
	"github.com/roost-mail/roost/internal/testenv"
)

// TestBackupRestoreStatsRights: backup, restore and stats touch every
// store and the server's files, so only system administrators may; paths
// must be absolute (the server's working directory means nothing to the
// caller).
func TestBackupRestoreStatsRights(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	e.call("PATCH", "/v1/users/bob", adminapi.UserUpdate{Admin: ptr(1)}, 200, nil)
	dir := t.TempDir()
	e.wantErr("bob", "POST", "/v1/backup", backup.Request{To: dir}, 403, "system administrators")
	e.wantErr("bob", "POST", "/v1/restore", backup.RestoreRequest{From: dir, Login: "alice"}, 403, "system administrators")
	e.wantErr("alice", "GET", "/v1/stats", nil, 403, "system administrators")
	e.wantErr("", "POST", "/v1/backup", backup.Request{To: "relative/dir"}, 400, "absolute")
	e.wantErr("", "POST", "/v1/restore", backup.RestoreRequest{From: dir}, 400, "login")
	var st adminapi.Stats
	e.call("GET", "/v1/stats", nil, 200, &st)
	if st.Users.Total != 3 || len(st.Tenants) != 2 || len(st.Stores) != 3 {
		t.Fatalf("stats: %+v", st)
	}
}

// TestImportExportMessages: the errors an administrator reads from roost
// admin import and export say each thing once, in words: no "user: user"
// or "open F: open F" chains, and an export directory the server cannot
// create is named as such; a restore from a directory without a backup
// says so rather than that the backup lacks the user.
func TestImportExportMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fixture()
	stream := func(path string, body any) string {
		t.Helper()
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Post("http://roost"+path, "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var last backup.Event
		dec := json.NewDecoder(resp.Body)
		for dec.More() {
			if err := dec.Decode(&last); err != nil {
				t.Fatal(err)
			}
		}
		return last.Error
	}
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, c := range []struct {
		path string
		body any
		want string
	}{
		{"/v1/import", backup.ImportRequest{Login: "ghost", Format: "mbox", Path: missing}, `user "ghost": not found`},
		{"/v1/import", backup.ImportRequest{Login: "alice", Format: "mbox", Path: missing}, "open " + missing + ": no such file or directory"},
		{"/v1/import", backup.ImportRequest{Login: "alice", Format: "maildir", Path: missing}, missing + ": no such file or directory"},
		{"/v1/export", backup.ExportRequest{Login: "ghost", To: missing}, `user "ghost": not found`},
		{"/v1/restore", backup.RestoreRequest{From: missing, Login: "alice"}, missing + " holds no backup"},
		{"/v1/export", backup.ExportRequest{Login: "alice", To: "/proc/roost-export"}, "cannot create the export directory on the server's host: mkdir /proc/roost-export"},
	} {
		got := stream(c.path, c.body)
		if !strings.HasPrefix(got, c.want) && !strings.HasSuffix(got, c.want) || strings.Count(got, missing) > 1 || strings.Contains(got, "user: ") {
			t.Errorf("%s %+v: error %q, want %q", c.path, c.body, got, c.want)
		}
	}
}

// TestBackupS3Settings: POST /v1/backup and /v1/restore to and from an
// s3:// location use the server's own S3 settings when the request names
// no endpoint, and only the request's when it does: the server's secret
// is never added to settings naming an endpoint (here the same one, with
// no secret: refused for want of credentials).
func TestBackupS3Settings(t *testing.T) {
	t.Parallel()
	srv := testenv.StartS3(t)
	bucket := srv.Bucket(t)
	own := backup.S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, NoTLS: true}
	e := newEnv(t, func(o *adminapi.Options, _ *env) {
		o.BackupS3 = func() backup.S3Config { c := own; c.TempDir = t.TempDir(); return c }
	})
	e.fixture()
	stream := func(path string, body any) backup.Event {
		t.Helper()
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Post("http://roost"+path, "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var last backup.Event
		dec := json.NewDecoder(resp.Body)
		for dec.More() {
			if err := dec.Decode(&last); err != nil {
				t.Fatal(err)
			}
		}
		return last
	}
	loc := "s3://" + bucket + "/api"
	if ev := stream("/v1/backup", backup.Request{To: loc}); ev.Error != "" || ev.Backup == nil || ev.Backup.Run != 1 {
		t.Fatalf("backup with the server's settings: %+v", ev)
	}
	if ev := stream("/v1/restore", backup.RestoreRequest{From: loc, Login: "alice"}); ev.Error != "" || ev.Restore == nil || ev.Restore.Run != 1 {
		t.Fatalf("restore with the server's settings: %+v", ev)
	}
	sent := &backup.S3Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, NoTLS: true}
	if ev := stream("/v1/backup", backup.Request{To: loc, S3: sent}); !strings.Contains(ev.Error, "no S3 credentials") {
		t.Errorf("backup with an endpoint and no secret: %+v", ev)
	}
	sent.SecretKey = srv.SecretKey
	if ev := stream("/v1/backup", backup.Request{To: loc, S3: sent}); ev.Error != "" || ev.Backup == nil || ev.Backup.Run != 2 {
		t.Errorf("backup with the request's settings: %+v", ev)
	}
	e.wantErr("", "POST", "/v1/backup", backup.Request{To: "s3:" + bucket}, 400, "s3://BUCKET/PREFIX")
}
