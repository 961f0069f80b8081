package jmapserver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

func convMsg(id, subject string, refs ...string) string {
	h := fmt.Sprintf("From: joe@example.com\nTo: alice@acme.test\nSubject: %s\nMessage-ID: <%s>\n", subject, id)
	if len(refs) > 0 {
		h += "In-Reply-To: <" + refs[len(refs)-1] + ">\nReferences: <" + strings.Join(refs, "> <") + ">\n"
	}
	return h + "\nbody of " + id + "\n"
}

func (e *env) deliverAt(login, special, msg string, at time.Time, flags ...string) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(e.as(login), e.folder(login, special).ID, store.NewItem{
		Content: strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), Flags: flags, InternalDate: at})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// RFC 8621 §3: threads group a conversation; Thread/get, threadId,
// Thread/changes, collapseThreads and the thread keyword filters.
func TestThreads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	t0 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	state := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{}})["state"].(string)
	root := e.deliverAt("alice", store.SpecialInbox, convMsg("r@x", "Plans"), t0, `\Seen`)
	reply := e.deliverAt("alice", store.SpecialSent, convMsg("a@x", "Re: Plans", "r@x"), t0.Add(time.Hour), `\Seen`)
	other := e.deliverAt("alice", store.SpecialInbox, convMsg("o@x", "Other"), t0.Add(2*time.Hour))
	late := e.deliverAt("alice", store.SpecialInbox, convMsg("b@x", "Re: Plans", "r@x", "a@x"), t0.Add(3*time.Hour))
	E := func(it *store.Item) string { return fmt.Sprintf("E%d", it.ID) }
	T := fmt.Sprintf("T%d", root.ID)
	got := e.must("alice", "Email/get", map[string]any{"accountId": acct, "ids": []string{E(root), E(reply), E(late), E(other)}, "properties": []string{"threadId"}})
	var tids []string
	for _, o := range got["list"].([]any) {
		tids = append(tids, o.(map[string]any)["threadId"].(string))
	}
	if tids[0] != T || tids[1] != T || tids[2] != T || tids[3] == T {
		t.Fatalf("thread ids %v, want %s for the first three", tids, T)
	}
	th := e.must("alice", "Thread/get", map[string]any{"accountId": acct, "ids": []string{T, "T999999", "Tx"}})
	if fmt.Sprint(th["list"].([]any)[0].(map[string]any)["emailIds"]) != fmt.Sprintf("[%s %s %s]", E(root), E(reply), E(late)) ||
		fmt.Sprint(th["notFound"]) != "[T999999 Tx]" {
		t.Fatalf("Thread/get %v", th)
	}
	// Bob does not see alice's thread.
	if r := e.must("bob", "Thread/get", map[string]any{"accountId": e.acct("bob"), "ids": []string{T}}); len(r["list"].([]any)) != 0 {
		t.Fatalf("bob sees %v", r)
	}
	// collapseThreads: the newest of each thread, in the paged path and
	// in the general one (a filter that matches everything).
	for _, filter := range []any{nil, map[string]any{"minSize": 0}} {
		q := e.must("alice", "Email/query", map[string]any{"accountId": acct, "filter": filter, "collapseThreads": true, "calculateTotal": true})
		if fmt.Sprint(q["ids"]) != fmt.Sprintf("[%s %s]", E(late), E(other)) || q["total"] != 2.0 {
			t.Fatalf("collapsed (filter %v) %v", filter, q)
		}
	}
	// Thread keyword filters look at every email of the thread.
	for _, tc := range []struct {
		filter map[string]any
		want   []string
	}{
		{map[string]any{"someInThreadHaveKeyword": "$seen"}, []string{E(late), E(reply), E(root)}},
		{map[string]any{"allInThreadHaveKeyword": "$seen"}, nil},
		{map[string]any{"noneInThreadHaveKeyword": "$seen"}, []string{E(other)}},
		{map[string]any{"operator": "NOT", "conditions": []any{map[string]any{"noneInThreadHaveKeyword": "$seen"}}}, []string{E(late), E(reply), E(root)}},
	} {
		q := e.must("alice", "Email/query", map[string]any{"accountId": acct, "filter": tc.filter})
		if fmt.Sprint(ids(q["ids"])) != fmt.Sprint(tc.want) {
			t.Errorf("filter %v: %v, want %v", tc.filter, q["ids"], tc.want)
		}
	}
	// Thread/changes: the conversation and the other thread were created.
	ch := e.must("alice", "Thread/changes", map[string]any{"accountId": acct, "sinceState": state})
	if c := ids(ch["created"]); !slices.Contains(c, T) || !slices.Contains(c, fmt.Sprintf("T%d", other.ID)) || len(c) != 2 {
		t.Fatalf("Thread/changes %v", ch)
	}
	state = ch["newState"].(string)
	qstate := e.must("alice", "Email/query", map[string]any{"accountId": acct, "collapseThreads": true})
	// Flagging an email changes no thread; a reply updates the thread;
	// destroying the lone email destroys its thread.
	e.must("alice", "Email/set", map[string]any{"accountId": acct, "update": map[string]any{E(root): map[string]any{"keywords/$flagged": true}}})
	newest := e.deliverAt("alice", store.SpecialInbox, convMsg("c@x", "Re: Plans", "r@x"), t0.Add(4*time.Hour))
	e.must("alice", "Email/set", map[string]any{"accountId": acct, "destroy": []string{E(other)}})
	ch = e.must("alice", "Thread/changes", map[string]any{"accountId": acct, "sinceState": state})
	if fmt.Sprint(ch["updated"]) != "["+T+"]" || fmt.Sprint(ch["destroyed"]) != fmt.Sprintf("[T%d]", other.ID) || len(ch["created"].([]any)) != 0 {
		t.Fatalf("Thread/changes after reply and destroy %v", ch)
	}
	// queryChanges with collapsed threads replays to the new results:
	// the thread is now represented by the newest reply.
	now := ids(e.must("alice", "Email/query", map[string]any{"accountId": acct, "collapseThreads": true})["ids"])
	qc := e.must("alice", "Email/queryChanges", map[string]any{"accountId": acct, "collapseThreads": true, "sinceQueryState": qstate["queryState"]})
	if fmt.Sprint(replay(ids(qstate["ids"]), qc)) != fmt.Sprint(now) || fmt.Sprint(now) != fmt.Sprintf("[%s]", E(newest)) {
		t.Fatalf("collapsed queryChanges %v: %v vs %v", qc, replay(ids(qstate["ids"]), qc), now)
	}
}

