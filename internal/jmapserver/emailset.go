package jmapserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// emailSet is Email/set (RFC 8621 §4.6): keywords, mailbox moves,
// destroy (a soft delete, as IMAP EXPUNGE makes) and create from parts.
func emailSet(c *call, raw json.RawMessage) (any, error) {
	var a setArgs
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	st, res, err := c.beginSet(&a)
	if err != nil {
		return nil, err
	}
	err = setEach(sortedKeys(a.Create), res.NotCreated, func(k string) error {
		obj, err := c.createEmail(st, a.Create[k])
		if err != nil {
			return err
		}
		c.created[k] = obj["id"].(string)
		res.Created[k] = obj
		return nil
	})
	if err == nil {
		err = c.updateDestroy(&a, res, func(id string, patch map[string]any) error {
			return c.updateEmail(st, id, patch)
		}, func(id string) error {
			it, err := c.emailItem(st, id)
			if err != nil {
				return err
			}
			_, err = c.s.o.Store.DeleteItems(c.ctx, it.FolderID, []uint32{it.UID})
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return c.finishSet(st, res)
}

func (c *call) emailItem(st *store.Store, id string) (*store.Item, error) {
	n, ok := jmap.ParseID('E', id)
	if !ok {
		return nil, fmt.Errorf("email %q: %w", id, store.ErrNotFound)
	}
	return c.s.itemOf(c.ctx, st.ID, n)
}

// mailboxOf resolves a mailbox id of the account to a live mail folder.
func (c *call) mailboxOf(st *store.Store, id string) (*store.Folder, error) {
	n, ok := jmap.ParseID('M', c.resolveID(id))
	if !ok {
		return nil, fmt.Errorf("mailbox %q: %w", id, store.ErrNotFound)
	}
	f, err := c.s.o.Store.GetFolder(c.ctx, n)
	if err != nil {
		return nil, err
	}
	if f.StoreID != st.ID || !isMailFolder(f) {
		return nil, fmt.Errorf("mailbox %q: %w", id, store.ErrNotFound)
	}
	return f, nil
}

func (c *call) updateEmail(st *store.Store, id string, patch map[string]any) error {
	it, err := c.emailItem(st, id)
	if err != nil {
		return err
	}
	var add, remove []string
	var replace *[]string
	mailboxes := map[string]bool{jmap.FormatID('M', it.FolderID): true}
	for path, v := range patch {
		switch {
		case path == "keywords":
			m, ok := v.(map[string]any)
			if !ok {
				return invalidProps("keywords must be an object", path)
			}
			flags := []string{}
			for k, on := range m {
				if on != true || !validKeyword(k) {
					return invalidProps("bad keyword "+k, path)
				}
				flags = append(flags, flagOf(k))
			}
			// \Deleted has no keyword: keep it as it is.
			if slices.ContainsFunc(it.Flags, func(f string) bool { return strings.EqualFold(f, `\Deleted`) }) {
				flags = append(flags, `\Deleted`)
			}
			replace = &flags
		case strings.HasPrefix(path, "keywords/"):
			k := path[len("keywords/"):]
			if !validKeyword(k) {
				return invalidProps("bad keyword "+k, path)
			}
			switch v {
			case true:
				add = append(add, flagOf(k))
			case nil:
				remove = append(remove, flagOf(k))
			default:
				return invalidProps("a keyword patch is true or null", path)
			}
		case path == "mailboxIds":
			m, ok := v.(map[string]any)
			if !ok {
				return invalidProps("mailboxIds must be an object", path)
			}
			mailboxes = map[string]bool{}
			for k, on := range m {
				if on != true {
					return invalidProps("mailboxIds values are true", path)
				}
				mailboxes[c.resolveID(k)] = true
			}
		case strings.HasPrefix(path, "mailboxIds/"):
			k := c.resolveID(path[len("mailboxIds/"):])
			switch v {
			case true:
				mailboxes[k] = true
			case nil:
				delete(mailboxes, k)
			default:
				return invalidProps("a mailboxIds patch is true or null", path)
			}
		default:
			return invalidProps("cannot change "+path, path)
		}
	}
	if (replace != nil && (add != nil || remove != nil)) || len(mailboxes) == 0 {
		return invalidProps("conflicting or empty patch", "keywords", "mailboxIds")
	}
	if len(mailboxes) > 1 {
		// An item lives in one folder (maxMailboxesPerEmail 1).
		return &jmap.SetError{Type: jmap.SetTooManyMailboxes, Description: "an email is in exactly one mailbox"}
	}
	var dest *store.Folder
	for id := range mailboxes {
		if id != jmap.FormatID('M', it.FolderID) {
			f, err := c.mailboxOf(st, id)
			if err != nil {
				return invalidProps("no mailbox "+id, "mailboxIds")
			}
			dest = f
		}
	}
	if replace != nil {
		if _, err := c.s.o.Store.UpdateFlags(c.ctx, it.FolderID, []uint32{it.UID}, store.FlagsReplace, *replace); err != nil {
			return err
		}
	}
	if add != nil {
		if _, err := c.s.o.Store.UpdateFlags(c.ctx, it.FolderID, []uint32{it.UID}, store.FlagsAdd, add); err != nil {
			return err
		}
	}
	if remove != nil {
		if _, err := c.s.o.Store.UpdateFlags(c.ctx, it.FolderID, []uint32{it.UID}, store.FlagsRemove, remove); err != nil {
			return err
		}
	}
	if dest != nil {
		if _, err := c.s.o.Store.MoveItems(c.ctx, it.FolderID, []uint32{it.UID}, dest.ID); err != nil {
			return err
		}
	}
	return nil
}
