package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/adminapi"
)

// TestStatsAgainstServe runs roost stats against a running server with an
// IMAP session open and mail delivered.
func TestStatsAgainstServe(t *testing.T) {
	in := newInstallation(t, "")
	c := in.imapLogin(t, "u0")
	msg := "Subject: hi\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n"
	for i := 0; i < 3; i++ {
		ac := c.Append("INBOX", int64(len(msg)), nil)
		ac.Write([]byte(msg))
		ac.Close()
		if _, err := ac.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	var st adminapi.Stats
	out := in.cli(t, "", 0, "stats", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	rt := st.Runtime
	if rt == nil || rt.Sessions["imap"] < 1 || rt.Logins["u0"].Logins < 1 || rt.Database != "sqlite" || rt.DatabaseBytes <= 0 {
		t.Fatalf("runtime figures: %+v", rt)
	}
	if st.Users.Total != 3 || len(st.Tenants) != 1 || st.Tenants[0].Users != 3 {
		t.Errorf("users %+v tenants %+v", st.Users, st.Tenants)
	}
	if len(st.Stores) == 0 || st.Stores[0].Login != "u0" || st.Stores[0].Messages != 3 || st.Stores[0].Bytes != int64(3*len(msg)) {
		t.Errorf("biggest store: %+v", st.Stores)
	}
	var imapConn *adminapi.ConnStats
	for i, cs := range rt.Connections {
		if cs.Listener == "imap" {
			imapConn = &rt.Connections[i]
		}
	}
	if imapConn == nil || imapConn.BytesIn < int64(3*len(msg)) {
		t.Errorf("the IMAP session: %+v", imapConn)
	}

	out = in.cli(t, "", 0, "stats")
	for _, want := range []string{"System", "sqlite", "Sessions", "imap", "Users", "Tenants", "Biggest stores", "u0"} {
		if !strings.Contains(out, want) {
			t.Errorf("roost stats lacks %q:\n%s", want, out)
		}
	}
	// --top with standard output not a terminal: one view, then exit.
	out = in.cli(t, "", 0, "stats", "--top")
	for _, want := range []string{"Busiest users", "Busiest sessions", "u0", "imap", fmt.Sprint(imapConn.ID)} {
		if !strings.Contains(out, want) {
			t.Errorf("roost stats --top lacks %q:\n%s", want, out)
		}
	}
}

// TestDrawTopRates: between two samples, users are ordered by store
// changes per second and sessions by bytes per second.
func TestDrawTopRates(t *testing.T) {
	prev := &Stats{Version: "v", Stores: []StoreStats{{Login: "quiet", ModSeq: 100}, {Login: "busy", ModSeq: 10}},
		Runtime: &RuntimeStats{Connections: []ConnStats{{ID: 1, Listener: "imap", BytesIn: 1000}, {ID: 2, Listener: "pop3", BytesIn: 0}}}}
	cur := &Stats{Version: "v", Stores: []StoreStats{{Login: "quiet", ModSeq: 102}, {Login: "busy", ModSeq: 50}},
		Runtime: &RuntimeStats{Connections: []ConnStats{{ID: 1, Listener: "imap", BytesIn: 1000}, {ID: 2, Listener: "pop3", BytesIn: 4096}}}}
	var b strings.Builder
	drawTop(&b, prev, cur, 2*1e9, 10)
	out := b.String()
	if !strings.Contains(out, "CHANGES/S") || strings.Index(out, "busy") > strings.Index(out, "quiet") || !strings.Contains(out, "20.0") {
		t.Errorf("users not ordered by changes per second:\n%s", out)
	}
	sess := out[strings.Index(out, "Busiest sessions"):]
	if strings.Index(sess, "pop3") > strings.Index(sess, "imap") || !strings.Contains(sess, "2.0 KiB") {
		t.Errorf("sessions not ordered by bytes per second:\n%s", out)
	}
}

// TestLiveTopQuits: the live view draws, refreshes from fetch and ends on q.
func TestLiveTopQuits(t *testing.T) {
	first := &Stats{Version: "v", Stores: []StoreStats{{Login: "alice", ModSeq: 1}}}
	pr, pw := io.Pipe()
	var out strings.Builder
	done := make(chan int)
	go func() {
		done <- liveTop(context.Background(), pr, &out, io.Discard, first, func() (*Stats, error) { return first, nil })
	}()
	pw.Write([]byte("x"))
	pw.Write([]byte("q"))
	code := <-done
	pw.Close()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "Busiest users") || !strings.Contains(out.String(), "alice") || !strings.Contains(out.String(), "\x1b[2J") {
		t.Errorf("screen: %q", out.String())
	}
}
