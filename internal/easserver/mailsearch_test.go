package easserver_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
	"github.com/roost-mail/roost/internal/testenv"
)

// deliverAt appends a message received at a given time.
func (e *env) deliverAt(login string, folderID int64, msg string, at time.Time) *store.Item {
	e.t.Helper()
	it, err := e.db.AppendItem(e.as(login), folderID, store.NewItem{
		Content: strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), InternalDate: at})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// msg8 is msg with a UTF-8 body.
func msg8(subject, body string) string {
	return strings.Replace(msg(subject, body), "\n\n", "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", 1)
}

// index runs the indexer over a user's store until it is current.
func (e *env) index(login string) {
	e.t.Helper()
	sys := store.SystemContext(context.Background())
	st, err := e.db.UserStore(sys, login)
	if err != nil {
		e.t.Fatal(err)
	}
	ix := search.NewIndexer(search.IndexerOptions{Backend: e.db, Batch: 500})
	for {
		more, err := ix.Step(sys, st.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

// mailSearch sends a mailbox Search (encoded by libwbxml) and returns
// its Store element.
func (d *device) mailSearch(query, options string) (*wbxml.Node, reply) {
	d.e.t.Helper()
	r := d.do("Search", `<Search xmlns="Search:" xmlns:airsync="AirSync:" xmlns:email="Email:" xmlns:airsyncbase="AirSyncBase:">`+
		`<Store><Name>Mailbox</Name><Query>`+query+`</Query><Options>`+options+`</Options></Store></Search>`)
	if r.code != 200 || r.n.ChildText("Status") != "1" || !strings.Contains(r.xml, "<Search") {
		d.e.t.Fatalf("Search: %d %s", r.code, r.xml)
	}
	return r.n.Child("Response").Child("Store"), r
}

func subjects(st *wbxml.Node) []string {
	var out []string
	for _, r := range st.All("Result") {
		out = append(out, r.Child("Properties").ChildText("Subject"))
	}
	return out
}

// Mailbox Search through the full-text index, on SQLite and PostgreSQL:
// body words, accents folded by the index (so a hit proves the index
// answered), the unindexed tail read (a message delivered after
// indexing is found), collections with and without DeepTraversal, date
// bounds, paging, BodyPreference, LongId fetched by ItemOperations, and
// the status codes of bad queries; nothing of another user's.
func TestSearchMailbox(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			e := newEnvOn(t, backend, func(o *easserver.Options) { o.SearchIndex = true })
			d := e.device("alice", "SEARCHPHONE")
			d.provision()
			inbox, archive := e.folder("alice", store.SpecialInbox), e.folder("alice", store.SpecialArchive)
			sub, err := e.db.CreateFolder(e.as("alice"), inbox.StoreID, inbox.ID, "Projects", store.FolderMail)
			if err != nil {
				t.Fatal(err)
			}
			day := func(n int) time.Time { return time.Date(2026, 11, n, 9, 0, 0, 0, time.UTC) }
			e.deliverAt("alice", inbox.ID, msg("quarterly report", "the numbers are attached"), day(1))
			e.deliverAt("alice", inbox.ID, msg8("lunch", "pizza margherita tomorrow, at the Café Zentral"), day(2))
			e.deliverAt("alice", archive.ID, msg("holiday plans", "a week on margherita island"), day(3))
			e.deliverAt("alice", sub.ID, msg("project kickoff", "margherita is the code name"), day(4))
			e.deliverAt("bob", e.folder("bob", store.SpecialInbox).ID, msg("bob's margherita", "margherita"), day(5))
			free := func(s string) string {
				return `<And><airsync:Class>Email</airsync:Class><FreeText>` + s + `</FreeText></And>`
			}

			// Before indexing every message is read: a substring test, so
			// "cafe" does not find "Café".
			if st, _ := d.mailSearch(free("cafe zentral"), `<Range>0-9</Range>`); st.ChildText("Status") != "1" || st.ChildText("Total") != "0" {
				t.Fatalf("unindexed cafe: %s", eas.XML(st))
			}
			e.index("alice")
			// Indexed: the index folds accents.
			if st, _ := d.mailSearch(free("cafe zentral"), `<Range>0-9</Range>`); st.ChildText("Total") != "1" || subjects(st)[0] != "lunch" {
				t.Fatalf("indexed cafe: %s", eas.XML(st))
			}
			// The unindexed tail: delivered after indexing, still found.
			e.deliverAt("alice", inbox.ID, msg("fresh", "margherita again"), day(6))
			st, r := d.mailSearch(free("Margherita"), `<Range>0-9</Range>`)
			if got := strings.Join(subjects(st), ","); got != "fresh,project kickoff,holiday plans,lunch" || st.ChildText("Total") != "4" ||
				st.ChildText("Range") != "0-3" {
				t.Fatalf("all folders, newest first: %q\n%s", got, r.xml)
			}
			res := st.Child("Result")
			lid := res.ChildText("LongId")
			if res.ChildText("Class") != "Email" || res.ChildText("CollectionId") != id(inbox) || !strings.HasPrefix(lid, id(inbox)+":") ||
				res.Child("Properties").ChildText("DateReceived") == "" {
				t.Fatalf("result: %s", r.xml)
			}
			// One collection; with DeepTraversal its subfolders too.
			coll := func(c string) string {
				return `<And><airsync:Class>Email</airsync:Class><airsync:CollectionId>` + c + `</airsync:CollectionId><FreeText>margherita</FreeText></And>`
			}
			if st, _ := d.mailSearch(coll(id(inbox)), ``); strings.Join(subjects(st), ",") != "fresh,lunch" {
				t.Fatalf("inbox: %s", eas.XML(st))
			}
			if st, _ := d.mailSearch(coll(id(inbox)), `<DeepTraversal/><RebuildResults/>`); strings.Join(subjects(st), ",") != "fresh,project kickoff,lunch" {
				t.Fatalf("inbox deep: %s", eas.XML(st))
			}
			// EqualTo names a collection as well.
			eq := `<And><EqualTo><airsync:CollectionId/><Value>` + id(archive) + `</Value></EqualTo><FreeText>margherita</FreeText></And>`
			if st, _ := d.mailSearch(eq, ``); strings.Join(subjects(st), ",") != "holiday plans" {
				t.Fatalf("EqualTo: %s", eas.XML(st))
			}
			// Dates: received after Nov 2 and before Nov 6.
			dates := `<And><FreeText>margherita</FreeText><GreaterThan><email:DateReceived/><Value>2026-11-02T12:00:00.000Z</Value></GreaterThan>` +
				`<LessThan><email:DateReceived/><Value>2026-11-06T00:00:00.000Z</Value></LessThan></And>`
			if st, _ := d.mailSearch(dates, ``); strings.Join(subjects(st), ",") != "project kickoff,holiday plans" {
				t.Fatalf("dates: %s", eas.XML(st))
			}
			// Paging.
			if st, _ := d.mailSearch(free("margherita"), `<Range>1-2</Range>`); strings.Join(subjects(st), ",") != "project kickoff,holiday plans" ||
				st.ChildText("Range") != "1-2" || st.ChildText("Total") != "4" {
				t.Fatalf("page: %s", eas.XML(st))
			}
			// BodyPreference: HTML truncated to 10 bytes.
			st, _ = d.mailSearch(free("cafe"), `<airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type>`+
				`<airsyncbase:TruncationSize>10</airsyncbase:TruncationSize></airsyncbase:BodyPreference>`)
			body := st.Child("Result").Child("Properties").Child("Body")
			if body.ChildText("Type") != "2" || body.ChildText("Truncated") != "1" || len(body.ChildText("Data")) > 10 {
				t.Fatalf("body preference: %s", eas.XML(st))
			}
			// The LongId fetches the message.
			f := d.do("ItemOperations", `<ItemOperations xmlns="ItemOperations:" xmlns:search="Search:"><Fetch><Store>Mailbox</Store>`+
				`<search:LongId>`+lid+`</search:LongId></Fetch></ItemOperations>`)
			if fe := f.n.Child("Response").Child("Fetch"); fe.ChildText("Status") != "1" || fe.Child("Properties").ChildText("Subject") != "fresh" {
				t.Fatalf("fetch by LongId: %s", f.xml)
			}
			// Bad queries.
			for _, c := range []struct{ name, query, options, status string }{
				{"Or", `<Or><FreeText>a</FreeText><FreeText>b</FreeText></Or>`, ``, "8"},
				{"nothing asked", `<And><airsync:Class>Email</airsync:Class></And>`, ``, "2"},
				{"bad date", `<And><FreeText>a</FreeText><GreaterThan><email:DateReceived/><Value>yesterday</Value></GreaterThan></And>`, ``, "2"},
				{"date without property", `<And><FreeText>a</FreeText><GreaterThan><Value>2026-11-02T12:00:00.000Z</Value></GreaterThan></And>`, ``, "2"},
				{"long text", free(strings.Repeat("a", 300)), ``, "8"},
				{"many texts", `<And>` + strings.Repeat(`<FreeText>a</FreeText>`, 9) + `</And>`, ``, "8"},
				{"calendar class", `<And><airsync:Class>Calendar</airsync:Class><FreeText>a</FreeText></And>`, ``, "2"},
				{"bob's folder", coll(id(e.folder("bob", store.SpecialInbox))), ``, "2"},
				{"unknown folder", coll("999999"), ``, "2"},
				{"bad range", free("a"), `<Range>5-2</Range>`, "2"},
				{"unknown element", `<And><UserName>x</UserName></And>`, ``, "2"},
			} {
				if st, _ := d.mailSearch(c.query, c.options); st.ChildText("Status") != c.status || st.Child("Result") != nil {
					t.Errorf("%s: want Store status %s: %s", c.name, c.status, eas.XML(st))
				}
			}
			// Another user's mail never shows.
			if st, _ := d.mailSearch(free("bob's"), ``); st.ChildText("Total") != "0" {
				t.Fatalf("bob's mail: %s", eas.XML(st))
			}
		})
	}
}

