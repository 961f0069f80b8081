package easserver

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/directory"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func sr(name, v string) *wbxml.Node  { return wbxml.Str(eas.Search, name, v) }
func gal(name, v string) *wbxml.Node { return wbxml.Str(eas.GAL, name, v) }

// maxSearchResults bounds one Search answer ([MS-ASCMD] §2.2.3.145.1:
// ranges of at most 100 for the GAL).
const maxSearchResults = 100

// search is Search ([MS-ASCMD] §2.2.1.16): of the global address list
// (the users of the user's tenant whose name, login or address contains
// the query, case-insensitively, and the tenant's visible contacts whose
// name or address does, as Kopano's address book shows them)
// or of the user's mailbox (mailboxSearch). Document libraries are not
// offered (Store status 2).
func search(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.Search, "Search")
	st := req.Child("Store")
	if st == nil {
		return resp.Add(sr("Status", "2")), nil
	}
	storeStatus := func(status string) (*wbxml.Node, error) {
		return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", wbxml.El(eas.Search, "Store", sr("Status", status)))), nil
	}
	switch {
	case strings.EqualFold(st.ChildText("Name"), "Mailbox"):
		out, err := c.mailboxSearch(st)
		if err != nil {
			return nil, err
		}
		return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", out)), nil
	case !strings.EqualFold(st.ChildText("Name"), "GAL"):
		return storeStatus("2")
	}
	q := strings.ToLower(strings.TrimSpace(st.ChildText("Query")))
	if q == "" || len(q) > 256 {
		return storeStatus("2")
	}
	from, to, ok := searchRange(st.Child("Options").ChildText("Range"))
	if !ok {
		return storeStatus("2")
	}
	hits, err := c.galMatches(q)
	if err != nil {
		return nil, err
	}
	out := wbxml.El(eas.Search, "Store", sr("Status", "1"))
	n := 0
	for i := from; i <= to && i < len(hits); i++ {
		out.Add(wbxml.El(eas.Search, "Result", galProperties(eas.Search, hits[i], true)))
		n++
	}
	if n > 0 {
		out.Add(sr("Range", strconv.Itoa(from)+"-"+strconv.Itoa(from+n-1)))
	}
	out.Add(sr("Total", strconv.Itoa(len(hits))))
	return resp.Add(sr("Status", "1"), wbxml.El(eas.Search, "Response", out)), nil
}

// searchRange reads Options/Range ("0-99"; default the first
// maxSearchResults), capped at maxSearchResults results.
func searchRange(r string) (from, to int, ok bool) {
	if r == "" {
		return 0, maxSearchResults - 1, true
	}
	a, b, ok := strings.Cut(r, "-")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || x < 0 || y < x || len(r) > 24 {
		return 0, 0, false
	}
	return x, min(y, x+maxSearchResults-1), true
}

// mailboxSearch is Search of the user's mail (Store Name=Mailbox): the
// query of parseMailQuery over the collections named (with
// DeepTraversal their subfolders; none named: every mail folder),
// newest first, each result as Email-class properties shaped by the
// Options' BodyPreference (and MIMESupport). Results are computed anew
// for every request, so RebuildResults changes nothing. Store status 2
// for a malformed query or a collection that is not one of the user's
// mail folders, 8 for one past Roost's bounds.
func (c *call) mailboxSearch(st *wbxml.Node) (*wbxml.Node, error) {
	out := wbxml.El(eas.Search, "Store")
	q, colls, err := parseMailQuery(st.Child("Query"))
	var qe *searchQueryError
	if errors.As(err, &qe) {
		return out.Add(sr("Status", qe.status)), nil
	}
	opts := st.Child("Options")
	from, to, ok := searchRange(opts.ChildText("Range"))
	if !ok {
		return out.Add(sr("Status", "2")), nil
	}
	folders, ok, err := c.mailFolders(colls, opts.Child("DeepTraversal") != nil)
	if err != nil {
		return nil, err
	}
	if !ok {
		return out.Add(sr("Status", "2")), nil
	}
	hits, err := c.mailMatches(folders, q)
	if err != nil {
		return nil, err
	}
	out.Add(sr("Status", "1"))
	bo := parseBodyOptions(opts)
	n := 0
	for i := from; i <= to && i < len(hits); i++ {
		h := hits[i]
		m, err := c.readMessage(c.ctx, h.it.ID)
		if notFound(err) {
			continue // expunged since
		}
		if err != nil {
			return nil, err
		}
		sid := serverID(h.f.ID, h.it.UID)
		it := &store.Item{ID: h.it.ID, FolderID: h.f.ID, UID: h.it.UID, ModSeq: h.it.ModSeq, Flags: h.it.Flags,
			Size: h.it.Size, InternalDate: h.it.InternalDate}
		ad := c.mailData(m, it, sid, bo)
		props := &wbxml.Node{Page: eas.Search, Name: "Properties", Children: ad.Children}
		out.Add(wbxml.El(eas.Search, "Result", as("Class", "Email"), sr("LongId", sid),
			as("CollectionId", strconv.FormatInt(h.f.ID, 10)), props))
		n++
	}
	if n > 0 {
		out.Add(sr("Range", strconv.Itoa(from)+"-"+strconv.Itoa(from+n-1)))
	}
	return out.Add(sr("Total", strconv.Itoa(len(hits)))), nil
}

// galMatches is the caller's tenant's address book for q (lower case):
// its users whose name, login or address contains q and its contacts
// not hidden whose name or address does (directory.TenantAddressBook),
// sorted by name.
func (c *call) galMatches(q string) ([]directory.Address, error) {
	// With the user's own principal: the store lists a tenant only to
	// those who see it (a user sees their own).
	hits, err := directory.TenantAddressBook(c.ctx, c.s.o.Store, q)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(hits, func(a, b directory.Address) int {
		return strings.Compare(strings.ToLower(a.Name()), strings.ToLower(b.Name()))
	})
	return hits, nil
}

// galProperties are a GAL entry's Properties on page (Search's or
// Find's): DisplayName and EmailAddress; a user's Alias (login), and
// with names its FirstName and LastName. A contact has no account, so
// no Alias.
func galProperties(page byte, a directory.Address, names bool) *wbxml.Node {
	props := wbxml.El(page, "Properties", gal("DisplayName", a.Name()))
	if u := a.User; u != nil {
		props.Add(gal("Alias", u.Login))
	}
	props.Add(gal("EmailAddress", a.Email()))
	if u := a.User; u != nil && names {
		if first, last, ok := strings.Cut(u.FullName, " "); ok {
			props.Add(gal("FirstName", first), gal("LastName", last))
		}
	}
	return props
}

func name(u *store.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Login
}
