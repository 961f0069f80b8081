package davserver_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPythonCaldav drives the server with Debian's python3-caldav.
func TestPythonCaldav(t *testing.T) {
	t.Parallel()
	py := needPython(t, "caldav")
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/caldav_client.py", e.url+"/dav/", "alice", password("alice"))
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("caldav client: %v\n%s\n%s", err, out, stderr)
	}
	var got struct {
		Principal   string   `json:"principal"`
		Calendars   []string `json:"calendars"`
		NewCalendar string   `json:"new_calendar"`
		DateSearch  []string `json:"date_search"`
		Todos       []string `json:"todos"`
		Events      int      `json:"events"`
		SyncInitial int      `json:"sync_initial"`
		SyncUpdated []string `json:"sync_updated"`
		SyncDeleted []string `json:"sync_deleted"`
		TokenMoved  bool     `json:"token_moved"`
		SyncAgain   int      `json:"sync_again"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("%+v", got)
	if !strings.HasSuffix(got.Principal, "/dav/principals/alice/") {
		t.Errorf("principal %q", got.Principal)
	}
	if !slices.ContainsFunc(got.Calendars, func(s string) bool { return strings.HasSuffix(s, e.calURL("alice")) }) {
		t.Errorf("calendars %v", got.Calendars)
	}
	if !strings.HasSuffix(got.NewCalendar, "/dav/calendars/alice/pytest/") {
		t.Errorf("new calendar %q", got.NewCalendar)
	}
	want := []string{"20240108T100000Z Weekly", "20240110T120000Z Single", "20240115T100000Z Weekly"}
	if !slices.Equal(got.DateSearch, want) {
		t.Errorf("date_search %v, want %v", got.DateSearch, want)
	}
	if !slices.Equal(got.Todos, []string{"Write tests"}) || got.Events != 3 {
		t.Errorf("todos %v events %d", got.Todos, got.Events)
	}
	if got.SyncInitial != 4 || len(got.SyncUpdated) != 1 || len(got.SyncDeleted) != 1 || !got.TokenMoved || got.SyncAgain != 0 {
		t.Errorf("sync: initial %d updated %v deleted %v moved %v again %d", got.SyncInitial, got.SyncUpdated, got.SyncDeleted, got.TokenMoved, got.SyncAgain)
	}
}
