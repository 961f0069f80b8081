package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/testenv"
)

// TestShardedSharing: a store opened on another backend (docs/cluster.md,
// "Sharded mode", issue 14's "a shared folder across backends"). alice's
// home is node-a, bob's node-b; the tenant's public folder is written by
// pat (home node-a). bob, through the frontend (his sessions run on
// node-b):
//
//   - Python imaplib lists and reads "Other Users/alice/Projects" and
//     "Shared Folders/Announcements" and appends into alice's folder (he
//     has the insert right), which alice then reads on node-a;
//   - an IDLE of bob on alice's folder hears of a message alice appends
//     on node-a (the change crosses nodes through LISTEN/NOTIFY);
//   - JMAP shows alice's shared account and its mailbox, and bob's
//     EventSource pushes a change of alice's account made on node-a;
//   - Python's caldav reads alice's shared calendar and writes an event
//     into it, which alice reads back through the frontend (node-a).
func TestShardedSharing(t *testing.T) {
	testenv.PostgresDSN(t)
	bin := roostBinary(t)
	nodes := startShard(t, bin)
	a, b, front := nodes[0], nodes[1], nodes[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-a log:\n%s\nnode-b log:\n%s\nfrontend log:\n%s", a.proc.out, b.proc.out, front.proc.out)
		}
	})

	// The tenant's public store, its folder made over IMAP by pat, a
	// tenant administrator at home on node-a.
	adminCLI(t, bin, a.dir, "store", "create-public")
	cmd := exec.Command(bin, "admin", "--data", a.dir, "user", "create", "pat", "--email", "pat@example.test", "--admin", "1", "--password-stdin")
	cmd.Stdin = strings.NewReader("secret-pw\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create pat: %v\n%s", err, out)
	}
	setHome(t, a, "node-a", "pat")
	appendMsg := func(c *imapConn, tag, folder, subject string) {
		t.Helper()
		msg := fmt.Sprintf("From: x@example.test\r\nSubject: %s\r\nMessage-ID: <%s@example.test>\r\n\r\n%s\r\n", subject, strings.ReplaceAll(subject, " ", "-"), subject)
		c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		c.send(fmt.Sprintf("%s APPEND %q {%d+}\r\n%s", tag, folder, len(msg), msg))
		if l := c.expect(tag + " "); !strings.HasPrefix(l, tag+" OK") {
			t.Fatalf("APPEND %s: %s", folder, l)
		}
	}
	pat := imapDial(t, front.imap)
	pat.cmd("p1", "LOGIN pat secret-pw")
	pat.cmd("p2", `CREATE "Shared Folders/Announcements"`)
	pat.cmd("p3", `SETACL "Shared Folders/Announcements" anyone lr`)
	appendMsg(pat, "p4", "Shared Folders/Announcements", "office closed friday")

	// alice (node-a) shares Projects with bob: read, seen, insert.
	alice := imapDial(t, front.imap)
	alice.cmd("a1", "LOGIN alice secret-pw")
	alice.cmd("a2", "CREATE Projects")
	alice.cmd("a3", "SETACL Projects bob lrsi")
	appendMsg(alice, "a4", "Projects", "plan from alice")
	if !logHasSoon(a.proc.out, "logged in", "user=alice", "via=127.0.0.4") || !logHasSoon(a.proc.out, "logged in", "user=pat", "via=127.0.0.4") {
		t.Fatalf("alice's and pat's sessions are not on node-a")
	}

	// bob over Python imaplib through the frontend.
	py := `
import imaplib, sys, json
host, port = sys.argv[1].rsplit(":", 1)
m = imaplib.IMAP4(host, int(port))
m.login("bob", "secret-pw")
typ, names = m.list('""', '"*"')
out = {"list": [n.decode() for n in names]}
typ, data = m.select('"Other Users/alice/Projects"')
out["projects"] = int(data[0])
typ, data = m.fetch("1", "(BODY.PEEK[])")
out["projects_1"] = data[0][1].decode()
typ, data = m.myrights('"Other Users/alice/Projects"')
out["myrights"] = data[0].decode()
msg = b"From: bob@example.test\r\nSubject: reply from bob\r\n\r\nok\r\n"
typ, data = m.append('"Other Users/alice/Projects"', None, None, msg)
out["append"] = typ
typ, data = m.select('"Shared Folders/Announcements"', readonly=True)
out["public"] = int(data[0])
typ, data = m.fetch("1", "(BODY.PEEK[])")
out["public_1"] = data[0][1].decode()
typ, data = m.append('"Shared Folders/Announcements"', None, None, msg)
out["public_append"] = typ
m.logout()
print(json.dumps(out))
`
	out, err := exec.Command("/usr/bin/python3", "-c", py, front.imap).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib as bob through the frontend: %v\n%s", err, out)
	}
	var got struct {
		List         []string `json:"list"`
		Projects     int      `json:"projects"`
		Projects1    string   `json:"projects_1"`
		MyRights     string   `json:"myrights"`
		Append       string   `json:"append"`
		Public       int      `json:"public"`
		Public1      string   `json:"public_1"`
		PublicAppend string   `json:"public_append"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("imaplib as bob: %v: %s", err, out)
	}
	list := strings.Join(got.List, "\n")
	if !strings.Contains(list, `"Other Users/alice/Projects"`) || !strings.Contains(list, `"Shared Folders/Announcements"`) ||
		strings.Contains(list, `"Other Users/alice/INBOX"`) {
		t.Errorf("bob's LIST through the frontend:\n%s", list)
	}
	if got.Projects != 1 || !strings.Contains(got.Projects1, "plan from alice") || !strings.HasSuffix(got.MyRights, " lrsi") ||
		got.Append != "OK" || got.Public != 1 || !strings.Contains(got.Public1, "office closed friday") || got.PublicAppend != "NO" {
		t.Errorf("bob's shared and public folders through the frontend: %+v", got)
	}
	if !logHasSoon(b.proc.out, "logged in", "user=bob", "via=127.0.0.4") || strings.Contains(a.proc.out.String(), "user=bob") {
		t.Errorf("bob's IMAP session was not served by node-b alone")
	}
	// alice, on node-a, reads what bob appended on node-b.
	alice.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	alice.send(`a5 SELECT Projects`)
	if l := alice.expect("* 2 EXISTS"); l == "" {
		t.Fatal("alice's Projects")
	}
	alice.expect("a5 OK")
	if body := alice.fetchBody("a6", 2); !strings.Contains(body, "reply from bob") {
		t.Errorf("alice's Projects #2: %q", body)
	}
	alice.cmd("a7", "UNSELECT")

	// bob IDLEs on alice's folder on node-b; alice appends on node-a.
	bob := imapDial(t, front.imap)
	bob.cmd("b1", "LOGIN bob secret-pw")
	bob.cmd("b2", `SELECT "Other Users/alice/Projects"`)
	bob.send("b3 IDLE")
	bob.expect("+ ")
	appendMsg(alice, "a8", "Projects", "late news from alice")
	bob.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	bob.expect("* 3 EXISTS")
	bob.send("DONE")
	bob.expect("b3 OK")
	if body := bob.fetchBody("b4", 3); !strings.Contains(body, "late news from alice") {
		t.Errorf("bob's FETCH of alice's new message: %q", body)
	}
	// A folder alice shares while bob's session on node-b is open (its
	// folder tree listed already) shows in his next LIST.
	list2 := func(tag string) string {
		t.Helper()
		lines := bob.lines(tag, `LIST "" "Other Users/alice/*"`)
		return strings.Join(lines, "\n")
	}
	if l := list2("b5"); strings.Contains(l, "Reports") {
		t.Fatalf("bob's LIST before the share: %s", l)
	}
	alice.cmd("a10", "CREATE Reports")
	alice.cmd("a11", "SETACL Reports bob lr")
	if l := list2("b6"); !strings.Contains(l, `"Other Users/alice/Reports"`) {
		t.Errorf("bob's LIST in his open session after alice shared Reports: %s", l)
	}
	bob.cmd("b7", `STATUS "Other Users/alice/Reports" (MESSAGES)`)

	// JMAP as bob through the frontend: alice's shared account.
	hc := &http.Client{Timeout: 30 * time.Second}
	using := `["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail","urn:ietf:params:jmap:calendars","urn:ietf:params:jmap:principals"]`
	api := func(user, calls string) []any {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+front.http+"/jmap/api/", strings.NewReader(`{"using":`+using+`,"methodCalls":`+calls+`}`))
		req.SetBasicAuth(user, "secret-pw")
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("JMAP as %s: %v", user, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r struct {
			MethodResponses []any `json:"methodResponses"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("JMAP as %s: %d %s", user, resp.StatusCode, body)
		}
		return r.MethodResponses
	}
	type jmapSess struct {
		Accounts map[string]struct {
			Name       string `json:"name"`
			IsPersonal bool   `json:"isPersonal"`
		} `json:"accounts"`
		Primary        map[string]string `json:"primaryAccounts"`
		EventSourceURL string            `json:"eventSourceUrl"`
	}
	session := func(user string) jmapSess {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+front.http+"/jmap/session", nil)
		req.SetBasicAuth(user, "secret-pw")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s jmapSess
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatalf("JMAP session of %s: %v", user, err)
		}
		return s
	}
	sess := session("bob")
	aliceAcct := ""
	for id, acc := range sess.Accounts {
		if acc.Name == "alice" {
			aliceAcct = id
		}
	}
	if aliceAcct == "" || aliceAcct == sess.Primary["urn:ietf:params:jmap:mail"] {
		t.Fatalf("bob's JMAP session through the frontend has no account of alice: %+v", sess)
	}
	r := api("bob", `[["Mailbox/get",{"accountId":"`+aliceAcct+`","properties":["name","totalEmails"]},"0"]]`)
	if s, _ := json.Marshal(r); !strings.Contains(string(s), `"name":"Projects"`) || !strings.Contains(string(s), `"totalEmails":3`) {
		t.Errorf("bob's Mailbox/get of alice's account through the frontend: %s", s)
	}
	if !logHasSoon(b.proc.out, "proxied request", "path=/jmap/api/", "user=bob", "via=127.0.0.4") {
		t.Errorf("node-b logged no proxied JMAP request of bob")
	}

	// bob's EventSource (node-b) pushes a change alice makes on node-a.
	esURL := strings.NewReplacer("{types}", "*", "{closeafter}", "no", "{ping}", "0").Replace(sess.EventSourceURL)
	req, _ := http.NewRequest("GET", esURL, nil)
	req.SetBasicAuth("bob", "secret-pw")
	es, err := (&http.Client{}).Do(req)
	if err != nil || es.StatusCode != 200 {
		t.Fatalf("bob's EventSource through the frontend: %v %v", es, err)
	}
	defer es.Body.Close()
	pushes := make(chan string, 16)
	go func() {
		defer close(pushes)
		sc := bufio.NewScanner(es.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data:") {
				pushes <- l
			}
		}
	}()
	if !logHasSoon(b.proc.out, "proxied request", "path=/jmap/eventsource/", "user=bob") {
		t.Fatalf("node-b logged no EventSource of bob")
	}
	appendMsg(alice, "a9", "Projects", "pushed from alice")
	timeout := time.After(30 * time.Second)
	for pushed := false; !pushed; {
		select {
		case l, ok := <-pushes:
			if !ok {
				t.Fatal("bob's EventSource ended without a push")
			}
			pushed = strings.Contains(l, `"`+aliceAcct+`"`) && strings.Contains(l, `"Email"`)
		case <-timeout:
			t.Fatalf("no push of alice's account on bob's EventSource within 30 s")
		}
	}

	// alice shares her calendar with bob (read and write), over JMAP
	// through the frontend (node-a).
	db, err := sql.Open("pgx", a.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bobID int64
	if err := db.QueryRow(`SELECT id FROM users WHERE login = 'bob'`).Scan(&bobID); err != nil {
		t.Fatal(err)
	}
	aliceOwn := session("alice").Primary["urn:ietf:params:jmap:mail"]
	r = api("alice", `[["Calendar/get",{"accountId":"`+aliceOwn+`","properties":["name","isDefault"]},"0"]]`)
	var calGet struct {
		List []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"list"`
	}
	calID := ""
	if inv, ok := r[0].([]any); ok && len(inv) == 3 {
		b, _ := json.Marshal(inv[1])
		json.Unmarshal(b, &calGet)
		for _, c := range calGet.List {
			if c.Name == "Calendar" {
				calID = c.ID
			}
		}
	}
	s, _ := json.Marshal(r)
	if calID == "" {
		t.Fatalf("alice's Calendar/get through the frontend: %s", s)
	}
	r = api("alice", fmt.Sprintf(`[["Calendar/set",{"accountId":%q,"update":{%q:{"shareWith":{"U%d":{"mayReadItems":true,"mayReadFreeBusy":true,"mayWriteAll":true,"mayWriteOwn":true,"mayUpdatePrivate":true,"mayRSVP":true}}}}},"0"]]`, aliceOwn, calID, bobID))
	if s, _ := json.Marshal(r); !strings.Contains(string(s), `"updated":{"`+calID+`"`) {
		t.Fatalf("alice's Calendar/set shareWith through the frontend: %s", s)
	}

	// bob's CalDAV (node-b) reads and writes alice's calendar.
	cal := `
import caldav, sys, json
c = caldav.DAVClient(url=sys.argv[1], username=sys.argv[2], password="secret-pw")
p = c.principal()
shared = [x for x in p.calendars() if "/~" in str(x.url)]
out = {"calendars": sorted(x.name for x in shared)}
cals = [x for x in shared if x.name == "Calendar"]
if cals:
    shared = cals[0]
    shared.save_event("""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:shared-1@example.test
DTSTAMP:20260101T000000Z
DTSTART:20260112T100000Z
DTEND:20260112T110000Z
SUMMARY:Written by bob
END:VEVENT
END:VCALENDAR
""")
    out["events"] = sorted(e.vobject_instance.vevent.summary.value for e in shared.events())
print(json.dumps(out))
`
	out, err = exec.Command("/usr/bin/python3", "-c", cal, "http://"+front.http+"/dav/", "bob").CombinedOutput()
	if err != nil {
		t.Fatalf("caldav as bob through the frontend: %v\n%s", err, out)
	}
	var calOut struct {
		Calendars []string `json:"calendars"`
		Events    []string `json:"events"`
	}
	if err := json.Unmarshal(out, &calOut); err != nil || !slices.Contains(calOut.Calendars, "Calendar") || len(calOut.Events) != 1 || calOut.Events[0] != "Written by bob" {
		t.Fatalf("caldav as bob on alice's shared calendar through the frontend: %v %s", err, out)
	}
	for _, m := range []string{"PROPFIND", "PUT", "REPORT"} {
		if !logHasSoon(b.proc.out, "proxied request", "method="+m, "user=bob", "via=127.0.0.4") {
			t.Errorf("node-b logged no proxied %s of bob", m)
		}
	}
	// alice (node-a) reads bob's event in her own calendar.
	r = api("alice", `[["CalendarEvent/query",{"accountId":"`+aliceOwn+`","filter":{"inCalendars":["`+calID+`"]}},"0"],`+
		`["CalendarEvent/get",{"accountId":"`+aliceOwn+`","#ids":{"resultOf":"0","name":"CalendarEvent/query","path":"/ids"},"properties":["title"]},"1"]]`)
	if s, _ := json.Marshal(r); !strings.Contains(string(s), `"title":"Written by bob"`) {
		t.Errorf("alice's CalendarEvent/get through the frontend: %s", s)
	}
	// alice writes an event on node-a; bob's CalDAV on node-b sees it
	// (the collection's ctag and the event list read the shared store).
	r = api("alice", `[["CalendarEvent/set",{"accountId":"`+aliceOwn+`","create":{"e1":{"calendarIds":{"`+calID+`":true},`+
		`"title":"Written by alice","start":"2026-01-13T09:00:00","duration":"PT1H","timeZone":"Etc/UTC"}}},"0"]]`)
	if s, _ := json.Marshal(r); !strings.Contains(string(s), `"created":{"e1"`) {
		t.Fatalf("alice's CalendarEvent/set through the frontend: %s", s)
	}
	calList := `
import caldav, sys, json
c = caldav.DAVClient(url=sys.argv[1], username=sys.argv[2], password="secret-pw")
shared = [x for x in c.principal().calendars() if "/~" in str(x.url) and x.name == "Calendar"]
print(json.dumps(sorted(e.vobject_instance.vevent.summary.value for e in shared[0].events())))
`
	out, err = exec.Command("/usr/bin/python3", "-c", calList, "http://"+front.http+"/dav/", "bob").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != `["Written by alice", "Written by bob"]` {
		t.Errorf("bob's caldav of alice's calendar after her event: %v %s", err, out)
	}
}
