package easserver_test

import (
	"testing"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// A 16.1 device's Find: headers of the user's mail folders, one folder
// or all, paged; the GAL; nothing of another user's. (libwbxml has no
// Find page: the request is encoded by Roost's encoder.)
func TestFind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "FINDPHONE")
	d.version = "16.1"
	d.provision()
	e.deliver("alice", store.SpecialInbox, msg("quarterly report", "numbers"))
	e.deliver("alice", store.SpecialInbox, msg("lunch", "at noon"))
	e.deliver("alice", store.SpecialSent, msg("re: quarterly report", "thanks"))
	e.deliver("bob", store.SpecialInbox, msg("quarterly report for bob", "x"))
	find := func(q, coll, rng string) reply {
		query := wbxml.El(eas.Find, "Query", wbxml.Str(eas.AirSync, "Class", "Email"))
		if coll != "" {
			query.Add(wbxml.Str(eas.AirSync, "CollectionId", coll))
		}
		query.Add(wbxml.Str(eas.Find, "FreeText", q))
		n := wbxml.El(eas.Find, "Find", wbxml.Str(eas.Find, "SearchId", "s1"), wbxml.El(eas.Find, "ExecuteSearch",
			wbxml.El(eas.Find, "MailBoxSearchCriterion", query, wbxml.El(eas.Find, "Options", wbxml.Str(eas.Find, "Range", rng)))))
		b, err := eas.Encode(n)
		if err != nil {
			t.Fatal(err)
		}
		return d.post("Find", b)
	}
	r := find("Quarterly", "", "0-9")
	resp := r.n.Child("Response")
	if r.n.ChildText("Status") != "1" || resp.ChildText("Total") != "2" || len(resp.All("Result")) != 2 {
		t.Fatalf("Find in all folders: %s", eas.XML(r.n))
	}
	res := resp.Child("Result")
	if res.ChildText("Class") != "Email" || res.Child("Properties").ChildText("Subject") == "" || res.ChildText("CollectionId") == "" {
		t.Fatalf("result: %s", eas.XML(r.n))
	}
	inbox := id(e.folder("alice", store.SpecialInbox))
	if r := find("quarterly", inbox, "0-9"); r.n.Child("Response").ChildText("Total") != "1" {
		t.Fatalf("Find in the inbox: %s", eas.XML(r.n))
	}
	if r := find("quarterly", "", "1-1"); len(r.n.Child("Response").All("Result")) != 1 || r.n.Child("Response").ChildText("Range") != "1-1" {
		t.Fatalf("paging: %s", eas.XML(r.n))
	}
	if r := find("quarterly", id(e.folder("bob", store.SpecialInbox)), "0-9"); r.n.ChildText("Status") != "2" {
		t.Fatalf("bob's folder: %s", eas.XML(r.n))
	}
	// The GAL through Find.
	g := wbxml.El(eas.Find, "Find", wbxml.Str(eas.Find, "SearchId", "s2"), wbxml.El(eas.Find, "ExecuteSearch",
		wbxml.El(eas.Find, "GALSearchCriterion", wbxml.El(eas.Find, "Query", wbxml.Str(eas.Find, "FreeText", "bob")),
			wbxml.El(eas.Find, "Options", wbxml.Str(eas.Find, "Range", "0-9")))))
	b, _ := eas.Encode(g)
	if r := d.post("Find", b); r.n.Child("Response").ChildText("Total") != "1" ||
		r.n.Child("Response").Child("Result").Child("Properties").ChildText("EmailAddress") != "bob@acme.test" {
		t.Fatalf("GAL Find: %s", eas.XML(r.n))
	}
}
