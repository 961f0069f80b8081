package easserver

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
)

func fd(name, v string) *wbxml.Node { return wbxml.Str(eas.Find, name, v) }

// find is Find ([MS-ASCMD] §2.2.1.2, 16.1): a mailbox search of the
// free text over the addresses, subject, body and attachment text of
// one folder's messages (with DeepTraversal, its subfolders too) or of
// every mail folder, through the full-text index like Search's
// (mailMatches, newest first); or a GAL search like Search's.
func find(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	id := req.ChildText("SearchId")
	resp := wbxml.El(eas.Find, "Find", fd("SearchId", id))
	ex := req.Child("ExecuteSearch")
	crit := ex.Child("MailBoxSearchCriterion")
	galCrit := ex.Child("GALSearchCriterion")
	if crit == nil && galCrit == nil {
		return resp.Add(fd("Status", "2")), nil
	}
	if crit == nil {
		crit = galCrit
	}
	query := crit.Child("Query")
	q := strings.ToLower(strings.TrimSpace(query.ChildText("FreeText")))
	if q == "" && galCrit != nil {
		q = strings.ToLower(strings.TrimSpace(query.Content()))
	}
	if q == "" || len(q) > maxFreeText {
		return resp.Add(fd("Status", "2")), nil
	}
	from, to, ok := searchRange(crit.Child("Options").ChildText("Range"))
	if !ok {
		return resp.Add(fd("Status", "2")), nil
	}
	out := wbxml.El(eas.Find, "Response", wbxml.Str(eas.ItemOperations, "Store", "Mailbox"), fd("Status", "1"))
	total := 0
	add := func(n *wbxml.Node) {
		if total >= from && total <= to {
			out.Add(n)
		}
		total++
	}
	if galCrit != nil {
		hits, err := c.galMatches(q)
		if err != nil {
			return nil, err
		}
		for _, a := range hits {
			add(wbxml.El(eas.Find, "Result", galProperties(eas.Find, a, false)))
		}
	} else {
		var ids []string
		if id := query.ChildText("CollectionId"); id != "" {
			ids = []string{id}
		}
		folders, ok, err := c.mailFolders(ids, crit.Child("Options").Child("DeepTraversal") != nil)
		if err != nil {
			return nil, err
		}
		if !ok {
			return resp.Add(fd("Status", "2")), nil
		}
		hits, err := c.mailMatches(folders, mailQuery{texts: []string{q}})
		if err != nil {
			return nil, err
		}
		page := hits[min(from, len(hits)):min(to+1, len(hits))]
		headers, err := c.findHeaders(page)
		if err != nil {
			return nil, err
		}
		for i, h := range hits {
			hd := headers[h.f.ID][h.it.UID]
			if i < from || i > to || hd == nil {
				total++ // outside the range, or expunged since: counted, not shown
				continue
			}
			add(findResult(h, hd))
		}
	}
	if total > from {
		out.Add(fd("Range", strconv.Itoa(from)+"-"+strconv.Itoa(min(to, total-1))))
	}
	out.Add(fd("Total", strconv.Itoa(total)))
	return resp.Add(fd("Status", "1"), out), nil
}

// findHeaders reads the stored headers of the hits of a page, one
// MessageMetas per folder (a page holds at most maxSearchResults); a hit
// expunged meanwhile has none.
func (c *call) findHeaders(hits []mailHit) (map[int64]map[uint32][]byte, error) {
	uids := map[int64][]uint32{}
	for _, h := range hits {
		uids[h.f.ID] = append(uids[h.f.ID], h.it.UID)
	}
	out := map[int64]map[uint32][]byte{}
	for folderID, us := range uids {
		slices.Sort(us)
		metas, err := c.s.o.Store.MessageMetas(c.ctx, folderID, us)
		if err != nil {
			return nil, err
		}
		out[folderID] = map[uint32][]byte{}
		for _, m := range metas {
			if m.Summary != nil && m.Summary.Header != nil {
				out[folderID][m.UID] = m.Summary.Header
			}
		}
	}
	return out, nil
}

// findResult renders a hit as a Find Result from the message's stored
// header.
func findResult(h mailHit, header []byte) *wbxml.Node {
	hd, _ := mime.ParseHeader(header, 200)
	dec := func(n string) string { return strings.ToValidUTF8(mime.DecodeHeaderValue(hd.Get(n)), "\uFFFD") }
	props := wbxml.El(eas.Find, "Properties", em("Subject", dec("Subject")), em("From", dec("From")),
		em("DisplayTo", displayNames(hd.Get("To"))), fd("DisplayCc", displayNames(hd.Get("Cc"))),
		em("Read", b01(slices.Contains(h.it.Flags, `\Seen`))), em("DateReceived", easTime(h.it.InternalDate)))
	ct := strings.ToLower(hd.Get("Content-Type"))
	props.Add(fd("HasAttachments", b01(strings.HasPrefix(strings.TrimSpace(ct), "multipart/mixed"))))
	return wbxml.El(eas.Find, "Result", as("Class", "Email"), as("ServerId", serverID(h.f.ID, h.it.UID)),
		as("CollectionId", strconv.FormatInt(h.f.ID, 10)), props)
}
