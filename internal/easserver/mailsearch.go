package easserver

import (
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/wbxml"
	fts "github.com/roost-mail/roost/internal/search"
	"github.com/roost-mail/roost/internal/store"
)

// Mailbox search (Search with Store Name=Mailbox, and Find) through the
// full-text index (Options.SearchIndex, docs/search.md).
//
// Each free-text string is looked up in the index once per folder
// (fts.LookupKey over the text fields: addresses, subject, body,
// attachment text); the answer comes with the index's position in the
// store's journal. A message whose MODSEQ is at or below that position
// is answered from the lookup; a newer one (the unindexed tail: just
// delivered, or changed since) is read and its headers and text tested
// for the string, ignoring case, so a search never misses a message that
// just arrived. Without the index every message tested is read.
//
// Bounds: the newest mailScanPerFolder messages of each folder and
// mailScanTotal in all are looked at; at most mailReadBudget of them are
// read (the unindexed tail first, since the newest are tested first).

const (
	mailScanPerFolder = 5000
	mailScanTotal     = 20000
	mailReadBudget    = 2000
	// maxFreeText bounds one free-text string in bytes, maxQueryTerms
	// the conditions of one query and maxQueryCollections its folders.
	maxFreeText         = 256
	maxQueryTerms       = 8
	maxQueryCollections = 64
)

// mailQuery is a parsed mailbox query: every text must occur, and the
// message must have been received after After and before Before (zero:
// no bound).
type mailQuery struct {
	texts         []string
	after, before time.Time
}

// mailHit is a matching message.
type mailHit struct {
	f  *store.Folder
	it store.ItemSummary
}

