package jmapserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/store"
)

// callWith posts one method call with the given capabilities in using
// and returns the response's name and arguments.
func (e *env) callWith(login string, caps []string, name string, args any) (string, map[string]any) {
	e.t.Helper()
	use := append([]string{"urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"}, caps...)
	body := mustJSON(map[string]any{"using": use, "methodCalls": []any{[]any{name, args, "c0"}}})
	r := e.do(login, "POST", "/jmap/api/", strings.NewReader(body), "Content-Type", "application/json")
	if r.code != 200 {
		e.t.Fatalf("API %d: %s", r.code, r.body)
	}
	inv := r.json(e.t)["methodResponses"].([]any)[0].([]any)
	return inv[0].(string), inv[1].(map[string]any)
}

// mustWith is callWith that fails on an error response.
func (e *env) mustWith(login string, caps []string, name string, args any) map[string]any {
	e.t.Helper()
	n, a := e.callWith(login, caps, name, args)
	if n != name {
		e.t.Fatalf("%s: %s %v", name, n, a)
	}
	return a
}

// errType returns the type of an error response, "" for a success.
func errType(n string, a map[string]any) string {
	if n != "error" {
		return ""
	}
	return fmt.Sprint(a["type"])
}

func setErr(res map[string]any, field, id string) string {
	m, _ := res[field].(map[string]any)
	e, _ := m[id].(map[string]any)
	if e == nil {
		return ""
	}
	return fmt.Sprint(e["type"])
}

var vacationCap = []string{"urn:ietf:params:jmap:vacationresponse"}

