package easserver

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func sr(name, v string) *wbxml.Node  { return wbxml.Str(eas.Search, name, v) }
func gal(name, v string) *wbxml.Node { return wbxml.Str(eas.GAL, name, v) }

// maxSearchResults bounds one Search answer ([MS-ASCMD] §2.2.3.145.1:
// ranges of at most 100 for the GAL).
const maxSearchResults = 100

// search is Search ([MS-ASCMD] §2.2.1.16) of the global address list:
// the users of the user's tenant whose name, login or address contains
// the query (case-insensitively), as Kopano's address book shows them.
// Mailbox search waits for the search index (status 2 for now).
func search(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.Search, "Search")
	st := req.Child("Store")
	if st == nil {
		return resp.Add(sr("Status", "2")), nil
	}
	if !strings.EqualFold(st.ChildText("Name"), "GAL") {
		return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", wbxml.El(eas.Search, "Store", sr("Status", "2")))), nil
	}
	q := strings.ToLower(strings.TrimSpace(st.ChildText("Query")))
	if q == "" || len(q) > 256 {
		return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", wbxml.El(eas.Search, "Store", sr("Status", "2")))), nil
	}
	from, to := 0, maxSearchResults-1
	if r := st.Child("Options").ChildText("Range"); r != "" {
		a, b, ok := strings.Cut(r, "-")
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || x < 0 || y < x {
			return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", wbxml.El(eas.Search, "Store", sr("Status", "2")))), nil
		}
		from, to = x, min(y, x+maxSearchResults-1)
	}
	hits, err := c.galMatches(q)
	if err != nil {
		return nil, err
	}
	out := wbxml.El(eas.Search, "Store", sr("Status", "1"))
	n := 0
	for i := from; i <= to && i < len(hits); i++ {
		u := hits[i]
		props := wbxml.El(eas.Search, "Properties", gal("DisplayName", name(u)), gal("Alias", u.Login), gal("EmailAddress", u.Email))
		if first, last, ok := strings.Cut(u.FullName, " "); ok {
			props.Add(gal("FirstName", first), gal("LastName", last))
		}
		out.Add(wbxml.El(eas.Search, "Result", props))
		n++
	}
	if n > 0 {
		out.Add(sr("Range", strconv.Itoa(from)+"-"+strconv.Itoa(from+n-1)))
	}
	out.Add(sr("Total", strconv.Itoa(len(hits))))
	return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", out)), nil
}

// galMatches are the users of the caller's tenant whose name, login or
// address contains q (lower case), sorted by name.
func (c *call) galMatches(q string) ([]*store.User, error) {
	users, err := c.s.o.Store.ListUsers(store.SystemContext(c.ctx), c.p.Tenant)
	if err != nil {
		return nil, err
	}
	var hits []*store.User
	for _, u := range users {
		if u.Email == "" {
			continue
		}
		fields := append([]string{u.FullName, u.Login, u.Email}, u.Aliases...)
		if slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(strings.ToLower(f), q) }) {
			hits = append(hits, u)
		}
	}
	slices.SortFunc(hits, func(a, b *store.User) int { return strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))) })
	return hits, nil
}

func name(u *store.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Login
}
