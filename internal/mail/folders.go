package mail

import (
	"context"
	"fmt"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Folder names in Sieve fileinto are IMAP names: "/" separates levels and
// "INBOX" (any case) is the Inbox, as in internal/imapserver.
const folderDelim = "/"

// maxFolderDepth bounds a fileinto :create path.
const maxFolderDepth = 16

type folderList []*store.Folder

func (fl folderList) special(role string) *store.Folder {
	for _, f := range fl {
		if f.Special == role && !f.Deleted {
			return f
		}
	}
	return nil
}

func (fl folderList) child(parent int64, name string) *store.Folder {
	var fold *store.Folder
	for _, f := range fl {
		if f.Deleted || f.ParentID != parent || f.Type != store.FolderMail {
			continue
		}
		if f.Name == name {
			return f
		}
		if fold == nil && strings.EqualFold(f.Name, name) {
			fold = f
		}
	}
	return fold
}

// lookup finds a mail folder by IMAP name; nil when it does not exist.
func (fl folderList) lookup(name string) *store.Folder {
	parts := strings.Split(strings.Trim(name, folderDelim), folderDelim)
	var cur *store.Folder
	for i, p := range parts {
		if i == 0 && strings.EqualFold(p, "INBOX") {
			cur = fl.special(store.SpecialInbox)
			if cur == nil {
				return nil
			}
			continue
		}
		var parent int64
		if cur != nil {
			parent = cur.ID
		}
		next := fl.child(parent, p)
		if next == nil && i == 0 && len(parts) == 1 {
			// A script written for English folder names still finds
			// localised special folders ("Junk" is "Spam" in de_DE).
			if role, ok := roleNames[strings.ToLower(p)]; ok {
				next = fl.special(role)
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// roleNames are the English names of special-use folders.
var roleNames = map[string]string{
	"junk": store.SpecialJunk, "spam": store.SpecialJunk, "sent": store.SpecialSent,
	"trash": store.SpecialTrash, "drafts": store.SpecialDrafts, "archive": store.SpecialArchive,
}

// create makes the folders of an IMAP name that do not exist yet and
// returns the last one.
func (d *Deliverer) createPath(ctx context.Context, storeID int64, fl *folderList, name string) (*store.Folder, error) {
	parts := strings.Split(strings.Trim(name, folderDelim), folderDelim)
	if len(parts) > maxFolderDepth {
		return nil, fmt.Errorf("folder %q is nested too deep", name)
	}
	var cur *store.Folder
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("folder %q has an empty level", name)
		}
		if i == 0 && strings.EqualFold(p, "INBOX") {
			cur = fl.special(store.SpecialInbox)
			if cur == nil {
				return nil, fmt.Errorf("no Inbox")
			}
			continue
		}
		var parent int64
		if cur != nil {
			parent = cur.ID
		}
		next := fl.child(parent, p)
		if next == nil {
			f, err := d.Store.CreateFolder(ctx, storeID, parent, p, store.FolderMail)
			if err != nil {
				return nil, fmt.Errorf("create folder %q: %w", name, err)
			}
			*fl = append(*fl, f)
			next = f
		}
		cur = next
	}
	if cur == nil {
		return nil, fmt.Errorf("empty folder name")
	}
	return cur, nil
}
