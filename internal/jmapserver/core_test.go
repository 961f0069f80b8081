package jmapserver_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
)

func TestSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("", "GET", "/.well-known/jmap", nil)
	if r.code != http.StatusTemporaryRedirect || !strings.HasSuffix(r.hdr.Get("Location"), "/jmap/session") {
		t.Fatalf("well-known: %d %v", r.code, r.hdr)
	}
	if r := e.do("", "GET", "/jmap/session", nil); r.code != 401 || r.hdr.Get("WWW-Authenticate") == "" {
		t.Fatalf("no auth: %d", r.code)
	}
	if r := e.do("alice", "GET", "/jmap/session", nil, "Authorization", "Basic YWxpY2U6bm8="); r.code != 401 {
		t.Fatalf("wrong password: %d", r.code)
	}
	r = e.do("alice", "GET", "/jmap/session", nil)
	if r.code != 200 {
		t.Fatalf("session %d %s", r.code, r.body)
	}
	s := r.json(t)
	for _, k := range []string{"apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl"} {
		if v, _ := s[k].(string); !strings.HasPrefix(v, e.url+"/jmap/") {
			t.Errorf("%s = %q, not absolute", k, v)
		}
	}
	core := s["capabilities"].(map[string]any)["urn:ietf:params:jmap:core"].(map[string]any)
	for _, k := range []string{"maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
		"maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", "collationAlgorithms"} {
		if core[k] == nil {
			t.Errorf("core capability lacks %s", k)
		}
	}
	acct := e.acct("alice")
	if s["primaryAccounts"].(map[string]any)["urn:ietf:params:jmap:mail"] != acct || s["username"] != "alice" {
		t.Fatalf("accounts: %v", s)
	}
	if s["accounts"].(map[string]any)[acct].(map[string]any)["accountCapabilities"].(map[string]any)["urn:ietf:params:jmap:mail"] == nil {
		t.Fatal("no mail account capability")
	}
}

// RFC 8620 §4.1: Core/echo returns its arguments.
func TestEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	args := map[string]any{"hello": true, "high": 5.0}
	if got := e.must("alice", "Core/echo", args); fmt.Sprint(got) != fmt.Sprint(args) {
		t.Fatalf("echo %v", got)
	}
}

// Request-level errors (RFC 8620 §3.6.1), each answered with a problem
// document; the server keeps serving.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxSizeRequest = 4096; o.MaxCallsInRequest = 3 })
	post := func(body string) resp {
		return e.do("alice", "POST", "/jmap/api/", strings.NewReader(body), "Content-Type", "application/json")
	}
	calls := func(n int) string {
		var b []string
		for i := 0; i < n; i++ {
			b = append(b, fmt.Sprintf(`["Core/echo",{},"c%d"]`, i))
		}
		return "[" + strings.Join(b, ",") + "]"
	}
	for _, tc := range []struct {
		name, body, typ, limit string
	}{
		{"invalid JSON", `{"using":[`, "urn:ietf:params:jmap:error:notJSON", ""},
		{"not a request", `{"using":[]}`, "urn:ietf:params:jmap:error:notRequest", ""},
		{"unknown capability", `{"using":["urn:example:nope"],"methodCalls":[]}`, "urn:ietf:params:jmap:error:unknownCapability", ""},
		{"too many calls", `{"using":` + using + `,"methodCalls":` + calls(4) + `}`, "urn:ietf:params:jmap:error:limit", "maxCallsInRequest"},
		{"too large", `{"using":` + using + `,"methodCalls":[["Core/echo",{"x":"` + strings.Repeat("a", 5000) + `"},"c"]]}`, "urn:ietf:params:jmap:error:limit", "maxSizeRequest"},
		{"10000 deep", `{"using":` + using + `,"methodCalls":[["Core/echo",{"x":` + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + `},"c"]]}`, "urn:ietf:params:jmap:error:notJSON", ""},
	} {
		r := post(tc.body)
		if r.code != 400 && !(tc.limit == "maxSizeRequest" && r.code == 413) {
			t.Errorf("%s: status %d", tc.name, r.code)
			continue
		}
		p := r.json(t)
		if p["type"] != tc.typ || (tc.limit != "" && p["limit"] != tc.limit) || r.hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %v", tc.name, p)
		}
	}
	if out := e.call("alice", calls(3)); len(out) != 3 {
		t.Fatalf("server stopped serving: %v", out)
	}
	deep := `{"using":` + using + `,"methodCalls":[["Core/echo",{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `},"c"]]}`
	e2 := newEnv(t)
	r := e2.do("alice", "POST", "/jmap/api/", strings.NewReader(deep), "Content-Type", "application/json")
	if r.code != 400 || r.json(t)["type"] != "urn:ietf:params:jmap:error:notJSON" {
		t.Fatalf("10,000-deep JSON: %d %s", r.code, r.body)
	}
}

// Method-level errors (RFC 8620 §3.6.2) and result references (§3.7).
func TestMethodErrorsAndReferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.call("alice", `[
		["Nope/get",{},"a"],
		["Core/echo",{"list":[{"id":"x1"},{"id":"x2"}]},"b"],
		["Core/echo",{"#ids":{"resultOf":"b","name":"Core/echo","path":"/list/*/id"}},"c"],
		["Core/echo",{"#ids":{"resultOf":"b","name":"Core/echo","path":"/nope"}},"d"],
		["Core/echo",{"#ids":{"resultOf":"e","name":"Core/echo","path":"/x"}},"e"],
		["Mailbox/get",{"accountId":"A999999"},"f"],
		["Mailbox/get",{"accountId":"`+e.acct("alice")+`","bogus":1},"g"],
		["Mailbox/get",{"accountId":"`+e.acct("eve")+`"},"h"]
	]`)
	want := []struct{ name, typ string }{
		{"error", "unknownMethod"}, {"Core/echo", ""}, {"Core/echo", ""}, {"error", "invalidResultReference"},
		{"error", "invalidResultReference"}, {"error", "accountNotFound"}, {"error", "invalidArguments"}, {"error", "accountNotFound"},
	}
	for i, w := range want {
		inv := out[i].([]any)
		args := inv[1].(map[string]any)
		if inv[0] != w.name || (w.typ != "" && args["type"] != w.typ) {
			t.Errorf("call %d: %v, want %s %s", i, inv, w.name, w.typ)
		}
	}
	if got := fmt.Sprint(out[2].([]any)[1].(map[string]any)["ids"]); got != "[x1 x2]" {
		t.Fatalf("back-reference gave %s", got)
	}
	// A method of a capability not in using is unknownMethod.
	r := e.do("alice", "POST", "/jmap/api/", strings.NewReader(`{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Mailbox/get",{"accountId":"`+e.acct("alice")+`"},"a"]]}`), "Content-Type", "application/json")
	if !bytes.Contains(r.body, []byte("unknownMethod")) {
		t.Fatalf("capability not used: %s", r.body)
	}
}

