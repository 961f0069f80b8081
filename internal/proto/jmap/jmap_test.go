package jmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// RFC 8620 §3.3.1 example request.
const rfcRequest = `{
  "using": [ "urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail" ],
  "methodCalls": [
    [ "method1", { "arg1": "arg1data", "arg2": "arg2data" }, "c1" ],
    [ "method2", { "arg1": "arg1data" }, "c2" ],
    [ "method3", {}, "c3" ]
  ]
}`

func TestParseRequest(t *testing.T) {
	lim := Limits{MaxSize: 10000, MaxCalls: 16}
	req, err := ParseRequest([]byte(rfcRequest), lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Using) != 2 || len(req.MethodCalls) != 3 || req.MethodCalls[1].Name != "method2" || req.MethodCalls[2].CallID != "c3" {
		t.Fatalf("parsed %+v", req)
	}
	for _, tc := range []struct {
		name, body string
		typ, limit string
		lim        Limits
	}{
		{"not json", `{"using":`, ProblemNotJSON, "", lim},
		{"invalid utf8", "{\"using\":[\"\xff\"],\"methodCalls\":[]}", ProblemNotJSON, "", lim},
		{"array", `[]`, ProblemNotRequest, "", lim},
		{"no using", `{"methodCalls":[]}`, ProblemNotRequest, "", lim},
		{"null calls", `{"using":[],"methodCalls":null}`, ProblemNotRequest, "", lim},
		{"wrong type", `{"using":"x","methodCalls":[]}`, ProblemNotRequest, "", lim},
		{"two elements", `{"using":[],"methodCalls":[["a",{}]]}`, ProblemNotRequest, "", lim},
		{"args array", `{"using":[],"methodCalls":[["a",[],"c"]]}`, ProblemNotRequest, "", lim},
		{"bad created id", `{"using":[],"methodCalls":[],"createdIds":{"a b":"x"}}`, ProblemNotRequest, "", lim},
		{"too large", rfcRequest, ProblemLimit, "maxSizeRequest", Limits{MaxSize: 20}},
		{"too many calls", rfcRequest, ProblemLimit, "maxCallsInRequest", Limits{MaxCalls: 2}},
		{"deep", `{"using":[],"methodCalls":[["a",{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `},"c"]]}`, ProblemNotJSON, "", Limits{}},
	} {
		_, err := ParseRequest([]byte(tc.body), tc.lim)
		var p *Problem
		if !errors.As(err, &p) || p.Type != tc.typ || p.Limit != tc.limit || p.Status != 400 {
			t.Errorf("%s: got %v, want %s %s", tc.name, err, tc.typ, tc.limit)
		}
	}
	// Brackets in strings do not count as nesting.
	if _, err := ParseRequest([]byte(`{"using":["[[[[[[[[\"{{{{{"],"methodCalls":[]}`), Limits{MaxDepth: 3}); err != nil {
		t.Fatal(err)
	}
}

func TestInvocationRoundTrip(t *testing.T) {
	in := Invocation{Name: "Core/echo", Args: json.RawMessage(`{"a":1}`), CallID: "c"}
	b, err := json.Marshal(in)
	if err != nil || string(b) != `["Core/echo",{"a":1},"c"]` {
		t.Fatalf("%s %v", b, err)
	}
}

// RFC 8620 §3.7 examples.
func TestResolveArgs(t *testing.T) {
	done := []Invocation{
		{Name: "Email/query", CallID: "t0", Args: json.RawMessage(`{"accountId":"A1","ids":["m1","m2"]}`)},
		{Name: "Email/get", CallID: "t1", Args: json.RawMessage(`{"list":[{"id":"m1","threadId":"T1"},{"id":"m2","threadId":"T2"}]}`)},
		{Name: "Thread/get", CallID: "t2", Args: json.RawMessage(`{"list":[{"id":"T1","emailIds":["a","b"]},{"id":"T2","emailIds":["c"]}]}`)},
	}
	for _, tc := range []struct {
		args, want, errType string
	}{
		{`{"#ids":{"resultOf":"t0","name":"Email/query","path":"/ids"}}`, `{"ids":["m1","m2"]}`, ""},
		{`{"#ids":{"resultOf":"t1","name":"Email/get","path":"/list/*/threadId"}}`, `{"ids":["T1","T2"]}`, ""},
		{`{"#ids":{"resultOf":"t2","name":"Thread/get","path":"/list/*/emailIds"}}`, `{"ids":["a","b","c"]}`, ""},
		{`{"#ids":{"resultOf":"t0","name":"Email/query","path":"/ids/1"}}`, `{"ids":"m2"}`, ""},
		{`{"#ids":{"resultOf":"t0","name":"Email/query","path":"/ids/2"}}`, "", ErrInvalidResultReference},
		{`{"#ids":{"resultOf":"t0","name":"Email/get","path":"/ids"}}`, "", ErrInvalidResultReference},
		{`{"#ids":{"resultOf":"nope","name":"Email/query","path":"/ids"}}`, "", ErrInvalidResultReference},
		{`{"#ids":{"resultOf":"t0","name":"Email/query","path":"ids"}}`, "", ErrInvalidResultReference},
		{`{"#ids":"x"}`, "", ErrInvalidResultReference},
		{`{"ids":[],"#ids":{"resultOf":"t0","name":"Email/query","path":"/ids"}}`, "", ErrInvalidArguments},
		// Every extra reference would be another walk of an earlier
		// response: a call may hold only MaxReferences of them.
		{manyRefs(MaxReferences), "", ""},
		{manyRefs(MaxReferences + 1), "", ErrInvalidArguments},
	} {
		got, err := ResolveArgs(json.RawMessage(tc.args), done)
		if tc.errType != "" {
			if err == nil || err.Type != tc.errType {
				t.Errorf("%s: got %s %v, want %s", tc.args, got, err, tc.errType)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.args, err)
			continue
		}
		if tc.want == "" {
			continue
		}
		var a, b any
		json.Unmarshal(got, &a)
		json.Unmarshal([]byte(tc.want), &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: got %s, want %s", tc.args, got, tc.want)
		}
	}
}

// manyRefs is an arguments object with n result references.
func manyRefs(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"#a%d":{"resultOf":"t0","name":"Email/query","path":"/ids"}`, i))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestPointerEscapes(t *testing.T) {
	var doc any
	json.Unmarshal([]byte(`{"a/b":{"m~n":[0,1]}}`), &doc)
	if v, ok := Pointer(doc, "/a~1b/m~0n/1"); !ok || v.(float64) != 1 {
		t.Fatal(v, ok)
	}
	if _, ok := Pointer(doc, "/a~1b/m~0n/01"); ok {
		t.Fatal("leading zero accepted")
	}
}

