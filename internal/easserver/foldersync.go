package easserver

import (
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// FolderSync statuses ([MS-ASCMD] §2.2.3.177.5).
const (
	fsOK         = "1"
	fsServerErr  = "6"
	fsBadKey     = "9"
	fsBadRequest = "10"
)

// maxJournalScan bounds the journal entries one FolderSync or Sync
// reads; a longer backlog is worked through by the next request.
const maxJournalScan = 20000

// journalPage is how many entries one read of the journal takes.
const journalPage = 2000

// folderType maps a folder to its EAS type ([MS-ASCMD] §2.2.3.186.3).
func folderType(f *store.Folder) string {
	switch f.Special {
	case store.SpecialInbox:
		return "2"
	case store.SpecialDrafts:
		return "3"
	case store.SpecialTrash:
		return "4"
	case store.SpecialSent:
		return "5"
	case store.SpecialOutbox:
		return "6"
	case store.SpecialContacts:
		return "9"
	case store.SpecialCalendar:
		return "8"
	case store.SpecialTasks:
		return "7"
	case store.SpecialNotes:
		return "10"
	}
	switch f.Type {
	case store.FolderContacts:
		return "14" // a user-created contacts folder
	case store.FolderCalendar:
		return "13"
	case store.FolderTasks:
		return "15"
	case store.FolderNotes:
		return "17"
	}
	return "12" // a user-created mail folder
}

// served tells whether a folder is offered to devices: every kind Roost
// keeps (mail, contacts, calendars, tasks, notes), except the CalDAV
// schedule inbox (a notes folder of the scheduler's).
func served(f *store.Folder) bool {
	if groupware.IsScheduleInbox(f) {
		return false
	}
	switch f.Type {
	case store.FolderMail, store.FolderContacts, store.FolderCalendar, store.FolderTasks, store.FolderNotes:
		return !f.Deleted
	}
	return false
}

// class is the EAS class of a folder's items.
func class(f *store.Folder) string {
	switch f.Type {
	case store.FolderContacts:
		return "Contacts"
	case store.FolderCalendar:
		return "Calendar"
	case store.FolderTasks:
		return "Tasks"
	case store.FolderNotes:
		return "Notes"
	}
	return "Email"
}

func fh(name, v string) *wbxml.Node { return wbxml.Str(eas.FolderHierarchy, name, v) }

func folderEntry(verb string, f *store.Folder) *wbxml.Node {
	return wbxml.El(eas.FolderHierarchy, verb, fh("ServerId", strconv.FormatInt(f.ID, 10)),
		fh("ParentId", strconv.FormatInt(f.ParentID, 10)), fh("DisplayName", f.Name), fh("Type", folderType(f)))
}

// folderSync is FolderSync ([MS-ASCMD] §2.2.1.5): with SyncKey 0 every
// folder, else the folder entries of the journal since the key's
// position. The key is "F" and that position.
func folderSync(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.FolderHierarchy, "FolderSync")
	if req == nil || req.Child("SyncKey") == nil {
		return resp.Add(fh("Status", fsBadRequest)), nil
	}
	key := req.ChildText("SyncKey")
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return nil, err
	}
	changes := wbxml.El(eas.FolderHierarchy, "Changes")
	count := 0
	next := st.ModSeq
	if key == "0" {
		fs, err := c.s.o.Store.ListFolders(c.ctx, c.st.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if served(f) {
				changes.Add(folderEntry("Add", f))
				count++
			}
		}
	} else {
		since, ok := parseFolderKey(key)
		if !ok || since > st.ModSeq {
			return resp.Add(fh("Status", fsBadKey)), nil
		}
		type fc struct {
			created, deleted bool
		}
		order := []int64{}
		seen := map[int64]*fc{}
		next = since
		for scanned := 0; scanned < maxJournalScan; {
			cs, err := c.s.o.Store.Changes(c.ctx, c.st.ID, next, journalPage)
			if err != nil {
				return nil, err
			}
			for _, ch := range cs {
				next = ch.Seq
				if ch.ItemID != 0 || ch.FolderID == 0 {
					continue // an item's, or the store's own (no folder)
				}
				e := seen[ch.FolderID]
				if e == nil {
					e = &fc{}
					seen[ch.FolderID] = e
					order = append(order, ch.FolderID)
				}
				switch ch.Kind {
				case store.ChangeFolderCreated:
					e.created, e.deleted = true, false
				case store.ChangeFolderDeleted:
					e.deleted = true
				}
			}
			scanned += len(cs)
			if len(cs) < journalPage {
				break
			}
		}
		for _, id := range order {
			e := seen[id]
			var f *store.Folder
			if !e.deleted {
				f, err = c.s.o.Store.GetFolder(c.ctx, id)
				if err != nil && !notFound(err) {
					return nil, err
				}
				if f != nil && (f.StoreID != c.st.ID || !served(f)) {
					if !f.Deleted && f.StoreID == c.st.ID {
						continue // not a mail folder: never offered
					}
					f = nil
				}
			}
			switch {
			case f == nil && e.created:
				// created and gone in the same span: the device never knew it
			case f == nil:
				changes.Add(wbxml.El(eas.FolderHierarchy, "Delete", fh("ServerId", strconv.FormatInt(id, 10))))
				count++
			case e.created:
				changes.Add(folderEntry("Add", f))
				count++
			default:
				changes.Add(folderEntry("Update", f))
				count++
			}
		}
	}
	changes.Children = append([]*wbxml.Node{fh("Count", strconv.Itoa(count))}, changes.Children...)
	return resp.Add(fh("Status", fsOK), fh("SyncKey", "F"+strconv.FormatUint(next, 10)), changes), nil
}

func parseFolderKey(k string) (uint64, bool) {
	s, ok := strings.CutPrefix(k, "F")
	if !ok || len(s) > 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