// The paged Email/query (database order) answers exactly what the
// general path answers, for every position, limit, direction, mailbox
// and collapse.
func TestPagedQueryMatchesGeneral(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.acct("alice")
	inbox := fmt.Sprintf("M%d", e.folder("alice", store.SpecialInbox).ID)
	t0 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	for i := range 17 {
		special := store.SpecialInbox
		if i%4 == 3 {
			special = store.SpecialArchive
		}
		var m string
		switch {
		case i%5 == 0:
			m = convMsg(fmt.Sprintf("root%d@x", i), fmt.Sprintf("Topic %d", i))
		default:
			root := i - i%5
			m = convMsg(fmt.Sprintf("m%d@x", i), fmt.Sprintf("Re: Topic %d", root), fmt.Sprintf("root%d@x", root))
		}
		// Some dates repeat, so ties are broken by id.
		e.deliverAt("alice", special, m, t0.Add(time.Duration(i%7)*time.Hour))
	}
	matchAll := map[string]any{"minSize": 0}
	for _, inMailbox := range []bool{false, true} {
		for _, collapse := range []bool{false, true} {
			for _, asc := range []bool{false, true} {
				for _, pos := range []int{0, 3, 16, 40} {
					for _, limit := range []any{nil, 0, 1, 5} {
						args := map[string]any{"accountId": acct, "collapseThreads": collapse, "position": pos, "calculateTotal": true,
							"sort": []any{map[string]any{"property": "receivedAt", "isAscending": asc}}}
						if limit != nil {
							args["limit"] = limit
						}
						general := map[string]any{}
						for k, v := range args {
							general[k] = v
						}
						general["filter"] = matchAll
						if inMailbox {
							args["filter"] = map[string]any{"inMailbox": inbox}
							general["filter"] = map[string]any{"operator": "AND", "conditions": []any{matchAll, map[string]any{"inMailbox": inbox}}}
						}
						fast := e.must("alice", "Email/query", args)
						slow := e.must("alice", "Email/query", general)
						if fmt.Sprint(fast["ids"], fast["total"]) != fmt.Sprint(slow["ids"], slow["total"]) {
							t.Fatalf("inMailbox %v collapse %v asc %v position %d limit %v:\npaged   %v\ngeneral %v", inMailbox, collapse, asc, pos, limit, fast, slow)
						}
					}
				}
			}
		}
	}
}