// maxObjectsInGet is enforced with requestTooLarge.
func TestMaxObjectsInGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxObjectsInGet = 2 })
	n, a := e.call1("alice", "Mailbox/get", map[string]any{"accountId": e.acct("alice"), "ids": []string{"M1", "M2", "M3"}})
	if n != "error" || a["type"] != "requestTooLarge" {
		t.Fatalf("%s %v", n, a)
	}
}

// maxConcurrentRequests and maxConcurrentUpload are per user; a request
// over them is refused with the limit problem, others proceed. A request
// is held open by sending only part of its body on a raw connection.
func TestConcurrencyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxConcurrentRequests = 1; o.MaxConcurrentUpload = 1 })
	e.login("alice") // the held request takes the cached login
	path := "/jmap/upload/" + e.acct("alice") + "/"
	held, r := e.holdUntilRefused("alice", path, "first part", "0123456789", func() resp {
		return e.do("alice", "POST", path, strings.NewReader("x"))
	})
	if r.json(t)["limit"] != "maxConcurrentUpload" {
		t.Fatalf("second upload: %d %s", r.code, r.body)
	}
	// bob is not limited by alice's upload.
	if r := e.do("bob", "POST", "/jmap/upload/"+e.acct("bob")+"/", strings.NewReader("x")); r.code != 201 {
		t.Fatalf("bob: %d %s", r.code, r.body)
	}
	if code := held.finish("0123456789"); code != 201 {
		t.Fatalf("first upload: %d", code)
	}
	if r := e.do("alice", "POST", path, strings.NewReader("x")); r.code != 201 {
		t.Fatalf("slot not released: %d %s", r.code, r.body)
	}
}

func TestMaxConcurrentRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *jmapserver.Options) { o.MaxConcurrentRequests = 1 })
	e.login("alice")
	rest := `"methodCalls":[["Core/echo",{"a":1},"c"]]}`
	first := `{"using":["urn:ietf:params:jmap:core"],`
	held, r := e.holdUntilRefused("alice", "/jmap/api/", first, rest, func() resp {
		return e.do("alice", "POST", "/jmap/api/", strings.NewReader(`{"using":[],"methodCalls":[]}`), "Content-Type", "application/json")
	})
	if r.json(t)["limit"] != "maxConcurrentRequests" {
		t.Fatalf("second request: %d %s", r.code, r.body)
	}
	if code := held.finish(rest); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	if out := e.call("alice", `[["Core/echo",{},"c"]]`); len(out) != 1 {
		t.Fatal("slot not released")
	}
}