// RFC 8621 §8: VacationResponse is the user's out-of-office, the very
// setting `roost admin user oof` shows (mail.GetOOF) and delivery
// answers from.
func TestVacationResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	got := e.mustWith("alice", vacationCap, "VacationResponse/get", map[string]any{"accountId": acct, "ids": nil})
	list := got["list"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != "singleton" || list[0].(map[string]any)["isEnabled"] != false {
		t.Fatalf("initial %v", got)
	}
	state := got["state"].(string)
	res := e.mustWith("alice", vacationCap, "VacationResponse/set", map[string]any{"accountId": acct, "ifInState": state,
		"update": map[string]any{"singleton": map[string]any{"isEnabled": true, "subject": "Away",
			"textBody": "Back on Monday.", "fromDate": "2026-07-01T00:00:00Z", "toDate": "2026-07-14T00:00:00Z"}}})
	if _, ok := res["updated"].(map[string]any)["singleton"]; !ok || res["newState"] == state {
		t.Fatalf("set %v", res)
	}
	o, err := mail.GetOOF(e.as("alice"), e.db, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !o.Enabled || o.Subject != "Away" || o.Message != "Back on Monday." ||
		!o.From.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) || !o.Until.Equal(time.Date(2026, 7, 14, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("out-of-office after JMAP set: %+v", o)
	}
	// The reverse: what the admin sets, JMAP shows.
	o.Enabled, o.Until = false, time.Time{}
	if err := mail.SetOOF(e.as("alice"), e.db, "alice", o); err != nil {
		t.Fatal(err)
	}
	v := e.mustWith("alice", vacationCap, "VacationResponse/get", map[string]any{"accountId": acct, "ids": []string{"singleton", "other"}})
	obj := v["list"].([]any)[0].(map[string]any)
	if obj["isEnabled"] != false || obj["toDate"] != nil || obj["fromDate"] != "2026-07-01T00:00:00Z" || obj["htmlBody"] != nil ||
		fmt.Sprint(v["notFound"]) != "[other]" {
		t.Fatalf("after oof change %v", v)
	}

	for _, tc := range []struct {
		name  string
		args  map[string]any
		err   string // method error
		field string // or SetError field
		id    string
		typ   string
	}{
		{"create singleton", map[string]any{"create": map[string]any{"x": map[string]any{}}}, "", "notCreated", "x", "singleton"},
		{"destroy singleton", map[string]any{"destroy": []string{"singleton"}}, "", "notDestroyed", "singleton", "singleton"},
		{"other id", map[string]any{"update": map[string]any{"nope": map[string]any{"isEnabled": true}}}, "", "notUpdated", "nope", "notFound"},
		{"bad date", map[string]any{"update": map[string]any{"singleton": map[string]any{"fromDate": "July"}}}, "", "notUpdated", "singleton", "invalidProperties"},
		{"to before from", map[string]any{"update": map[string]any{"singleton": map[string]any{"toDate": "2020-01-01T00:00:00Z"}}}, "", "notUpdated", "singleton", "invalidProperties"},
		{"enabled without text", map[string]any{"update": map[string]any{"singleton": map[string]any{"isEnabled": true, "textBody": nil}}}, "", "notUpdated", "singleton", "invalidProperties"},
		{"html only", map[string]any{"update": map[string]any{"singleton": map[string]any{"htmlBody": "<p>x</p>"}}}, "", "notUpdated", "singleton", "invalidProperties"},
		{"unknown property", map[string]any{"update": map[string]any{"singleton": map[string]any{"colour": "red"}}}, "", "notUpdated", "singleton", "invalidProperties"},
		{"stale ifInState", map[string]any{"ifInState": state, "update": map[string]any{"singleton": map[string]any{"isEnabled": false}}}, "stateMismatch", "", "", ""},
		{"another account", map[string]any{"accountId": e.acct("bob")}, "accountNotFound", "", "", ""},
	} {
		args := map[string]any{"accountId": acct}
		for k, v := range tc.args {
			args[k] = v
		}
		n, a := e.callWith("alice", vacationCap, "VacationResponse/set", args)
		if tc.err != "" {
			if errType(n, a) != tc.err {
				t.Errorf("%s: %s %v, want %s", tc.name, n, a, tc.err)
			}
			continue
		}
		if n == "error" || setErr(a, tc.field, tc.id) != tc.typ {
			t.Errorf("%s: %s %v, want %s %s", tc.name, n, a, tc.field, tc.typ)
		}
	}
	// The failed updates changed nothing.
	if o2, _ := mail.GetOOF(e.as("alice"), e.db, "alice"); o2 != o {
		t.Fatalf("refused updates changed the setting: %+v", o2)
	}
	// Without the capability in using, the method is unknown.
	if n, a := e.call1("alice", "VacationResponse/get", map[string]any{"accountId": acct}); errType(n, a) != "unknownMethod" {
		t.Fatalf("without capability: %s %v", n, a)
	}
}

var quotaCap = []string{"urn:ietf:params:jmap:quota"}

// RFC 9425: the store's quota levels and usage.
func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	if sess["capabilities"].(map[string]any)["urn:ietf:params:jmap:quota"] == nil {
		t.Fatal("no quota capability")
	}
	// No levels: no quota object.
	got := e.mustWith("alice", quotaCap, "Quota/get", map[string]any{"accountId": acct, "ids": nil})
	if len(got["list"].([]any)) != 0 {
		t.Fatalf("quota without levels: %v", got)
	}
	st0 := got["state"].(string)
	on, warn, soft, hard := true, int64(1000), int64(2000), int64(3000)
	if _, err := e.db.UpdateUser(sys, "alice", store.UserUpdate{QuotaOverride: &on, QuotaWarn: &warn, QuotaSoft: &soft, QuotaHard: &hard}); err != nil {
		t.Fatal(err)
	}
	ch := e.mustWith("alice", quotaCap, "Quota/changes", map[string]any{"accountId": acct, "sinceState": st0})
	if fmt.Sprint(ch["created"]) != "[Qoctets]" {
		t.Fatalf("changes after setting levels %v", ch)
	}
	st1 := ch["newState"].(string)
	e.deliver("alice", store.SpecialInbox, plainMsg)
	got = e.mustWith("alice", quotaCap, "Quota/get", map[string]any{"accountId": acct, "ids": []string{"Qoctets", "Qnope"}})
	q := got["list"].([]any)[0].(map[string]any)
	sq, err := e.db.StoreQuota(e.as("alice"), e.storeOf("alice").ID)
	if err != nil {
		t.Fatal(err)
	}
	if q["resourceType"] != "octets" || q["hardLimit"] != 3000.0 || q["softLimit"] != 2000.0 || q["warnLimit"] != 1000.0 ||
		q["used"] != float64(sq.Size) || sq.Size == 0 || q["scope"] != "account" || fmt.Sprint(got["notFound"]) != "[Qnope]" {
		t.Fatalf("quota %v (store %+v)", got, sq)
	}
	ch = e.mustWith("alice", quotaCap, "Quota/changes", map[string]any{"accountId": acct, "sinceState": st1})
	if fmt.Sprint(ch["updated"]) != "[Qoctets]" || fmt.Sprint(ch["updatedProperties"]) != "[used]" {
		t.Fatalf("changes after delivery %v", ch)
	}
	qr := e.mustWith("alice", quotaCap, "Quota/query", map[string]any{"accountId": acct, "filter": map[string]any{"resourceType": "octets", "type": "Email"}})
	if fmt.Sprint(qr["ids"]) != "[Qoctets]" {
		t.Fatalf("query %v", qr)
	}
	qc := e.mustWith("alice", quotaCap, "Quota/queryChanges", map[string]any{"accountId": acct, "sinceQueryState": qr["queryState"]})
	if len(qc["added"].([]any))+len(qc["removed"].([]any)) != 0 {
		t.Fatalf("queryChanges %v", qc)
	}
	for _, tc := range []struct {
		name, method string
		args         map[string]any
		err          string
	}{
		{"unknown state", "Quota/changes", map[string]any{"sinceState": "zz"}, "cannotCalculateChanges"},
		{"old query state", "Quota/queryChanges", map[string]any{"sinceQueryState": st0}, "cannotCalculateChanges"},
		{"bad sort", "Quota/query", map[string]any{"sort": []any{map[string]any{"property": "colour"}}}, "unsupportedSort"},
		{"bad filter", "Quota/query", map[string]any{"filter": map[string]any{"colour": "red"}}, "unsupportedFilter"},
		{"bad property", "Quota/get", map[string]any{"properties": []string{"colour"}}, "invalidArguments"},
		{"another tenant", "Quota/get", map[string]any{"accountId": e.acct("eve")}, "accountNotFound"},
	} {
		args := map[string]any{"accountId": acct}
		for k, v := range tc.args {
			args[k] = v
		}
		if n, a := e.callWith("alice", quotaCap, tc.method, args); errType(n, a) != tc.err {
			t.Errorf("%s: %s %v, want %s", tc.name, n, a, tc.err)
		}
	}
}