// Search without the index reads every message: same answers for plain
// words, and a result count past the answer's cap is reported in Total
// while at most 100 results are sent.
func TestSearchMailboxNoIndexCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.device("alice", "CAPPHONE")
	d.provision()
	inbox := e.folder("alice", store.SpecialInbox)
	for i := range 120 {
		e.deliverAt("alice", inbox.ID, msg("note "+strconv.Itoa(i), "common word here"), time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC))
	}
	st, _ := d.mailSearch(`<And><FreeText>common</FreeText></And>`, `<Range>0-999</Range>`)
	if st.ChildText("Total") != "120" || len(st.All("Result")) != 100 || st.ChildText("Range") != "0-99" ||
		subjects(st)[0] != "note 119" {
		t.Fatalf("cap: total %s, %d results, range %s", st.ChildText("Total"), len(st.All("Result")), st.ChildText("Range"))
	}
}

// Find searches message bodies through the index too, with the
// unindexed tail read.
func TestFindBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *easserver.Options) { o.SearchIndex = true })
	d := e.device("alice", "FINDBODY")
	d.version = "16.1"
	d.provision()
	e.deliver("alice", store.SpecialInbox, msg8("status", "the Ünïcode budget is approved"))
	e.index("alice")
	e.deliver("alice", store.SpecialSent, msg("reply", "budget approved, thanks"))
	query := wbxml.El(eas.Find, "Query", wbxml.Str(eas.AirSync, "Class", "Email"), wbxml.Str(eas.Find, "FreeText", "budget"))
	n := wbxml.El(eas.Find, "Find", wbxml.Str(eas.Find, "SearchId", "b1"), wbxml.El(eas.Find, "ExecuteSearch",
		wbxml.El(eas.Find, "MailBoxSearchCriterion", query, wbxml.El(eas.Find, "Options", wbxml.Str(eas.Find, "Range", "0-9")))))
	b, err := eas.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	r := d.post("Find", b)
	resp := r.n.Child("Response")
	if r.n.ChildText("Status") != "1" || resp.ChildText("Total") != "2" || len(resp.All("Result")) != 2 {
		t.Fatalf("Find on bodies: %s", eas.XML(r.n))
	}
	// "unicode" only matches through the index (accents folded).
	query.Children[1] = wbxml.Str(eas.Find, "FreeText", "unicode budget")
	b, _ = eas.Encode(n)
	if r := d.post("Find", b); r.n.Child("Response").ChildText("Total") != "1" {
		t.Fatalf("Find through the index: %s", eas.XML(r.n))
	}
}
