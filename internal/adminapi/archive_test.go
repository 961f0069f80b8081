package adminapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
	"github.com/roost-mail/roost/internal/mail"
)

// TestArchiveEndpoints: attach, list, run and detach archive stores, and
// who may: the administrators of the user's tenant for one user, system
// administrators for every user.
func TestArchiveEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *adminapi.Options, e *env) {
		o.Archiver = func() *mail.Archiver { return &mail.Archiver{Store: e.db} }
	})
	e.fixture()
	e.call("PATCH", "/v1/users/bob", adminapi.UserUpdate{Admin: ptr(1)}, 200, nil)

	e.wantErr("alice", "PUT", "/v1/users/alice/archive", adminapi.ArchiveAttach{}, 403, "")
	e.wantErr("eve", "PUT", "/v1/users/alice/archive", adminapi.ArchiveAttach{}, 404, "")
	e.wantErr("bob", "POST", "/v1/archive/run", adminapi.ArchiveRun{Login: "alice"}, 404, "no archive store")
	var st adminapi.Store
	e.callAs("bob", "PUT", "/v1/users/alice/archive", adminapi.ArchiveAttach{Node: "b2"}, 201, &st)
	if st.Kind != "archive" || st.Owner != "alice" || st.Node != "b2" {
		t.Fatalf("attached %+v", st)
	}
	e.wantErr("", "PUT", "/v1/users/alice/archive", adminapi.ArchiveAttach{}, 409, "already has an archive")
	var list []adminapi.Store
	e.callAs("bob", "GET", "/v1/archives", nil, 200, &list)
	if len(list) != 1 || list[0].ID != st.ID {
		t.Fatalf("list %+v", list)
	}
	e.wantErr("alice", "GET", "/v1/archives", nil, 403, "")

	run := func(as string, req adminapi.ArchiveRun) (int, []adminapi.ArchiveEvent) {
		t.Helper()
		j, _ := json.Marshal(req)
		hr, _ := http.NewRequest("POST", "http://roost/v1/archive/run", bytes.NewReader(j))
		if as != "" {
			hr.Header.Set("X-Test-As", as)
		}
		resp, err := e.client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp.StatusCode, nil
		}
		var evs []adminapi.ArchiveEvent
		dec := json.NewDecoder(resp.Body)
		for dec.More() {
			var ev adminapi.ArchiveEvent
			if err := dec.Decode(&ev); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		return resp.StatusCode, evs
	}
	if code, evs := run("bob", adminapi.ArchiveRun{Login: "alice"}); code != 200 || len(evs) < 2 || evs[0].Progress == nil ||
		evs[len(evs)-1].Summary == nil || evs[len(evs)-1].Summary.Users != 1 || evs[len(evs)-1].Error != "" {
		t.Fatalf("run as bob: %d %+v", code, evs)
	}
	e.wantErr("bob", "POST", "/v1/archive/run", adminapi.ArchiveRun{All: true}, 403, "system administrators")
	e.wantErr("eve", "POST", "/v1/archive/run", adminapi.ArchiveRun{Login: "alice"}, 404, "")
	e.wantErr("", "POST", "/v1/archive/run", adminapi.ArchiveRun{}, 400, "either login or all")
	if code, evs := run("", adminapi.ArchiveRun{All: true}); code != 200 || evs[len(evs)-1].Summary == nil {
		t.Fatalf("run all: %d %+v", code, evs)
	}

	e.wantErr("alice", "DELETE", "/v1/users/alice/archive", nil, 403, "")
	e.call("DELETE", "/v1/users/alice/archive", nil, 204, nil)
	e.wantErr("", "DELETE", "/v1/users/alice/archive", nil, 404, "no archive store")
	e.callAs("bob", "GET", "/v1/archives", nil, 200, &list)
	if len(list) != 0 {
		t.Fatalf("list after detach %+v", list)
	}
}