var sieveCap = []string{"urn:ietf:params:jmap:sieve"}

func withScripts(o *jmapserver.Options) {
	o.Scripts = &mail.Scripts{Store: o.Store, Limits: mail.SieveOptions{MaxScripts: 3, MaxScriptBytes: 200}}
}

func (e *env) uploadText(login, text string) string {
	e.t.Helper()
	r := e.do(login, "POST", "/jmap/upload/"+e.acct(login)+"/", strings.NewReader(text), "Content-Type", "application/sieve")
	if r.code != 201 {
		e.t.Fatalf("upload %d %s", r.code, r.body)
	}
	return r.json(e.t)["blobId"].(string)
}

// RFC 9661 on the scripts ManageSieve manages (mail.Scripts).
func TestSieveScripts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withScripts)
	acct := e.acct("alice")
	scripts := &mail.Scripts{Store: e.db}
	sess := e.do("alice", "GET", "/jmap/session", nil).json(t)
	sc := sess["accounts"].(map[string]any)[acct].(map[string]any)["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:sieve"].(map[string]any)
	if sc["maxNumberScripts"] != 3.0 || sc["maxSizeScript"] != 200.0 || !strings.Contains(fmt.Sprint(sc["sieveExtensions"]), "fileinto") {
		t.Fatalf("sieve capability %v", sc)
	}
	good := e.uploadText("alice", `require "fileinto"; if header :contains "subject" "x" { fileinto "Junk"; }`)
	bad := e.uploadText("alice", `require "nonsense"; frobnicate;`)
	res := e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct,
		"create":                  map[string]any{"a": map[string]any{"name": "filters", "blobId": good}, "b": map[string]any{"name": "broken", "blobId": bad}},
		"onSuccessActivateScript": "#a"})
	if setErr(res, "notCreated", "b") != "invalidSieve" {
		t.Fatalf("invalid script %v", res)
	}
	// One creation failed: nothing is activated.
	if act, _ := scripts.Active(e.as("alice"), "alice"); act != "" {
		t.Fatalf("activated despite a failure: %q", act)
	}
	id := res["created"].(map[string]any)["a"].(map[string]any)["id"].(string)
	res = e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct, "onSuccessActivateScript": id})
	if fmt.Sprint(res["updated"]) != fmt.Sprintf("map[%s:map[isActive:true]]", id) {
		t.Fatalf("activate %v", res)
	}
	// ManageSieve sees the script, active.
	if text, err := scripts.Get(e.as("alice"), "alice", "filters"); err != nil || !strings.Contains(text, "fileinto") {
		t.Fatalf("ManageSieve view %q %v", text, err)
	}
	if act, _ := scripts.Active(e.as("alice"), "alice"); act != "filters" {
		t.Fatalf("active %q", act)
	}
	// A script put over ManageSieve shows in JMAP, and its blob downloads.
	if err := scripts.Put(e.as("alice"), "alice", "vacation", []byte(`require "vacation"; vacation "away";`)); err != nil {
		t.Fatal(err)
	}
	got := e.mustWith("alice", sieveCap, "SieveScript/get", map[string]any{"accountId": acct, "ids": nil})
	if len(got["list"].([]any)) != 2 {
		t.Fatalf("get %v", got)
	}
	var vac map[string]any
	for _, x := range got["list"].([]any) {
		if m := x.(map[string]any); m["name"] == "vacation" {
			vac = m
		}
	}
	if vac == nil || vac["isActive"] != false {
		t.Fatalf("vacation script %v", got)
	}
	if r := e.do("alice", "GET", "/jmap/download/"+acct+"/"+vac["blobId"].(string)+"/v.sieve", nil); r.code != 200 || string(r.body) != `require "vacation"; vacation "away";` {
		t.Fatalf("download %d %s", r.code, r.body)
	}
	if r := e.do("bob", "GET", "/jmap/download/"+e.acct("bob")+"/"+vac["blobId"].(string)+"/v.sieve", nil); r.code != 404 {
		t.Fatalf("bob downloads alice's script: %d", r.code)
	}
	q := e.mustWith("alice", sieveCap, "SieveScript/query", map[string]any{"accountId": acct, "filter": map[string]any{"isActive": true}})
	if fmt.Sprint(q["ids"]) != "["+id+"]" {
		t.Fatalf("query %v", q)
	}
	// validate
	v := e.mustWith("alice", sieveCap, "SieveScript/validate", map[string]any{"accountId": acct, "blobId": bad})
	if ve, _ := v["error"].(map[string]any); ve["type"] != "invalidSieve" {
		t.Fatalf("validate bad %v", v)
	}
	v = e.mustWith("alice", sieveCap, "SieveScript/validate", map[string]any{"accountId": acct, "blobId": good})
	if v["error"] != nil {
		t.Fatalf("validate good %v", v)
	}
	state := got["state"].(string)
	if c := e.mustWith("alice", sieveCap, "SieveScript/changes", map[string]any{"accountId": acct, "sinceState": state}); len(c["updated"].([]any)) != 0 {
		t.Fatalf("changes %v", c)
	}
	big := e.uploadText("alice", "# "+strings.Repeat("x", 300))
	for _, tc := range []struct {
		name  string
		args  map[string]any
		err   string
		field string
		key   string
		typ   string
	}{
		{"destroy active", map[string]any{"destroy": []string{id}}, "", "notDestroyed", id, "sieveIsActive"},
		{"name taken", map[string]any{"create": map[string]any{"c": map[string]any{"name": "filters", "blobId": good}}}, "", "notCreated", "c", "alreadyExists"},
		{"too large", map[string]any{"create": map[string]any{"c": map[string]any{"name": "big", "blobId": big}}}, "", "notCreated", "c", "tooLarge"},
		{"no blob", map[string]any{"create": map[string]any{"c": map[string]any{"name": "nb", "blobId": "Gnope"}}}, "", "notCreated", "c", "blobNotFound"},
		{"bad name", map[string]any{"create": map[string]any{"c": map[string]any{"name": "a\nb", "blobId": good}}}, "", "notCreated", "c", "invalidProperties"},
		{"rename", map[string]any{"update": map[string]any{id: map[string]any{"name": "other"}}}, "", "notUpdated", id, "invalidProperties"},
		{"isActive", map[string]any{"update": map[string]any{id: map[string]any{"isActive": false}}}, "", "notUpdated", id, "invalidProperties"},
		{"unknown id", map[string]any{"update": map[string]any{"Sbm9wZQ": map[string]any{"blobId": good}}}, "", "notUpdated", "Sbm9wZQ", "notFound"},
		{"stale state", map[string]any{"ifInState": "s0"}, "stateMismatch", "", "", ""},
		{"another account", map[string]any{"accountId": e.acct("eve")}, "accountNotFound", "", "", ""},
	} {
		args := map[string]any{"accountId": acct}
		for k, v := range tc.args {
			args[k] = v
		}
		n, a := e.callWith("alice", sieveCap, "SieveScript/set", args)
		if tc.err != "" {
			if errType(n, a) != tc.err {
				t.Errorf("%s: %s %v, want %s", tc.name, n, a, tc.err)
			}
			continue
		}
		if n == "error" || setErr(a, tc.field, tc.key) != tc.typ {
			t.Errorf("%s: %s %v, want %s %s", tc.name, n, a, tc.field, tc.typ)
		}
	}
	// The third script fills the limit; a fourth is overQuota.
	e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct, "create": map[string]any{"c": map[string]any{"blobId": good}}})
	res = e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct, "create": map[string]any{"d": map[string]any{"name": "four", "blobId": good}}})
	if setErr(res, "notCreated", "d") != "overQuota" {
		t.Fatalf("fourth script %v", res)
	}
	// Replace content, deactivate, destroy.
	res = e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct, "onSuccessDeactivateScript": true,
		"update": map[string]any{id: map[string]any{"blobId": vac["blobId"]}}})
	if fmt.Sprint(res["updated"]) != fmt.Sprintf("map[%s:map[isActive:false]]", id) {
		t.Fatalf("update+deactivate %v", res)
	}
	if text, _ := scripts.Get(e.as("alice"), "alice", "filters"); !strings.Contains(text, "vacation") {
		t.Fatalf("content not replaced: %q", text)
	}
	res = e.mustWith("alice", sieveCap, "SieveScript/set", map[string]any{"accountId": acct, "destroy": []string{id}})
	if fmt.Sprint(res["destroyed"]) != "["+id+"]" {
		t.Fatalf("destroy %v", res)
	}
	if _, err := scripts.Get(e.as("alice"), "alice", "filters"); err == nil {
		t.Fatal("destroyed script still there")
	}
	var _ = json.Marshal
}

