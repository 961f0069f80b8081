package easserver

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func fd(name, v string) *wbxml.Node { return wbxml.Str(eas.Find, name, v) }

// Find bounds: messages looked at per folder (the newest) and in all.
const (
	findPerFolder = 5000
	findTotal     = 20000
)

// find is Find ([MS-ASCMD] §2.2.1.2, 16.1): a mailbox search over the
// headers (subject, sender, recipients) of the newest messages of one
// folder (with DeepTraversal, its subfolders too) or of every mail
// folder; or a GAL search like Search's. Body text is searched once the
// search index exists.
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
	if q == "" || len(q) > 256 {
		return resp.Add(fd("Status", "2")), nil
	}
	from, to := 0, 99
	if r := crit.Child("Options").ChildText("Range"); r != "" {
		a, b, ok := strings.Cut(r, "-")
		x, err1 := strconv.Atoi(a)
		y, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || x < 0 || y < x {
			return resp.Add(fd("Status", "2")), nil
		}
		from, to = x, min(y, x+maxSearchResults-1)
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
		for _, u := range hits {
			add(wbxml.El(eas.Find, "Result", wbxml.El(eas.Find, "Properties",
				gal("DisplayName", name(u)), gal("Alias", u.Login), gal("EmailAddress", u.Email))))
		}
	} else {
		folders, err := c.findFolders(query.ChildText("CollectionId"), crit.Child("Options").Child("DeepTraversal") != nil)
		if err != nil {
			return nil, err
		}
		if folders == nil {
			return resp.Add(fd("Status", "2")), nil
		}
		budget := findTotal
		for _, f := range folders {
			if err := c.findIn(f, q, &budget, add); err != nil {
				return nil, err
			}
		}
	}
	if total > from {
		out.Add(fd("Range", strconv.Itoa(from)+"-"+strconv.Itoa(min(to, total-1))))
	}
	out.Add(fd("Total", strconv.Itoa(total)))
	return resp.Add(fd("Status", "1"), out), nil
}

// findFolders are the mail folders a Find looks in: one (and below it
// with deep traversal), or all; nil when the id is not one of the user's.
func (c *call) findFolders(id string, deep bool) ([]*store.Folder, error) {
	fs, err := c.s.o.Store.ListFolders(c.ctx, c.st.ID)
	if err != nil {
		return nil, err
	}
	var mail []*store.Folder
	for _, f := range fs {
		if f.Type == store.FolderMail && !f.Deleted {
			mail = append(mail, f)
		}
	}
	if id == "" {
		return mail, nil
	}
	root, err := c.folder(id)
	if err != nil || root == nil || root.Type != store.FolderMail {
		return nil, err
	}
	out := []*store.Folder{root}
	for deep {
		deep = false
		for _, f := range mail {
			if !slices.Contains(out, f) && slices.ContainsFunc(out, func(p *store.Folder) bool { return p.ID == f.ParentID }) {
				out = append(out, f)
				deep = true
			}
		}
	}
	return out, nil
}

// findIn matches the headers of a folder's newest messages.
func (c *call) findIn(f *store.Folder, q string, budget *int, add func(*wbxml.Node)) error {
	items, err := c.s.o.Store.ListItems(c.ctx, f.ID, 1, 0)
	if err != nil {
		return err
	}
	if len(items) > findPerFolder {
		items = items[len(items)-findPerFolder:]
	}
	if len(items) > *budget {
		items = items[len(items)-*budget:]
	}
	*budget -= len(items)
	flags := map[uint32][]string{}
	for _, it := range items {
		flags[it.UID] = it.Flags
	}
	coll := strconv.FormatInt(f.ID, 10)
	// Newest first.
	for end := len(items); end > 0; end -= store.MaxMessageMetas {
		start := max(0, end-store.MaxMessageMetas)
		uids := make([]uint32, 0, end-start)
		for _, it := range items[start:end] {
			uids = append(uids, it.UID)
		}
		metas, err := c.s.o.Store.MessageMetas(c.ctx, f.ID, uids)
		if err != nil {
			return err
		}
		for i := len(metas) - 1; i >= 0; i-- {
			m := metas[i]
			if m.Summary == nil || m.Summary.Header == nil {
				continue
			}
			h, _ := mime.ParseHeader(m.Summary.Header, 200)
			dec := func(n string) string { return strings.ToValidUTF8(mime.DecodeHeaderValue(h.Get(n)), "\uFFFD") }
			subject, from, to, cc := dec("Subject"), dec("From"), dec("To"), dec("Cc")
			if !strings.Contains(strings.ToLower(subject+"\x00"+from+"\x00"+to+"\x00"+cc), q) {
				continue
			}
			read := "0"
			if slices.Contains(flags[m.UID], `\Seen`) {
				read = "1"
			}
			props := wbxml.El(eas.Find, "Properties", em("Subject", subject), em("From", from),
				em("DisplayTo", displayNames(h.Get("To"))), fd("DisplayCc", displayNames(h.Get("Cc"))), em("Read", read))
			if t, ok := mime.ParseDate(h.Get("Date")); ok {
				props.Add(em("DateReceived", easTime(t)))
			}
			ct := strings.ToLower(h.Get("Content-Type"))
			props.Add(fd("HasAttachments", b01(strings.HasPrefix(strings.TrimSpace(ct), "multipart/mixed"))))
			add(wbxml.El(eas.Find, "Result", as("Class", "Email"), as("ServerId", serverID(f.ID, m.UID)), as("CollectionId", coll), props))
		}
	}
	return nil
}
