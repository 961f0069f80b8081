package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

var mailboxProperties = []string{"id", "name", "parentId", "role", "sortOrder", "totalEmails", "unreadEmails",
	"totalThreads", "unreadThreads", "myRights", "isSubscribed", "shareWith"}

// roles maps special folders to Mailbox roles (RFC 8621 §2, the IANA
// IMAP mailbox name attributes registry). Outbox has no registered role.
var roles = map[string]string{
	store.SpecialInbox:   "inbox",
	store.SpecialDrafts:  "drafts",
	store.SpecialSent:    "sent",
	store.SpecialTrash:   "trash",
	store.SpecialJunk:    "junk",
	store.SpecialArchive: "archive",
}

// sortOrders puts the special folders first, in the usual client order;
// other folders get sortOrderOther.
var sortOrders = map[string]int{"inbox": 1, "drafts": 2, "sent": 3, "archive": 4, "junk": 5, "trash": 6}

const sortOrderOther = 10

func sortOrderOf(f *store.Folder) int {
	if n, ok := sortOrders[roles[f.Special]]; ok {
		return n
	}
	return sortOrderOther
}

func isMailFolder(f *store.Folder) bool { return f.Type == store.FolderMail && !f.Deleted }

// mailFolders lists the live mail folders of a store.
func (c *call) mailFolders(st *store.Store) ([]*store.Folder, error) {
	fs, err := c.s.o.Store.ListFolders(c.ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("folders of store %d: %w", st.ID, err)
	}
	out := fs[:0:0]
	for _, f := range fs {
		if isMailFolder(f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// rightsObject is MailboxRights (RFC 8621 §2) from IMAP ACL rights
// (RFC 4314), as RFC 8621 §2 relates them.
func rightsObject(r string) map[string]bool {
	has := func(cs string) bool {
		for _, c := range cs {
			if !strings.ContainsRune(r, c) {
				return false
			}
		}
		return true
	}
	return map[string]bool{
		"mayReadItems":   has("lr"),
		"mayAddItems":    has("i"),
		"mayRemoveItems": has("te"),
		"maySetSeen":     has("s"),
		"maySetKeywords": has("w"),
		"mayCreateChild": has("k"),
		"mayRename":      has("x"),
		"mayDelete":      has("x"),
		"maySubmit":      has("p") || has("i"),
		"mayShare":       has("a"), // RFC 9670 sharing: may change shareWith
	}
}

func (c *call) mailboxObject(f *store.Folder, props []string) (map[string]any, error) {
	o := map[string]any{"id": jmap.FormatID('M', f.ID)}
	var unread *int64
	countUnread := func() (int64, error) {
		if unread != nil {
			return *unread, nil
		}
		items, err := c.s.o.Store.ListItems(c.ctx, f.ID, 1, 0)
		if err != nil {
			return 0, fmt.Errorf("items of folder %d: %w", f.ID, err)
		}
		var n int64
		for _, it := range items {
			if !slices.ContainsFunc(it.Flags, func(s string) bool { return strings.EqualFold(s, `\Seen`) }) {
				n++
			}
		}
		unread = &n
		return n, nil
	}
	for _, p := range props {
		switch p {
		case "name":
			o[p] = f.Name
		case "parentId":
			if f.ParentID == 0 {
				o[p] = nil
			} else {
				o[p] = jmap.FormatID('M', f.ParentID)
			}
		case "role":
			if r, ok := roles[f.Special]; ok {
				o[p] = r
			} else {
				o[p] = nil
			}
		case "sortOrder":
			o[p] = sortOrderOf(f)
		case "totalEmails", "totalThreads":
			o[p] = f.Messages
		case "unreadEmails", "unreadThreads":
			n, err := countUnread()
			if err != nil {
				return nil, err
			}
			o[p] = n
		case "myRights":
			r, err := c.s.o.Store.MyRights(c.ctx, f.ID)
			if err != nil {
				return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
			}
			o[p] = rightsObject(r)
		case "isSubscribed":
			o[p] = f.Subscribed
		case "shareWith":
			v, err := c.shareWithOf(f, shareMailbox)
			if err != nil {
				return nil, err
			}
			o[p] = v
		}
	}
	return o, nil
}

func mailboxGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, mailboxProperties); err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	folders, err := c.mailFolders(st)
	if err != nil {
		return nil, err
	}
	props := mailboxProperties
	if a.Properties != nil {
		props = *a.Properties
	}
	byID := map[string]*store.Folder{}
	for _, f := range folders {
		byID[jmap.FormatID('M', f.ID)] = f
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	var want []*store.Folder
	if a.IDs == nil {
		want = folders
	} else {
		for _, id := range *a.IDs {
			if f, ok := byID[id]; ok {
				want = append(want, f)
			} else {
				res.NotFound = append(res.NotFound, id)
			}
		}
	}
	for _, f := range want {
		o, err := c.mailboxObject(f, props)
		if err != nil {
			return nil, err
		}
		if pid, ok := o["parentId"].(string); ok && byID[pid] == nil {
			// In a shared account the parent may be a folder the user
			// cannot see: this one is then a top-level mailbox for it.
			o["parentId"] = nil
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

func mailboxChanges(c *call, raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	since, max, err := a.check()
	if err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	types, err := c.folderTypes(st)
	if err != nil {
		return nil, err
	}
	isMail := func(id int64) bool { t := types[id]; return t == "" || t == store.FolderMail }
	created, updated, destroyed, newState, more, err := c.journalDiff(st, since, max, func(ch store.Change) (string, store.ChangeKind) {
		if !isMail(ch.FolderID) {
			return "", ""
		}
		id := jmap.FormatID('M', ch.FolderID)
		switch ch.Kind {
		case store.ChangeFolderCreated, store.ChangeFolderUpdated, store.ChangeFolderDeleted:
			return id, ch.Kind
		}
		// An item change alters the counts: the mailbox is updated.
		return id, store.ChangeFolderUpdated
	})
	if err != nil {
		return nil, err
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: jmap.FormatState(newState),
		HasMoreChanges: more, Created: created, Updated: updated, Destroyed: destroyed}, nil
}

// Mailbox/query (RFC 8621 §2.3).
type mailboxFilter struct {
	Operator     string           `json:"operator"`
	Conditions   []mailboxFilter  `json:"conditions"`
	ParentID     *json.RawMessage `json:"parentId"`
	Name         *string          `json:"name"`
	Role         *json.RawMessage `json:"role"`
	HasAnyRole   *bool            `json:"hasAnyRole"`
	IsSubscribed *bool            `json:"isSubscribed"`
}

type comparator struct {
	Property    string `json:"property"`
	IsAscending *bool  `json:"isAscending"`
	Collation   string `json:"collation"`
	Keyword     string `json:"keyword"`
}

type queryArgs struct {
	AccountID       string          `json:"accountId"`
	Filter          json.RawMessage `json:"filter"`
	Sort            []comparator    `json:"sort"`
	Position        int             `json:"position"`
	Anchor          *string         `json:"anchor"`
	AnchorOffset    int             `json:"anchorOffset"`
	Limit           *int            `json:"limit"`
	CalculateTotal  bool            `json:"calculateTotal"`
	SortAsTree      bool            `json:"sortAsTree"`
	FilterAsTree    bool            `json:"filterAsTree"`
	CollapseThreads bool            `json:"collapseThreads"`
}

type queryResponse struct {
	AccountID           string   `json:"accountId"`
	QueryState          string   `json:"queryState"`
	CanCalculateChanges bool     `json:"canCalculateChanges"`
	Position            int      `json:"position"`
	IDs                 []string `json:"ids"`
	Total               *int     `json:"total,omitempty"`
	Limit               *int     `json:"limit,omitempty"`
}

func (f *mailboxFilter) match(mb *store.Folder) (bool, error) {
	switch f.Operator {
	case "AND", "OR", "NOT":
		for _, sub := range f.Conditions {
			ok, err := sub.match(mb)
			if err != nil {
				return false, err
			}
			switch {
			case f.Operator == "AND" && !ok:
				return false, nil
			case f.Operator == "OR" && ok:
				return true, nil
			case f.Operator == "NOT" && ok:
				return false, nil
			}
		}
		return f.Operator != "OR", nil
	case "":
	default:
		return false, jmap.Errorf(jmap.ErrUnsupportedFilter, "unknown operator %q", f.Operator)
	}
	if f.ParentID != nil {
		var pid *string
		if err := json.Unmarshal(*f.ParentID, &pid); err != nil {
			return false, jmap.Errorf(jmap.ErrInvalidArguments, "parentId must be an id or null")
		}
		want := int64(0)
		if pid != nil {
			n, ok := jmap.ParseID('M', *pid)
			if !ok {
				return false, nil
			}
			want = n
		}
		if mb.ParentID != want {
			return false, nil
		}
	}
	if f.Name != nil && !strings.Contains(strings.ToLower(mb.Name), strings.ToLower(*f.Name)) {
		return false, nil
	}
	role, hasRole := roles[mb.Special]
	if f.Role != nil {
		var r *string
		if err := json.Unmarshal(*f.Role, &r); err != nil {
			return false, jmap.Errorf(jmap.ErrInvalidArguments, "role must be a string or null")
		}
		if (r == nil && hasRole) || (r != nil && (!hasRole || role != *r)) {
			return false, nil
		}
	}
	if f.HasAnyRole != nil && *f.HasAnyRole != hasRole {
		return false, nil
	}
	if f.IsSubscribed != nil && *f.IsSubscribed != mb.Subscribed {
		return false, nil
	}
	return true, nil
}

func mailboxQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	ids, st, err := mailboxQueryIDs(c, a)
	if err != nil {
		return nil, err
	}
	return changeablePage(c, a, ids, st)
}

// mailboxQueryIDs runs a Mailbox/query and returns every matching id in
// order.
func mailboxQueryIDs(c *call, a queryArgs) ([]string, *store.Store, error) {
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, nil, err
	}
	var filter mailboxFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(a.Filter)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
	}
	folders, err := c.mailFolders(st)
	if err != nil {
		return nil, nil, err
	}
	var match []*store.Folder
	for _, f := range folders {
		ok, err := filter.match(f)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			match = append(match, f)
		}
	}
	for _, s := range a.Sort {
		if s.Property != "name" && s.Property != "sortOrder" {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort mailboxes by %q", s.Property)
		}
	}
	slices.SortStableFunc(match, func(x, y *store.Folder) int {
		for _, s := range a.Sort {
			var d int
			if s.Property == "name" {
				d = strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
			} else {
				d = sortOrderOf(x) - sortOrderOf(y)
			}
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
	ids := make([]string, len(match))
	for i, f := range match {
		ids[i] = jmap.FormatID('M', f.ID)
	}
	return ids, st, nil
}

// page applies position, anchor, anchorOffset and limit (RFC 8620 §5.5).
func page(c *call, a queryArgs, ids []string, state string) (any, error) {
	res := queryResponse{AccountID: a.AccountID, QueryState: state}
	if a.CalculateTotal {
		n := len(ids)
		res.Total = &n
	}
	if a.Limit != nil && *a.Limit < 0 {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "limit must not be negative")
	}
	start := a.Position
	if a.Anchor != nil {
		i := slices.Index(ids, *a.Anchor)
		if i < 0 {
			return nil, jmap.Errorf(jmap.ErrAnchorNotFound, "anchor %q is not in the results", *a.Anchor)
		}
		// Clamped first: a client's offset near the int limits must
		// not wrap around.
		start = max(i+min(max(a.AnchorOffset, -len(ids)), len(ids)), 0)
	} else if start < 0 {
		start = max(len(ids)+start, 0)
	}
	if start > len(ids) {
		start = len(ids)
	}
	end := len(ids)
	limit := 5000
	if a.Limit != nil && *a.Limit < limit {
		limit = *a.Limit
	}
	if end-start > limit {
		end = start + limit
		if a.Limit == nil || *a.Limit > limit {
			res.Limit = &limit
		}
	}
	res.Position = start
	res.IDs = append([]string{}, ids[start:end]...)
	return res, nil
}
