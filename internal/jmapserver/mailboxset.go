package jmapserver

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

type mailboxCreate struct {
	Name         string  `json:"name"`
	ParentID     *string `json:"parentId"`
	Role         *string `json:"role"`
	SortOrder    *int    `json:"sortOrder"`
	IsSubscribed *bool   `json:"isSubscribed"`
	ShareWith    any     `json:"shareWith"`
}

// mailboxSet is Mailbox/set (RFC 8621 §2.5) on the store's folders:
// create, rename/move, subscribe, destroy (a soft delete).
func mailboxSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	st, res, err := c.beginSet(&a)
	if err != nil {
		return nil, err
	}
	// Parents before children: a create may name another by "#key".
	pending := sortedKeys(a.Create)
	for len(pending) > 0 {
		var later []string
		for _, k := range pending {
			var m mailboxCreate
			dec := json.NewDecoder(bytes.NewReader(a.Create[k]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&m); err != nil {
				res.NotCreated[k] = invalidProps(err.Error())
				continue
			}
			if m.ParentID != nil && len(*m.ParentID) > 1 && (*m.ParentID)[0] == '#' {
				if _, done := c.created[(*m.ParentID)[1:]]; !done {
					if _, ok := a.Create[(*m.ParentID)[1:]]; ok && len(pending) > 1 {
						later = append(later, k)
						continue
					}
				}
			}
			f, err := c.createMailbox(st, &m)
			if err != nil {
				if err := notDone(res.NotCreated, k, err); err != nil {
					return nil, err
				}
				continue
			}
			id := jmap.FormatID('M', f.ID)
			c.created[k] = id
			rights := store.AllRights
			if c.isShared(st) {
				// In a shared account the new folder inherits its
				// parent's ACL: the user's rights are the store's to say.
				if rights, err = c.s.o.Store.MyRights(c.ctx, f.ID); err != nil {
					return nil, fmt.Errorf("rights on folder %d: %w", f.ID, err)
				}
			}
			res.Created[k] = map[string]any{"id": id, "sortOrder": sortOrderOf(f), "totalEmails": 0, "unreadEmails": 0,
				"totalThreads": 0, "unreadThreads": 0, "myRights": rightsObject(rights), "role": nil, "isSubscribed": f.Subscribed}
		}
		if len(later) == len(pending) {
			for _, k := range later {
				res.NotCreated[k] = invalidProps("parentId refers to a mailbox not created", "parentId")
			}
			break
		}
		pending = later
	}
	err = c.updateDestroy(&a, res, func(id string, patch map[string]any) error {
		return c.updateMailbox(st, id, patch)
	}, func(id string) error {
		return c.destroyMailbox(st, id, a.OnDestroyRemoveEmails)
	})
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

func (c *call) parentOf(st *store.Store, id *string) (int64, error) {
	if id == nil {
		return 0, nil
	}
	f, err := c.mailboxOf(st, *id)
	if err != nil {
		return 0, invalidProps("no parent mailbox "+*id, "parentId")
	}
	return f.ID, nil
}

func (c *call) createMailbox(st *store.Store, m *mailboxCreate) (*store.Folder, error) {
	if m.Name == "" || len(m.Name) > 255 {
		return nil, invalidProps("name must be 1 to 255 octets", "name")
	}
	if m.Role != nil {
		return nil, invalidProps("roles are the special folders'", "role")
	}
	parent, err := c.parentOf(st, m.ParentID)
	if err != nil {
		return nil, err
	}
	f, err := c.s.o.Store.CreateFolder(c.ctx, st.ID, parent, m.Name, store.FolderMail)
	if err != nil {
		return nil, err
	}
	if m.ShareWith != nil {
		if err := c.setShareWith(f, shareMailbox, "shareWith", m.ShareWith); err != nil {
			_ = c.s.o.Store.DeleteFolder(c.ctx, f.ID)
			return nil, err
		}
	}
	if m.IsSubscribed != nil && *m.IsSubscribed != f.Subscribed {
		if err := c.s.o.Store.SetSubscribed(c.ctx, f.ID, *m.IsSubscribed); err != nil {
			return nil, err
		}
		c.s.subscriptionsChanged(f.StoreID)
		f.Subscribed = *m.IsSubscribed
	}
	return f, nil
}

func (c *call) updateMailbox(st *store.Store, id string, patch map[string]any) error {
	f, err := c.mailboxOf(st, id)
	if err != nil {
		return err
	}
	name, parent := f.Name, f.ParentID
	rename := false
	for _, k := range sortedKeys(patch) {
		v := patch[k]
		if isShareWithKey(k) {
			if err := c.setShareWith(f, shareMailbox, k, v); err != nil {
				return err
			}
			continue
		}
		switch k {
		case "name":
			s, ok := v.(string)
			if !ok || s == "" || len(s) > 255 {
				return invalidProps("name must be 1 to 255 octets", "name")
			}
			name, rename = s, true
		case "parentId":
			var pid *string
			if v != nil {
				s, ok := v.(string)
				if !ok {
					return invalidProps("parentId must be an id or null", "parentId")
				}
				pid = &s
			}
			p, err := c.parentOf(st, pid)
			if err != nil {
				return err
			}
			parent, rename = p, true
		case "isSubscribed":
			on, ok := v.(bool)
			if !ok {
				return invalidProps("isSubscribed must be a boolean", "isSubscribed")
			}
			if err := c.s.o.Store.SetSubscribed(c.ctx, f.ID, on); err != nil {
				return err
			}
			c.s.subscriptionsChanged(f.StoreID)
		case "sortOrder":
			if n, ok := v.(float64); !ok || int(n) != sortOrderOf(f) {
				return invalidProps("sortOrder is fixed", "sortOrder")
			}
		case "role":
			r, isStr := v.(string)
			if (v == nil && roles[f.Special] != "") || (isStr && r != roles[f.Special]) || (v != nil && !isStr) {
				return invalidProps("roles are the special folders'", "role")
			}
		default:
			return invalidProps("cannot change "+k, k)
		}
	}
	if rename && (name != f.Name || parent != f.ParentID) {
		if _, err := c.s.o.Store.RenameFolder(c.ctx, f.ID, parent, name); err != nil {
			return err
		}
	}
	return nil
}

func (c *call) destroyMailbox(st *store.Store, id string, removeEmails bool) error {
	f, err := c.mailboxOf(st, id)
	if err != nil {
		return err
	}
	all, err := c.s.o.Store.ListFolders(c.ctx, st.ID)
	if err != nil {
		return err
	}
	for _, x := range all {
		if x.ParentID == f.ID && !x.Deleted {
			return &jmap.SetError{Type: jmap.SetMailboxHasChild}
		}
	}
	if f.Messages > 0 && !removeEmails {
		return &jmap.SetError{Type: jmap.SetMailboxHasEmail}
	}
	// The folder and its messages are soft-deleted together.
	return c.s.o.Store.DeleteFolder(c.ctx, f.ID)
}

// subscriptionsChanged wakes IMAP NOTIFY sessions of the store: a
// subscription is not a journal entry, so a wake-up without a journal
// position (Seq 0) tells them to compare subscriptions.
func (s *Server) subscriptionsChanged(storeID int64) {
	if s.o.Hub != nil {
		s.o.Hub.Publish(storeID, 0)
	}
}