// mailMatches runs q over the folders and returns the matches, newest
// (by date received) first.
func (c *call) mailMatches(folders []*store.Folder, q mailQuery) ([]mailHit, error) {
	var hits []mailHit
	scan, reads := mailScanTotal, mailReadBudget
	for _, f := range folders {
		if scan <= 0 {
			break
		}
		items, err := c.s.o.Store.ListItems(c.ctx, f.ID, 1, 0)
		if err != nil {
			return nil, err
		}
		if len(items) > mailScanPerFolder {
			items = items[len(items)-mailScanPerFolder:]
		}
		if len(items) > scan {
			items = items[len(items)-scan:]
		}
		scan -= len(items)
		if len(items) == 0 {
			continue // no lookups for an empty folder
		}
		lookups := make([]*fts.Lookup, len(q.texts))
		if c.s.o.SearchIndex {
			for i, t := range q.texts {
				if lookups[i], err = fts.LookupKey(c.ctx, c.s.o.Store, f.ID, fts.TextFields, t, false); err != nil {
					return nil, err
				}
			}
		}
		// Newest first: the unindexed tail is read before the budget ends.
		for i := len(items) - 1; i >= 0; i-- {
			it := items[i]
			if !q.after.IsZero() && !it.InternalDate.After(q.after) {
				continue
			}
			if !q.before.IsZero() && !it.InternalDate.Before(q.before) {
				continue
			}
			ok, err := c.mailMatch(it, q, lookups, &reads)
			if err != nil {
				return nil, err
			}
			if ok {
				hits = append(hits, mailHit{f, it})
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b mailHit) int {
		if c := b.it.InternalDate.Compare(a.it.InternalDate); c != 0 {
			return c
		}
		return int(b.it.ID - a.it.ID)
	})
	return hits, nil
}

// mailMatch tests one message: each text from its lookup when the index
// has the message, else by reading it (within the read budget; past it
// an unindexed message does not match).
func (c *call) mailMatch(it store.ItemSummary, q mailQuery, lookups []*fts.Lookup, reads *int) (bool, error) {
	var text string
	loaded := false
	for i, t := range q.texts {
		if match, ok := lookups[i].Match(it.ID, it.ModSeq); ok {
			if !match {
				return false, nil
			}
			continue
		}
		if !loaded {
			if *reads <= 0 {
				return false, nil
			}
			*reads--
			m, err := c.readMessage(c.ctx, it.ID)
			if notFound(err) {
				return false, nil // expunged meanwhile
			}
			if err != nil {
				return false, err
			}
			text = strings.ToLower(messageText(m))
			loaded = true
		}
		if !strings.Contains(text, strings.ToLower(t)) {
			return false, nil
		}
	}
	return true, nil
}

// messageText is what a free-text string is tested against when the
// index cannot answer: the address and subject fields, the text and the
// attachments' names.
func messageText(m *message) string {
	var b strings.Builder
	for _, h := range []string{"From", "To", "Cc", "Bcc", "Subject", "Message-ID"} {
		b.WriteString(m.header(h))
		b.WriteByte(0)
	}
	for _, a := range m.attachments() {
		b.WriteString(a.name)
		b.WriteByte(0)
	}
	b.WriteString(m.plain())
	return b.String()
}

// mailFolders are the mail folders a query names (ids; none: every mail
// folder of the user), with deep traversal their subfolders too; ok is
// false when an id is not one of the user's mail folders.
func (c *call) mailFolders(ids []string, deep bool) (folders []*store.Folder, ok bool, err error) {
	fs, err := c.s.o.Store.ListFolders(c.ctx, c.st.ID)
	if err != nil {
		return nil, false, err
	}
	var mail []*store.Folder
	for _, f := range fs {
		if f.Type == store.FolderMail && !f.Deleted {
			mail = append(mail, f)
		}
	}
	if len(ids) == 0 {
		return mail, true, nil
	}
	var out []*store.Folder
	for _, id := range ids {
		root, err := c.folder(id)
		if err != nil {
			return nil, false, err
		}
		if root == nil || root.Type != store.FolderMail {
			return nil, false, nil
		}
		if !slices.ContainsFunc(out, func(f *store.Folder) bool { return f.ID == root.ID }) {
			out = append(out, root)
		}
	}
	for deep {
		deep = false
		for _, f := range mail {
			if !slices.ContainsFunc(out, func(o *store.Folder) bool { return o.ID == f.ID }) &&
				slices.ContainsFunc(out, func(p *store.Folder) bool { return p.ID == f.ParentID }) {
				out = append(out, f)
				deep = true
			}
		}
	}
	return out, true, nil
}

// parseEASDate reads a date of a query (email:DateReceived's Value):
// "2026-12-06T10:00:00.000Z", without the fraction, or the compact
// "20261206T100000Z".
func parseEASDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano, "20060102T150405Z", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// searchQueryError is a query Roost refuses, with the Store status.
type searchQueryError struct{ status string }

func (e *searchQueryError) Error() string { return "bad search query (status " + e.status + ")" }

var (
	errSearchInvalid = &searchQueryError{"2"} // malformed
	errSearchComplex = &searchQueryError{"8"} // past Roost's bounds
)

// parseMailQuery reads a Search Query ([MS-ASCMD] §2.2.3.139.2): an And
// (or the conditions directly) of airsync:Class (Email), airsync:
// CollectionId, FreeText, GreaterThan and LessThan on email:
// DateReceived, and EqualTo naming airsync:CollectionId or airsync:Class
// with a Value. Or is not offered for mailboxes (too complex).
func parseMailQuery(query *wbxml.Node) (q mailQuery, colls []string, err error) {
	if query == nil {
		return q, nil, errSearchInvalid
	}
	conds := 0
	var walk func(n *wbxml.Node, depth int) error
	walk = func(n *wbxml.Node, depth int) error {
		if depth > 4 {
			return errSearchComplex
		}
		for _, ch := range n.Children {
			if conds++; conds > maxQueryTerms+maxQueryCollections {
				return errSearchComplex
			}
			switch ch.Name {
			case "And":
				if err := walk(ch, depth+1); err != nil {
					return err
				}
			case "Or":
				return errSearchComplex
			case "Class":
				if !strings.EqualFold(strings.TrimSpace(ch.Content()), "Email") {
					return errSearchInvalid
				}
			case "CollectionId":
				if len(colls) >= maxQueryCollections {
					return errSearchComplex
				}
				colls = append(colls, strings.TrimSpace(ch.Content()))
			case "FreeText":
				t := strings.TrimSpace(ch.Content())
				if t == "" {
					return errSearchInvalid
				}
				if len(t) > maxFreeText || len(q.texts) >= maxQueryTerms {
					return errSearchComplex
				}
				q.texts = append(q.texts, t)
			case "GreaterThan", "LessThan":
				if ch.Child("DateReceived") == nil {
					return errSearchInvalid
				}
				t, ok := parseEASDate(ch.ChildText("Value"))
				if !ok {
					return errSearchInvalid
				}
				if ch.Name == "GreaterThan" {
					if !q.after.IsZero() {
						return errSearchInvalid
					}
					q.after = t
				} else {
					if !q.before.IsZero() {
						return errSearchInvalid
					}
					q.before = t
				}
			case "EqualTo":
				v := strings.TrimSpace(ch.ChildText("Value"))
				switch {
				case ch.Child("CollectionId") != nil:
					if len(colls) >= maxQueryCollections {
						return errSearchComplex
					}
					colls = append(colls, v)
				case ch.Child("Class") != nil:
					if !strings.EqualFold(v, "Email") {
						return errSearchInvalid
					}
				default:
					return errSearchInvalid
				}
			default:
				return errSearchInvalid
			}
		}
		return nil
	}
	if err := walk(query, 0); err != nil {
		return q, nil, err
	}
	if len(q.texts) == 0 && q.after.IsZero() && q.before.IsZero() {
		return q, nil, errSearchInvalid // a query must ask for something
	}
	return q, colls, nil
}
