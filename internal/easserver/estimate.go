package easserver

import (
	"strconv"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

func ge(name, v string) *wbxml.Node { return wbxml.Str(eas.GetItemEstimate, name, v) }

// getItemEstimate is GetItemEstimate ([MS-ASCMD] §2.2.1.9): how many
// changes a Sync of each collection would bring.
func getItemEstimate(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.GetItemEstimate, "GetItemEstimate")
	cols := req.Child("Collections").All("Collection")
	if len(cols) == 0 || len(cols) > maxCollections {
		return resp.Add(wbxml.El(eas.GetItemEstimate, "Response", ge("Status", "2"))), nil
	}
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return nil, err
	}
	for _, col := range cols {
		id := col.ChildText("CollectionId")
		r := wbxml.El(eas.GetItemEstimate, "Response")
		resp.Add(r)
		f, err := c.folder(id)
		if err != nil {
			return nil, err
		}
		if f == nil || !served(f) {
			r.Add(ge("Status", "2"))
			continue
		}
		key := col.ChildText("SyncKey")
		if key == "0" || key == "" {
			r.Add(ge("Status", "3"))
			continue
		}
		k, ok := parseSyncKey(key)
		if !ok || k.uv != f.UIDValidity || k.seq > st.ModSeq || k.bound > f.UIDNext {
			r.Add(ge("Status", "4"))
			continue
		}
		n, err := c.estimate(f, k)
		if err != nil {
			return nil, err
		}
		r.Add(ge("Status", "1"), wbxml.El(eas.GetItemEstimate, "Collection", ge("CollectionId", id), ge("Estimate", strconv.Itoa(n))))
	}
	return resp, nil
}

// estimate counts the items still to load and the items the journal
// changed since k (bounded by the journal scan).
func (c *call) estimate(f *store.Folder, k syncKey) (int, error) {
	n := 0
	if k.loading() {
		if k.cursor == 0 {
			n = int(f.Messages)
		} else {
			for from := k.cursor + 1; ; {
				items, err := c.s.o.Store.ListItems(c.ctx, f.ID, from, 1000)
				if err != nil {
					return 0, err
				}
				for _, it := range items {
					if it.UID < k.bound {
						n++
					}
				}
				if len(items) < 1000 || items[len(items)-1].UID >= k.bound {
					break
				}
				from = items[len(items)-1].UID + 1
			}
		}
	}
	seen := map[uint32]bool{}
	since := k.seq
	for scanned := 0; scanned < maxJournalScan; {
		cs, err := c.s.o.Store.Changes(c.ctx, c.st.ID, since, journalPage)
		if err != nil {
			return 0, err
		}
		for _, ch := range cs {
			since = ch.Seq
			if ch.FolderID == f.ID && ch.ItemID != 0 && !seen[ch.UID] && !(k.loading() && ch.UID < k.bound) {
				seen[ch.UID] = true
				n++
			}
		}
		scanned += len(cs)
		if len(cs) < journalPage {
			break
		}
	}
	return n, nil
}
