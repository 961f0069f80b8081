package jmapserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roost-mail/roost/internal/jmapserver"
	"github.com/roost-mail/roost/internal/store"
)

// FuzzAPI feeds request bodies to the live API endpoint of a real store:
// every answer is JSON (a response or a problem), never a 500 or a
// panic, and the server keeps serving.
func FuzzAPI(f *testing.F) {
	e := newEnv(f)
	it := e.deliver("alice", store.SpecialInbox, mixedMsg)
	_ = it
	acct := e.acct("alice")
	// Bob shares his inbox with alice: her requests reach a shared account.
	if err := e.db.SetACL(e.as("bob"), e.folder("bob", store.SpecialInbox).ID, "user:alice", "lrsi"); err != nil {
		f.Fatal(err)
	}
	bobAcct := e.acct("bob")
	h := jmapserver.New(jmapserver.Options{Store: e.db, Logger: testLogger(), Authenticate: authenticator(e.db)})
	for _, s := range []string{
		`{"using":` + shareUsing + `,"methodCalls":[["Principal/query",{"accountId":"` + acct + `","filter":{"operator":"AND","conditions":[{"text":"a"},{"operator":"NOT","conditions":[{"type":"group"}]}]},"sort":[{"property":"name"}]},"q"],["Principal/get",{"accountId":"` + acct + `","#ids":{"resultOf":"q","name":"Principal/query","path":"/ids"}},"g"]]}`,
		`{"using":` + shareUsing + `,"methodCalls":[["Mailbox/set",{"accountId":"` + acct + `","update":{"M1":{"shareWith/U2":{"mayReadItems":true},"shareWith/U2/mayShare":true}}},"s"],["Calendar/set",{"accountId":"` + acct + `","update":{"C3":{"shareWith":{"U2":{"mayReadItems":true}}}}},"c"]]}`,
		`{"using":` + shareUsing + `,"methodCalls":[["Mailbox/get",{"accountId":"` + bobAcct + `"},"m"],["Email/query",{"accountId":"` + bobAcct + `","collapseThreads":true},"q"],["Thread/changes",{"accountId":"` + bobAcct + `","sinceState":"1"},"t"]]}`,
		`{"using":` + shareUsing + `,"methodCalls":[["ShareNotification/query",{"accountId":"` + acct + `","filter":{"after":"2020-01-01T00:00:00Z"},"sort":[{"property":"created","isAscending":false}]},"q"],["ShareNotification/changes",{"accountId":"` + acct + `","sinceState":"1","maxChanges":1},"c"],["ShareNotification/set",{"accountId":"` + acct + `","destroy":["N1"]},"s"]]}`,
		`{"using":` + using + `,"methodCalls":[["Core/echo",{"a":1},"c"]]}`,
		`{"using":` + using + `,"methodCalls":[["Mailbox/get",{"accountId":"` + acct + `"},"a"],["Mailbox/query",{"accountId":"` + acct + `","filter":{"role":"inbox"}},"b"]]}`,
		`{"using":` + using + `,"methodCalls":[["Email/query",{"accountId":"` + acct + `","filter":{"operator":"OR","conditions":[{"text":"x"},{"hasKeyword":"$seen"}]},"sort":[{"property":"subject"}]},"q"],["Email/get",{"accountId":"` + acct + `","#ids":{"resultOf":"q","name":"Email/query","path":"/ids"},"properties":["bodyStructure","header:To:asAddresses:all"],"fetchAllBodyValues":true},"g"]]}`,
		`{"using":` + using + `,"methodCalls":[["Email/set",{"accountId":"` + acct + `","update":{"E1":{"keywords/$flagged":true}},"create":{"k":{"mailboxIds":{"M1":true},"subject":"s"}}},"s"],["Email/changes",{"accountId":"` + acct + `","sinceState":"0","maxChanges":2},"c"]]}`,
		`{"using":` + using + `,"methodCalls":[["Mailbox/set",{"accountId":"` + acct + `","create":{"a":{"name":"x","parentId":"#b"},"b":{"name":"y","parentId":"#a"}}},"m"]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/jmap/api/", strings.NewReader(string(body)))
		req.SetBasicAuth("alice", password("alice"))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("500 for %q: %s", body, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON (%d): %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), `"serverFail"`) {
			t.Fatalf("serverFail for %q: %s", body, rec.Body)
		}
	})
}
