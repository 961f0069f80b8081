package adminapi_test

import (
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/backup"
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
