package backup

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/roost-mail/roost/internal/store"
)

// Import from another IMAP server (roost admin import imap): every folder
// (or those named), with flags including keywords and internal dates.
// Resumable: each Roost folder remembers, per source (host, user and
// mailbox), the source's UIDVALIDITY and the last UID imported, in a
// folder property; a new run fetches only UIDs above it (everything again
// when UIDVALIDITY changed), and skips what the folder already holds
// (same content and date), so nothing is imported twice even when a run
// stopped between storing a message and remembering it.

// IMAPSource says where to import from (the body of POST /v1/import with
// format "imap").
type IMAPSource struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security string   `json:"security"` // "tls", "starttls" or "none"
	User     string   `json:"user"`
	Password string   `json:"password"`
	Folders  []string `json:"folders,omitempty"` // source mailbox names; none = all
	// Insecure accepts any server certificate (test servers).
	Insecure bool `json:"insecure,omitempty"`
}

// imapBatch is how many messages one UID FETCH asks for.
const imapBatch = 100

// importPropPrefix names the folder property holding the resume point.
const importPropPrefix = "roost:import-imap:"

// importIMAP imports everything from the source into the store.
func (im *importer) importIMAP(ctx context.Context, src *IMAPSource) error {
	if src == nil || src.Host == "" || src.User == "" {
		return fmt.Errorf("imap source: host and user are required: %w", store.ErrInvalid)
	}
	if src.Port == 0 {
		src.Port = 143
		if src.Security == "tls" {
			src.Port = 993
		}
	}
	addr := net.JoinHostPort(src.Host, strconv.Itoa(src.Port))
	opts := &imapclient.Options{TLSConfig: &tls.Config{ServerName: src.Host, InsecureSkipVerify: src.Insecure, MinVersion: tls.VersionTLS12}}
	var c *imapclient.Client
	var err error
	switch src.Security {
	case "tls":
		c, err = imapclient.DialTLS(addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(addr, opts)
	case "none", "":
		c, err = imapclient.DialInsecure(addr, opts)
	default:
		return fmt.Errorf("security %q: tls, starttls or none: %w", src.Security, store.ErrInvalid)
	}
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(src.User, src.Password).Wait(); err != nil {
		return fmt.Errorf("log in to %s as %s: %w", addr, src.User, err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return fmt.Errorf("list %s: %w", addr, err)
	}
	want := map[string]bool{}
	for _, f := range src.Folders {
		want[f] = true
	}
	type todo struct {
		name  string
		path  string
		total uint32
	}
	var list []todo
	for _, b := range boxes {
		if len(want) > 0 && !want[b.Mailbox] {
			continue
		}
		skip := false
		for _, a := range b.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				skip = true
			}
		}
		if skip {
			continue
		}
		path := b.Mailbox
		if strings.EqualFold(path, "INBOX") {
			path = "inbox"
		} else if b.Delim != 0 && b.Delim != '/' {
			path = strings.ReplaceAll(path, "/", "-")
			path = strings.ReplaceAll(path, string(b.Delim), "/")
		}
		// Special-use folders go to Roost's own (RFC 6154).
		for _, a := range b.Attrs {
			switch a {
			case imap.MailboxAttrSent:
				path = store.SpecialSent
			case imap.MailboxAttrTrash:
				path = store.SpecialTrash
			case imap.MailboxAttrJunk:
				path = store.SpecialJunk
			case imap.MailboxAttrDrafts:
				path = store.SpecialDrafts
			case imap.MailboxAttrArchive:
				path = store.SpecialArchive
			}
		}
		list = append(list, todo{name: b.Mailbox, path: path})
	}
	// Totals for the progress bar: STATUS of every folder.
	for i := range list {
		if sd, err := c.Status(list[i].name, &imap.StatusOptions{NumMessages: true}).Wait(); err == nil && sd.NumMessages != nil {
			list[i].total = *sd.NumMessages
			im.total += int64(*sd.NumMessages)
		}
	}
	for _, f := range list {
		if err := im.imapFolder(ctx, c, src, f.name, f.path, int64(f.total)); err != nil {
			return err
		}
	}
	im.report(true)
	return nil
}

func (im *importer) imapFolder(ctx context.Context, c *imapclient.Client, src *IMAPSource, name, path string, total int64) error {
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("select %q: %w", name, err)
	}
	if err := im.into(path); err != nil {
		return err
	}
	key := importPropPrefix + src.User + "@" + src.Host + ":" + strconv.Itoa(src.Port) + "/" + name
	if len(key) > store.MaxPropKey {
		key = key[:store.MaxPropKey]
	}
	props, err := im.t.b.FolderProps(im.t.ctx, im.folder.ID)
	if err != nil {
		return fmt.Errorf("folder %q: %w", path, err)
	}
	var last uint32
	if v, ok := props[key]; ok {
		vs, ls, _ := strings.Cut(v, " ")
		validity, _ := strconv.ParseUint(vs, 10, 32)
		l, _ := strconv.ParseUint(ls, 10, 32)
		if uint32(validity) == sel.UIDValidity {
			last = uint32(l)
		}
	}
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The next batch: UIDs above last, at most imapBatch of them.
		sr, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("search %q: %w", name, err)
		}
		var uids []imap.UID
		for _, u := range sr.AllUIDs() {
			if uint32(u) > last { // "N:*" includes the highest UID even when below N
				uids = append(uids, u)
			}
		}
		if len(uids) == 0 {
			return nil
		}
		if len(uids) > imapBatch {
			uids = uids[:imapBatch]
		}
		msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return fmt.Errorf("fetch from %q: %w", name, err)
		}
		byUID := map[imap.UID]*imapclient.FetchMessageBuffer{}
		for _, m := range msgs {
			byUID[m.UID] = m
		}
		for _, u := range uids {
			m := byUID[u]
			where := fmt.Sprintf("%s UID %d", name, u)
			if m == nil {
				im.done++
				im.sum.problem("%s: vanished during the import", where)
			} else {
				body := m.FindBodySection(section)
				if len(body) > maxImportMessage {
					im.done++
					im.sum.problem("%s: message larger than %d MB, not imported", where, maxImportMessage>>20)
				} else if err := im.add(body, imapFlags(m.Flags), m.InternalDate, where); err != nil {
					return err
				}
			}
			last = uint32(u)
		}
		v := fmt.Sprintf("%d %d", sel.UIDValidity, last)
		if err := im.t.b.SetFolderProps(im.t.ctx, im.folder.ID, map[string]*string{key: &v}); err != nil {
			return fmt.Errorf("remember the import position of %q: %w", name, err)
		}
	}
}

// imapFlags keeps system flags Roost stores and keywords; \Recent is not
// a flag one can set.
func imapFlags(in []imap.Flag) []string {
	out := make([]string, 0, len(in))
	for _, f := range in {
		if strings.EqualFold(string(f), `\Recent`) || f == "" {
			continue
		}
		out = append(out, string(f))
	}
	return out
}