// TestSieveScriptCreateFromUpload: SieveScript/set's create, like its
// update and SieveScript/validate, takes a "#creation" reference to a
// blob made earlier in the same request by Blob/upload (RFC 8620 §5.3),
// as the web client's filter settings send it.
func TestSieveScriptCreateFromUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withScripts)
	acct := e.acct("alice")
	body := `{"using":["urn:ietf:params:jmap:core","urn:ietf:params:jmap:sieve","urn:ietf:params:jmap:blob"],"methodCalls":[` +
		`["Blob/upload",{"accountId":"` + acct + `","create":{"b":{"data":[{"data:asText":"require \"fileinto\"; fileinto \"Junk\";"}],"type":"application/sieve"}}},"u"],` +
		`["SieveScript/set",{"accountId":"` + acct + `","create":{"n":{"name":"web","blobId":"#b"}},"onSuccessActivateScript":"#n"},"s"]]}`
	r := e.do("alice", "POST", "/jmap/api/", strings.NewReader(body), "Content-Type", "application/json")
	if r.code != 200 {
		t.Fatalf("API %d: %s", r.code, r.body)
	}
	out := r.json(t)["methodResponses"].([]any)
	set := out[1].([]any)[1].(map[string]any)
	if c, _ := set["created"].(map[string]any); c["n"] == nil {
		t.Fatalf("create from #b: %v", set)
	}
	scripts := &mail.Scripts{Store: e.db}
	if text, err := scripts.Get(e.as("alice"), "alice", "web"); err != nil || !strings.Contains(text, `fileinto "Junk"`) {
		t.Fatalf("the script created from the upload: %q %v", text, err)
	}
	if act, _ := scripts.Active(e.as("alice"), "alice"); act != "web" {
		t.Fatalf("active %q, want web", act)
	}
}
