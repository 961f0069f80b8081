package davserver_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Issue 9.8 and 9.12: small WebDAV protocol points.

func TestPropfindBodyAllpropAndPropname(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, body := range []string{
		`<D:propfind xmlns:D="DAV:"><D:allprop/><D:propname/></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:propname/><D:prop><D:getetag/></D:prop></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:allprop/><D:prop><D:getetag/></D:prop></D:propfind>`,
	} {
		e.do("alice", "PROPFIND", e.calURL("alice"), body, "Depth", "0").must(t, http.StatusBadRequest)
	}
	// Still fine: each alone, and allprop with include (RFC 4918 §14.8).
	for _, body := range []string{
		`<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:getctag xmlns:D="http://calendarserver.org/ns/"/></D:include></D:propfind>`,
	} {
		e.do("alice", "PROPFIND", e.calURL("alice"), body, "Depth", "0").must(t, http.StatusMultiStatus)
	}
}

func TestSyncLevelUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sc := func(level string) string {
		return `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>` + level + `</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	}
	e.do("alice", "REPORT", e.calURL("alice"), sc("2"), "Depth", "0").must(t, http.StatusBadRequest)
	e.do("alice", "REPORT", e.calURL("alice"), sc("bogus"), "Depth", "0").must(t, http.StatusBadRequest)
	e.do("alice", "REPORT", e.calURL("alice"), sc("1"), "Depth", "0").must(t, http.StatusMultiStatus)
}

func TestAddressbookQueryOnResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ab := e.cardURL("alice")
	e.do("alice", "PUT", ab+"a.vcf", card("a", "Anna Able", "anna@example.test"), "Content-Type", "text/vcard").must(t, http.StatusCreated)
	e.do("alice", "PUT", ab+"b.vcf", card("b", "Bert Baker", "bert@example.org"), "Content-Type", "text/vcard").must(t, http.StatusCreated)
	q := func(filter string) resp {
		body := `<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop>` + filter + `</CR:addressbook-query>`
		return e.do("alice", "REPORT", ab+"a.vcf", body, "Depth", "0").must(t, http.StatusMultiStatus)
	}
	r := q(``)
	if hs := hrefs(r.body); !slices.Equal(hs, []string{ab + "a.vcf"}) || !strings.Contains(r.body, "FN:Anna Able") {
		t.Fatalf("query on a.vcf: %v\n%s", hs, r.body)
	}
	r = q(`<CR:filter><CR:prop-filter name="FN"><CR:text-match>bert</CR:text-match></CR:prop-filter></CR:filter>`)
	if hs := hrefs(r.body); len(hs) != 0 {
		t.Fatalf("non-matching query on a.vcf: %v", hs)
	}
}

func TestPropfindDepthInfinity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/dav/", "/dav/calendars/alice/", e.calURL("alice")} {
		r := e.do("alice", "PROPFIND", path, propfindDiscovery, "Depth", "infinity").must(t, http.StatusForbidden)
		if !strings.Contains(r.body, "<D:propfind-finite-depth/>") {
			t.Errorf("%s: no propfind-finite-depth:\n%s", path, r.body)
		}
	}
	// Without a Depth header clients still get depth 1.
	r := e.do("alice", "PROPFIND", "/dav/calendars/alice/", propfindDiscovery).must(t, http.StatusMultiStatus)
	if !slices.Contains(hrefs(r.body), e.calURL("alice")) {
		t.Errorf("no Depth: %v", hrefs(r.body))
	}
}