func TestIDs(t *testing.T) {
	if !ValidID("M12") || ValidID("") || ValidID("a b") || ValidID(strings.Repeat("a", 256)) {
		t.Fatal("ValidID")
	}
	if n, ok := ParseID('M', FormatID('M', 42)); !ok || n != 42 {
		t.Fatal("round trip")
	}
	for _, s := range []string{"E42", "M", "M0", "M-1", "M+1", "M01", "M99999999999999999999"} {
		if _, ok := ParseID('M', s); ok {
			t.Errorf("ParseID(%q) ok", s)
		}
	}
	if n, ok := ParseState(FormatState(7)); !ok || n != 7 {
		t.Fatal("state")
	}
	if _, ok := ParseState("07"); ok {
		t.Fatal("state 07")
	}
}

// FuzzParseRequest: the parser never panics, stays within its limits, and
// what it accepts survives format → parse unchanged.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(rfcRequest))
	f.Add([]byte(`{"using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{"#x":{"resultOf":"a","name":"b","path":"/*/c"}},"a"]],"createdIds":{"k":"v"}}`))
	f.Add([]byte(`{"using":[],"methodCalls":[["a",{"x":[[[[[]]]]]},"c"]]}`))
	lim := Limits{MaxSize: 1 << 16, MaxCalls: 8, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseRequest(b, lim)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error is not a Problem: %v", err)
			}
			return
		}
		if len(req.MethodCalls) > lim.MaxCalls {
			t.Fatal("too many calls accepted")
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		req2, err := ParseRequest(out, Limits{})
		if err != nil {
			t.Fatalf("reparse %s: %v", out, err)
		}
		out2, _ := json.Marshal(req2)
		if string(out) != string(out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
		for _, c := range req.MethodCalls {
			ResolveArgs(c.Args, req.MethodCalls)
		}
	})
}

func TestParseWSMessage(t *testing.T) {
	lim := Limits{MaxSize: 1000, MaxCalls: 2}
	for _, tc := range []struct {
		in, typ, problem string
	}{
		{`{"@type":"Request","id":"r1","using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{},"c"]]}`, WSRequest, ""},
		{`{"@type":"WebSocketPushEnable","dataTypes":["Email"],"pushState":"5"}`, WSPushEnable, ""},
		{`{"@type":"WebSocketPushEnable","dataTypes":null}`, WSPushEnable, ""},
		{`{"@type":"WebSocketPushDisable"}`, WSPushDisable, ""},
		{`{"@type":"Request","using":[]}`, "", ProblemNotRequest},
		{`{"@type":"Nope"}`, "", ProblemNotRequest},
		{`{"using":[],"methodCalls":[]}`, "", ProblemNotRequest},
		{`{"@type":5}`, "", ProblemNotRequest},
		{`{"@type":"WebSocketPushEnable","dataTypes":"Email"}`, "", ProblemNotRequest},
		{`[`, "", ProblemNotJSON},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), "", ProblemNotJSON},
		{`{"@type":"Request","using":[],"methodCalls":[["a",{},"1"],["a",{},"2"],["a",{},"3"]]}`, "", ProblemLimit},
		{`{"@type":"Request","x":"` + strings.Repeat("a", 1000) + `"}`, "", ProblemLimit},
	} {
		m, err := ParseWSMessage([]byte(tc.in), lim)
		if tc.problem != "" {
			var p *Problem
			if !errors.As(err, &p) || p.Type != tc.problem {
				t.Errorf("%.60s: %v, want %s", tc.in, err, tc.problem)
			}
			continue
		}
		if err != nil || m.Type != tc.typ {
			t.Errorf("%.60s: %v %+v", tc.in, err, m)
		}
	}
	m, _ := ParseWSMessage([]byte(`{"@type":"Request","id":"r1","using":["u"],"methodCalls":[]}`), lim)
	if m.ID != "r1" || m.Request == nil || m.Request.Using[0] != "u" {
		t.Fatalf("%+v", m)
	}
}

func FuzzParseWSMessage(f *testing.F) {
	f.Add([]byte(`{"@type":"Request","id":"r1","using":["urn:ietf:params:jmap:core"],"methodCalls":[["Core/echo",{},"c"]]}`))
	f.Add([]byte(`{"@type":"WebSocketPushEnable","dataTypes":["Email"],"pushState":"5"}`))
	f.Add([]byte(`{"@type":"WebSocketPushDisable"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseWSMessage(b, Limits{MaxSize: 4096, MaxCalls: 8})
		if err == nil && (m.Type == WSRequest) != (m.Request != nil) {
			t.Fatalf("request parsed inconsistently: %+v", m)
		}
		if err == nil && len(m.DataTypes) > maxWSDataTypes {
			t.Fatal("too many data types")
		}
	})
}
