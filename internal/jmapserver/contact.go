package jmapserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/proto/jscalendar"
	"github.com/roost-mail/roost/internal/proto/jscontact"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// JMAP for Contacts (RFC 9610) on the address books CardDAV serves.

var addressBookProperties = []string{"id", "name", "description", "sortOrder", "isDefault", "isSubscribed", "shareWith", "myRights"}

func (c *call) addressBookObject(f *store.Folder, props []string) (map[string]any, error) {
	o := map[string]any{"id": jmap.FormatID('B', f.ID)}
	var fp map[string]string
	if slices.Contains(props, "description") || slices.Contains(props, "sortOrder") {
		m, err := c.s.o.Store.FolderProps(c.ctx, f.ID)
		if err != nil {
			return nil, fmt.Errorf("properties of folder %d: %w", f.ID, err)
		}
		fp = m
	}
	for _, p := range props {
		switch p {
		case "name":
			o[p] = f.Name
		case "description":
			if v := fromXMLText(fp[propAbDesc]); v != "" {
				o[p] = v
			} else {
				o[p] = nil
			}
		case "sortOrder":
			n, _ := strconv.Atoi(fromXMLText(fp[propOrder]))
			o[p] = n
		case "isDefault":
			o[p] = f.Special == store.SpecialContacts
		case "isSubscribed":
			o[p] = true
		case "shareWith":
			v, err := c.shareWithOf(f, shareAddressBook)
			if err != nil {
				return nil, err
			}
			o[p] = v
		case "myRights":
			r, err := c.s.o.Store.MyRights(c.ctx, f.ID)
			if err != nil {
				return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
			}
			has := rightsOf(r)
			o[p] = map[string]bool{"mayRead": has("lr"), "mayWrite": has("itew"), "mayShare": has("a"),
				"mayDelete": has("x") && f.Special == ""}
		}
	}
	return o, nil
}

func addressBookGet(c *call, raw json.RawMessage) (any, error) {
	return c.folderGet(raw, &addressBookCollection, addressBookProperties, c.addressBookObject)
}

func addressBookChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, true, 'B', func(t store.FolderType) bool { return t == store.FolderContacts })
}

func addressBookSet(c *call, raw json.RawMessage) (any, error) {
	return c.folderSet(raw, &addressBookCollection, c.addressBookObject)
}

// card is a stored vCard with its JSContact form.
type card struct {
	f    *store.Folder
	it   *store.Item
	body []byte
	vc   *vcard.Card
	js   jscontact.Card
}

func (c *call) loadCard(f *store.Folder, it *store.Item) (*card, error) {
	body, err := c.readObject(it)
	if err != nil {
		return nil, err
	}
	cs, err := vcard.Decode(body, vcard.Limits{MaxBytes: maxObjectBytes})
	if err != nil || len(cs) != 1 {
		c.s.log.Warn("JMAP: vCard not converted", "folder", f.ID, "name", it.Name, "err", err)
		return nil, nil
	}
	return &card{f: f, it: it, body: body, vc: cs[0], js: jscontact.Normalize(jscontact.FromVCard(cs[0]))}, nil
}

func cardObject(k *card) map[string]any {
	o := make(map[string]any, len(k.js)+2)
	for key, v := range k.js {
		o[key] = v
	}
	o["id"] = objectID('K', k.f.ID, k.it.Name)
	o["addressBookIds"] = map[string]bool{jmap.FormatID('B', k.f.ID): true}
	return o
}

