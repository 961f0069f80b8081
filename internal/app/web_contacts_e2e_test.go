package app

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWebClientContacts drives the contacts view in Chromium
// (web/e2e/contacts.mjs): the tenant's directory paged and searched (its
// contacts marked as external, a hidden one and another tenant's not
// listed, one added to the user's contacts, one offered by the
// composer), two colleagues added from it to the user's contacts, one given a postal
// address and a birthday, a group of the two made, a new address book
// created, and a message composed to the group by its name; axe-core
// scans the new views in light and dark. Then, not through the web
// client: both members received the message (IMAP), and the group read
// over CardDAV is a vCard with KIND:group and a MEMBER per member, the
// members' UIDs; the address and birthday are in the member's vCard.
func TestWebClientContacts(t *testing.T) {
	node, chromium, webDir := webE2ETools(t)
	dir := t.TempDir()
	httpsAddr, imapAddr := freePort(t), freePort(t)
	c := startServer(t, dir, fmt.Sprintf("https_listen = %q\nimap_listen = %q\nallow_plaintext_auth = true\n", httpsAddr, imapAddr))
	adminCall(t, c, "POST", "/v1/domains", `{"name":"example.org"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"ann","email":"ann@example.org","name":"Ann Owner","password":"pw-ann-ct-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"ben","email":"ben@example.org","name":"Ben Colleague","password":"pw-ben-ct-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"cat","email":"cat@example.org","name":"Cat Colleague","aliases":["cat.alias@example.org"],"password":"pw-cat-ct-1"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"room1","email":"room1@example.org","name":"Meeting Room","active":false}`, 201)
	adminCall(t, c, "PATCH", "/v1/users/room1", `{"mr_accept":true}`, 200)
	// Enough colleagues for the directory to take two pages.
	const staff = 52
	for i := range staff {
		adminCall(t, c, "POST", "/v1/users", fmt.Sprintf(`{"login":"staff%02d","email":"staff%02d@example.org","name":"Staff %02d"}`, i, i, i), 201)
	}
	// Another tenant's user, never in ann's directory.
	adminCall(t, c, "POST", "/v1/tenants", `{"name":"other"}`, 201)
	adminCall(t, c, "POST", "/v1/domains", `{"name":"other.test","tenant":"other"}`, 201)
	adminCall(t, c, "POST", "/v1/users", `{"login":"olga","email":"olga@other.test","name":"Cat Other","tenant":"other","password":"pw-olga-ct-1"}`, 201)
	// The tenant's contacts (addresses without an account: the
	// directory sync's or an administrator's), made over the admin API:
	// two in ann's directory, a hidden one and another tenant's never.
	for _, body := range []string{`{"email":"sales@supplies.test","name":"Acme Supplies","tenant":"default"}`,
		`{"email":"norbert@outside.test","name":"Norbert Outside","tenant":"default"}`,
		`{"email":"hidden@outside.test","name":"Hidden Outside","hidden":true,"tenant":"default"}`,
		`{"email":"vendor@outside.test","name":"Other Outside","tenant":"other"}`} {
		adminCall(t, c, "POST", "/v1/contacts", body, 201)
	}
	base := "https://" + httpsAddr

	runWebE2E(t, node, chromium, webDir, "contacts.mjs", "web-contacts",
		"BASE="+base, "USER=ann", "PASS=pw-ann-ct-1", fmt.Sprintf("STAFF=%d", staff+4+2))

	// Both members of the group received the message, over IMAP.
	for _, u := range [][2]string{{"ben", "pw-ben-ct-1"}, {"cat", "pw-cat-ct-1"}} {
		conn, err := net.Dial("tcp", imapAddr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		r := bufio.NewReader(conn)
		r.ReadString('\n')
		if l := imapLine(t, conn, r, fmt.Sprintf("LOGIN %s %s", u[0], u[1])); !strings.HasPrefix(l, "t OK") {
			t.Fatalf("IMAP login %s: %s", u[0], l)
		}
		raw := string(imapFetchBody(t, conn, r, waitIMAPSubject(t, conn, r, "To the team")))
		if !strings.Contains(raw, "ben@example.org") || !strings.Contains(raw, "cat@example.org") {
			t.Errorf("%s's copy is not addressed to both members:\n%s", u[0], raw)
		}
		conn.Close()
	}

	// The group over CardDAV.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	dav := func(method, path, depth string) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		req.SetBasicAuth("ann", "pw-ann-ct-1")
		if depth != "" {
			req.Header.Set("Depth", depth)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return string(b)
	}
	hrefs := regexp.MustCompile(`<(?:[A-Za-z]+:)?href>([^<]+)</`)
	cards := map[string]string{} // vCards by their FN
	count := map[string]int{}
	var books []string
	for _, m := range hrefs.FindAllStringSubmatch(dav("PROPFIND", "/dav/addressbooks/ann/", "1"), -1) {
		if m[1] == "/dav/addressbooks/ann/" || !strings.HasSuffix(m[1], "/") {
			continue
		}
		books = append(books, m[1])
		for _, v := range hrefs.FindAllStringSubmatch(dav("PROPFIND", m[1], "1"), -1) {
			if strings.HasSuffix(v[1], "/") {
				continue
			}
			body := strings.ReplaceAll(dav("GET", v[1], ""), "\r\n ", "")
			if fn := regexp.MustCompile(`(?m)^FN:(.*?)\r?$`).FindStringSubmatch(body); fn != nil {
				cards[fn[1]] = body
				count[fn[1]]++
			}
		}
	}
	if len(books) != 2 {
		t.Errorf("ann's address books over CardDAV: %v, want Contacts and Suppliers", books)
	}
	if count["Cat Colleague"] != 1 || count["Team"] != 1 {
		t.Errorf("cards over CardDAV by name: %v, want one Cat Colleague (added twice from the directory) and one Team", count)
	}
	group, ben, cat := cards["Team"], cards["Ben Colleague"], cards["Cat Colleague"]
	if group == "" || ben == "" || cat == "" {
		t.Fatalf("ann's cards over CardDAV: %v", cards)
	}
	uid := func(v string) string {
		m := regexp.MustCompile(`(?m)^UID:(.*?)\r?$`).FindStringSubmatch(v)
		if m == nil {
			t.Fatalf("no UID in %s", v)
		}
		return m[1]
	}
	members := regexp.MustCompile(`(?m)^MEMBER:(.*?)\r?$`).FindAllStringSubmatch(group, -1)
	if !strings.Contains(group, "KIND:group") || len(members) != 2 {
		t.Fatalf("the group over CardDAV:\n%s", group)
	}
	got := map[string]bool{members[0][1]: true, members[1][1]: true}
	if !got[uid(ben)] || !got[uid(cat)] {
		t.Errorf("the group's members %v are not ben's and cat's cards (%s, %s)", got, uid(ben), uid(cat))
	}
	for _, want := range []string{"BDAY:19900401", "Hauptstraße 1", "Berlin", "10115", "Germany", "EMAIL:ben@example.org"} {
		if !strings.Contains(ben, want) {
			t.Errorf("ben's vCard lacks %s:\n%s", want, ben)
		}
	}
	if !strings.Contains(cat, "cat.alias@example.org") {
		t.Errorf("cat's vCard lacks the alias:\n%s", cat)
	}
	if !strings.Contains(cards["Acme Supplies"], "EMAIL:sales@supplies.test") {
		t.Errorf("the tenant contact added from the directory: %q", cards["Acme Supplies"])
	}
}