func contactCardGet(c *call, raw json.RawMessage) (any, error) {
	var a getArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a, nil); err != nil {
		return nil, err
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, State: jmap.FormatState(st.ModSeq), List: []any{}, NotFound: []string{}}
	add := func(k *card) {
		o := cardObject(k)
		if a.Properties != nil {
			for key := range o {
				if key != "id" && !slices.Contains(*a.Properties, key) {
					delete(o, key)
				}
			}
		}
		res.List = append(res.List, o)
	}
	if a.IDs == nil {
		cards, err := c.allCards(st, c.s.o.MaxObjectsInGet, "more than %d cards: ask by ids")
		if err != nil {
			return nil, err
		}
		for _, k := range cards {
			add(k)
		}
		return res, nil
	}
	for _, id := range *a.IDs {
		ref, ok := parseObjectID('K', id)
		if !ok || ref.rid != "" {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		f, it, err := c.findObject(st, ref, isAddressBookFolder)
		if errors.Is(err, store.ErrNotFound) {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		k, err := c.loadCard(f, it)
		if err != nil {
			return nil, err
		}
		if k == nil {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		add(k)
	}
	return res, nil
}

// allCards loads every card of the account, at most max (else
// requestTooLarge with the message tooMany).
func (c *call) allCards(st *store.Store, max int, tooMany string) ([]*card, error) {
	folders, err := c.groupwareFolders(st, false)
	if err != nil {
		return nil, err
	}
	var out []*card
	n := 0
	for _, f := range folders {
		items, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{})
		if err != nil {
			return nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
		}
		if n += len(items); n > max {
			return nil, jmap.Errorf(jmap.ErrRequestTooLarge, tooMany, max)
		}
		for _, it := range items {
			if it.Name == "" {
				continue
			}
			k, err := c.loadCard(f, it)
			if err != nil {
				return nil, err
			}
			if k != nil {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

func contactCardChanges(c *call, raw json.RawMessage) (any, error) {
	return c.groupwareChanges(raw, false, 'K', func(t store.FolderType) bool { return t == store.FolderContacts })
}

// cardFilter is RFC 9610 §3.3's FilterCondition (the parts Roost
// supports) and FilterOperator.
type cardFilter struct {
	Operator   string       `json:"operator"`
	Conditions []cardFilter `json:"conditions"`

	InAddressBook *string `json:"inAddressBook"`
	UID           *string `json:"uid"`
	HasMember     *string `json:"hasMember"`
	Kind          *string `json:"kind"`
	Text          *string `json:"text"`
	Name          *string `json:"name"`
	NameGiven     *string `json:"name/given"`
	NameSurname   *string `json:"name/surname"`
	Nickname      *string `json:"nickName"`
	Organization  *string `json:"organization"`
	Email         *string `json:"email"`
	Phone         *string `json:"phone"`
	OnlineService *string `json:"onlineService"`
	Address       *string `json:"address"`
	Note          *string `json:"note"`
}

func (f *cardFilter) check(depth int, terms *int) error {
	if depth > 16 {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "filter nested too deep")
	}
	if *terms++; *terms > 1000 {
		return jmap.Errorf(jmap.ErrUnsupportedFilter, "too many filter conditions")
	}
	switch f.Operator {
	case "":
		return nil
	case "AND", "OR", "NOT":
		for i := range f.Conditions {
			if err := f.Conditions[i].check(depth+1, terms); err != nil {
				return err
			}
		}
		return nil
	}
	return jmap.Errorf(jmap.ErrUnsupportedFilter, "unknown operator %q", f.Operator)
}

func nameComponents(o map[string]any, kind string) string {
	name, _ := o["name"].(map[string]any)
	comps, _ := name["components"].([]any)
	var out []string
	for _, x := range comps {
		if m, ok := x.(map[string]any); ok && m["kind"] == kind {
			s, _ := m["value"].(string)
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

func (f *cardFilter) match(o map[string]any, abID string) bool {
	switch f.Operator {
	case "AND", "OR", "NOT":
		for i := range f.Conditions {
			m := f.Conditions[i].match(o, abID)
			switch {
			case f.Operator == "AND" && !m:
				return false
			case f.Operator == "OR" && m:
				return true
			case f.Operator == "NOT" && m:
				return false
			}
		}
		return f.Operator != "OR"
	}
	if f.InAddressBook != nil && *f.InAddressBook != abID {
		return false
	}
	if f.UID != nil && o["uid"] != *f.UID {
		return false
	}
	if f.Kind != nil {
		k, _ := o["kind"].(string)
		if k == "" {
			k = "individual"
		}
		if k != *f.Kind {
			return false
		}
	}
	if f.HasMember != nil {
		m, _ := o["members"].(map[string]any)
		if m[*f.HasMember] != true {
			return false
		}
	}
	str := func(p *string, keys ...string) bool { return p == nil || containsFold(jsText(o, keys...), *p) }
	if !str(f.Text, "name", "nicknames", "organizations", "emails", "phones", "onlineServices", "addresses", "notes") ||
		!str(f.Name, "name") || !str(f.Nickname, "nicknames") || !str(f.Organization, "organizations") ||
		!str(f.Email, "emails") || !str(f.Phone, "phones") || !str(f.OnlineService, "onlineServices") ||
		!str(f.Address, "addresses") || !str(f.Note, "notes") {
		return false
	}
	if f.NameGiven != nil && !containsFold(nameComponents(o, "given"), *f.NameGiven) {
		return false
	}
	if f.NameSurname != nil && !containsFold(nameComponents(o, "surname"), *f.NameSurname) {
		return false
	}
	return true
}

var cardSorts = []string{"created", "updated", "name/given", "name/surname", "name/surname2"}

func contactCardQuery(c *call, raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	ids, st, err := c.cardQueryIDs(a.AccountID, a.Filter, a.Sort)
	if err != nil {
		return nil, err
	}
	return pageChanges(c, a, ids, st)
}

// cardQueryIDs runs a ContactCard/query: every matching id, sorted.
func (c *call) cardQueryIDs(accountID string, rawFilter json.RawMessage, sorts []comparator) ([]string, *store.Store, error) {
	a := struct {
		AccountID string
		Filter    json.RawMessage
		Sort      []comparator
	}{accountID, rawFilter, sorts}
	var filter cardFilter
	if len(a.Filter) > 0 && string(a.Filter) != "null" {
		dec := json.NewDecoder(bytes.NewReader(a.Filter))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&filter); err != nil {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedFilter, "%v", err)
		}
		terms := 0
		if err := filter.check(0, &terms); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range a.Sort {
		if !slices.Contains(cardSorts, s.Property) {
			return nil, nil, jmap.Errorf(jmap.ErrUnsupportedSort, "cannot sort cards by %q", s.Property)
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, nil, err
	}
	cards, err := c.allCards(st, maxGroupwareObjects, "more than %d cards to search")
	if err != nil {
		return nil, nil, err
	}
	type hit struct {
		id   string
		keys []string
	}
	var hits []hit
	for _, k := range cards {
		o := cardObject(k)
		if !filter.match(o, jmap.FormatID('B', k.f.ID)) {
			continue
		}
		h := hit{id: o["id"].(string)}
		for _, s := range a.Sort {
			switch s.Property {
			case "created", "updated":
				v, _ := o[s.Property].(string)
				h.keys = append(h.keys, v)
			default:
				h.keys = append(h.keys, strings.ToLower(nameComponents(o, strings.TrimPrefix(s.Property, "name/"))))
			}
		}
		hits = append(hits, h)
	}
	slices.SortStableFunc(hits, func(x, y hit) int {
		for i, s := range a.Sort {
			d := strings.Compare(x.keys[i], y.keys[i])
			if s.IsAscending != nil && !*s.IsAscending {
				d = -d
			}
			if d != 0 {
				return d
			}
		}
		return strings.Compare(x.id, y.id)
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return ids, st, nil
}

func (c *call) addressBookIDOf(st *store.Store, v any) (*store.Folder, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return nil, invalidProps("addressBookIds must name exactly one address book", "addressBookIds")
	}
	for k, on := range m {
		n, ok := jmap.ParseID('B', c.resolveID(k))
		if !ok || on != true {
			return nil, invalidProps("no such address book", "addressBookIds")
		}
		f, err := c.folderOf(st, n, isAddressBookFolder)
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalidProps("no such address book", "addressBookIds")
		}
		return f, err
	}
	return nil, invalidProps("addressBookIds must name exactly one address book", "addressBookIds")
}

// writeCard stores a converted vCard (new when old is nil).
func (c *call) writeCard(f *store.Folder, old *store.Item, vc *vcard.Card) (*store.Item, error) {
	body, err := vcard.Marshal(vc)
	if err != nil {
		return nil, invalidProps(err.Error())
	}
	if len(body) > maxObjectBytes {
		return nil, &jmap.SetError{Type: jmap.SetTooLarge}
	}
	uid := vc.UID()
	others, err := c.s.o.Store.ListObjects(c.ctx, f.ID, store.ObjectQuery{ObjectUID: uid, Limit: 2})
	if err != nil {
		return nil, fmt.Errorf("objects of folder %d: %w", f.ID, err)
	}
	for _, o := range others {
		if old == nil || o.ID != old.ID {
			return nil, &jmap.SetError{Type: jmap.SetAlreadyExists, Description: "another card of this address book has this uid",
				Properties: []string{"uid"}}
		}
	}
	ni := store.NewItem{Content: bytes.NewReader(body), ObjectUID: uid, InternalDate: c.s.o.Now()}
	if old != nil {
		return c.s.o.Store.ReplaceItem(c.ctx, old.ID, ni)
	}
	ni.Name = objectName(uid, ".vcf")
	it, err := c.s.o.Store.AppendItem(c.ctx, f.ID, ni)
	if errors.Is(err, store.ErrConflict) {
		ni.Name = objectName(fmt.Sprintf("%s-%d", uid, c.s.o.Now().UnixNano()), ".vcf")
		ni.Content = bytes.NewReader(body)
		it, err = c.s.o.Store.AppendItem(c.ctx, f.ID, ni)
	}
	return it, err
}

func jscontactError(err error) error {
	var pe *jscontact.PropError
	if errors.As(err, &pe) {
		return invalidProps(pe.Msg, pe.Prop)
	}
	return err
}

func contactCardSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	st, res, err := c.beginSet(&a)
	if err != nil {
		return nil, err
	}
	now := c.s.o.Now()
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		var o map[string]any
		if err := json.Unmarshal(a.Create[k], &o); err != nil || o == nil {
			return invalidProps("not an object")
		}
		f, err := c.addressBookIDOf(st, o["addressBookIds"])
		if err != nil {
			return err
		}
		if o["id"] != nil {
			return invalidProps("set by the server", "id")
		}
		delete(o, "addressBookIds")
		delete(o, "id")
		if _, ok := o["@type"]; !ok {
			o["@type"] = "Card"
		}
		if _, ok := o["uid"]; !ok {
			o["uid"] = "urn:uuid:" + newUID(now)
		}
		vc, err := jscontact.ToVCard(o, "4.0")
		if err != nil {
			return jscontactError(err)
		}
		it, err := c.writeCard(f, nil, vc)
		if err != nil {
			return err
		}
		id := objectID('K', f.ID, it.Name)
		c.created[k] = id
		res.Created[k] = map[string]any{"id": id, "uid": o["uid"]}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.updateDestroy(&a, res, func(id string, patch map[string]any) error {
		ref, ok := parseObjectID('K', id)
		if !ok {
			return store.ErrNotFound
		}
		f, it, err := c.findObject(st, ref, isAddressBookFolder)
		if err != nil {
			return err
		}
		k, err := c.loadCard(f, it)
		if err != nil {
			return err
		}
		if k == nil {
			return &jmap.SetError{Type: jmap.SetInvalidProperties, Description: "the stored vCard cannot be converted"}
		}
		o, err := jsonCopy(k.js)
		if err != nil {
			return err
		}
		for _, p := range sortedKeys(patch) {
			v := patch[p]
			root, _, _ := strings.Cut(p, "/")
			switch root {
			case "addressBookIds":
				want, _ := v.(map[string]any)
				if p != "addressBookIds" || len(want) != 1 || want[jmap.FormatID('B', f.ID)] != true {
					return invalidProps("a card cannot move to another address book", "addressBookIds")
				}
				continue
			case "id":
				continue
			case "uid":
				if v != o["uid"] {
					return invalidProps("the uid cannot change", "uid")
				}
			}
			if err := jscalendar.ApplyPatch(o, p, v); err != nil {
				return &jmap.SetError{Type: jmap.SetInvalidPatch, Description: err.Error()}
			}
		}
		vc, err := jscontact.ToVCard(o, k.vc.Version())
		if err != nil {
			return jscontactError(err)
		}
		_, err = c.writeCard(f, it, jscontact.Merge(k.vc, vc))
		return err
	}, func(id string) error {
		ref, ok := parseObjectID('K', id)
		if !ok {
			return store.ErrNotFound
		}
		f, it, err := c.findObject(st, ref, isAddressBookFolder)
		if err != nil {
			return err
		}
		_, err = c.s.o.Store.DeleteItems(c.ctx, f.ID, []uint32{it.UID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

// contactCardQueryChanges is RFC 8620 §5.6 for ContactCard/query.
func contactCardQueryChanges(c *call, raw json.RawMessage) (any, error) {
	var a queryChangesArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	return c.queryChanges(&a, 'K', func(t store.FolderType) bool { return t == store.FolderContacts },
		func() ([]string, *store.Store, error) { return c.cardQueryIDs(a.AccountID, a.Filter, a.Sort) })
}
