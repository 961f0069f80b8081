package backup

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Export of a user's whole store for leaving Roost (roost admin export):
// mail as mbox files or one Maildir++ tree, calendars and task lists as
// .ics, address books as .vcf. The formats are the ones import reads, so
// an export imports back (flags, keywords and dates included).

// ExportRequest is the body of POST /v1/export.
type ExportRequest struct {
	Login  string `json:"login"`
	To     string `json:"to"`     // a directory on the server's host, absolute; created
	Format string `json:"format"` // "mbox" (default) or "maildir"
}

// ExportSummary is what an export wrote.
type ExportSummary struct {
	Login    string   `json:"login"`
	Dir      string   `json:"dir"`
	Folders  int      `json:"folders"`
	Messages int64    `json:"messages"`
	Objects  int      `json:"objects_files"` // .ics and .vcf files
	Bytes    int64    `json:"bytes"`
	Problems []string `json:"problems,omitempty"`
	Seconds  float64  `json:"seconds"`
}

// ExportOptions configure Export. Objects writes a calendar, task or
// contacts folder in its interchange format (groupware.ExportCalendar /
// ExportContacts; given by the caller, a higher layer).
type ExportOptions struct {
	ExportRequest
	Objects  func(ctx context.Context, f *store.Folder, w io.Writer) error
	Progress func(Progress)
}

// Export writes the user's store under o.To.
func Export(ctx context.Context, b store.Backend, o ExportOptions) (*ExportSummary, error) {
	start := time.Now()
	if o.Format == "" {
		o.Format = "mbox"
	}
	if o.Format != "mbox" && o.Format != "maildir" {
		return nil, fmt.Errorf("format %q: mbox or maildir: %w", o.Format, store.ErrInvalid)
	}
	octx, st, _, err := openStore(ctx, b, o.Login, false)
	if err != nil {
		return nil, err
	}
	fs, err := b.ListFolders(octx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	byID := map[int64]*store.Folder{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	pathOf := func(f *store.Folder) []string {
		var p []string
		for g := f; g != nil; g = byID[g.ParentID] {
			p = append([]string{g.Name}, p...)
			if g.ParentID == 0 {
				break
			}
		}
		return p
	}
	sum := &ExportSummary{Login: o.Login, Dir: o.To}
	var total int64
	for _, f := range fs {
		if !f.Deleted && f.Type == store.FolderMail {
			total += f.Messages
		}
	}
	var done int64
	last := time.Time{}
	report := func(final bool) {
		if o.Progress != nil && (final || time.Since(last) > 200*time.Millisecond) {
			last = time.Now()
			o.Progress(Progress{Login: o.Login, StoresAll: 1, Items: done, ItemsAll: total, Bytes: sum.Bytes, Objects: sum.Messages, StoreDone: final})
		}
	}
	if err := os.MkdirAll(o.To, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the export directory on the server's host: %w", err)
	}
	slices.SortFunc(fs, func(a, b *store.Folder) int {
		return strings.Compare(strings.Join(pathOf(a), "/"), strings.Join(pathOf(b), "/"))
	})
	for _, f := range fs {
		if f.Deleted || strings.HasPrefix(f.Name, "~") { // hidden folders (schedule inbox)
			continue
		}
		p := pathOf(f)
		switch f.Type {
		case store.FolderMail:
			var n int64
			var err error
			if o.Format == "mbox" {
				n, err = exportMbox(octx, b, f, filepath.Join(append([]string{o.To, "mail"}, escapeNames(p)...)...)+".mbox", sum, func() { done++; report(false) })
			} else {
				n, err = exportMaildir(octx, b, f, maildirPath(o.To, f, p), sum, func() { done++; report(false) })
			}
			if err != nil {
				return sum, fmt.Errorf("folder %s: %w", strings.Join(p, "/"), err)
			}
			sum.Messages += n
			sum.Folders++
		default:
			if o.Objects == nil {
				continue
			}
			ext, sub := ".ics", "calendars"
			if f.Type == store.FolderContacts {
				ext, sub = ".vcf", "contacts"
			}
			var buf bytes.Buffer
			if err := o.Objects(octx, f, &buf); err != nil {
				sum.Problems = append(sum.Problems, fmt.Sprintf("%s: %v", strings.Join(p, "/"), err))
				continue
			}
			path := filepath.Join(append([]string{o.To, sub}, escapeNames(p)...)...) + ext
			if err := writeFile(path, buf.Bytes(), time.Now()); err != nil {
				return sum, err
			}
			sum.Objects++
			sum.Folders++
			sum.Bytes += int64(buf.Len())
		}
	}
	report(true)
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// escapeNames makes folder names safe as file names ("/", "." and ".."
// and control characters %-escaped); import unescapes them.
func escapeNames(p []string) []string {
	out := make([]string, len(p))
	for i, n := range p {
		out[i] = escapeName(n, false)
	}
	return out
}

func escapeName(n string, dots bool) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c == '/' || c == '%' || c < 0x20 || c == 0x7f || (dots && c == '.') || (c == '.' && (n == "." || n == "..")) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unescapeName(n string) string {
	if u, err := url.PathUnescape(n); err == nil && u != "" {
		return u
	}
	return n
}

// maildirPath is the Maildir++ directory of a folder: the Inbox is the
// top, others ".A.B" (dots in names escaped).
func maildirPath(root string, f *store.Folder, p []string) string {
	if f.Special == store.SpecialInbox && len(p) == 1 {
		return filepath.Join(root, "Maildir")
	}
	parts := make([]string, len(p))
	for i, n := range p {
		parts[i] = escapeName(n, true)
	}
	return filepath.Join(root, "Maildir", "."+strings.Join(parts, "."))
}

func writeFile(path string, data []byte, mtime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	return os.Chtimes(path, mtime, mtime)
}

// eachMessage calls fn with every live message of a folder.
func eachMessage(ctx context.Context, b store.Backend, f *store.Folder, fn func(it store.ItemSummary, data []byte) error) error {
	open, err := b.OpenItems(ctx, f.ID)
	if err != nil {
		return err
	}
	var from uint32 = 1
	for {
		its, err := b.ListItems(ctx, f.ID, from, 500)
		if err != nil {
			return err
		}
		if len(its) == 0 {
			return nil
		}
		for _, it := range its {
			rc, err := open(ctx, it.ID)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			if err := fn(it, data); err != nil {
				return err
			}
		}
		from = its[len(its)-1].UID + 1
	}
}

// exportMbox writes a folder as an mboxrd file, flags in Status and
// X-Status fields added in front of the header.
func exportMbox(ctx context.Context, b store.Backend, f *store.Folder, path string, sum *ExportSummary, tick func()) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 256<<10)
	var n int64
	err = eachMessage(ctx, b, f, func(it store.ItemSummary, data []byte) error {
		fmt.Fprintf(w, "From MAILER-DAEMON %s\n", it.InternalDate.UTC().Format(time.ANSIC))
		var status, xstatus string
		for _, fl := range it.Flags {
			switch fl {
			case `\Seen`:
				status += "RO"
			case `\Answered`:
				xstatus += "A"
			case `\Flagged`:
				xstatus += "F"
			case `\Deleted`:
				xstatus += "D"
			case `\Draft`:
				xstatus += "T"
			}
		}
		if status != "" {
			fmt.Fprintf(w, "Status: %s\n", status)
		}
		if xstatus != "" {
			fmt.Fprintf(w, "X-Status: %s\n", xstatus)
		}
		sc := bytes.Split(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"))
		if len(sc) > 0 && len(sc[len(sc)-1]) == 0 {
			sc = sc[:len(sc)-1]
		}
		for _, line := range sc {
			if bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From ")) {
				w.WriteByte('>')
			}
			w.Write(line)
			w.WriteByte('\n')
		}
		w.WriteByte('\n')
		n++
		sum.Bytes += int64(len(data))
		tick()
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := w.Flush(); err != nil {
		return n, err
	}
	if err := out.Sync(); err != nil {
		return n, err
	}
	return n, out.Close()
}

// exportMaildir writes a folder as a Maildir: files in cur with the
// flags in their names, keywords in dovecot-keywords (the first 26), the
// internal date as the file time.
func exportMaildir(ctx context.Context, b store.Backend, f *store.Folder, dir string, sum *ExportSummary, tick func()) (int64, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return 0, err
		}
	}
	keywords := map[string]byte{}
	var order []string
	var n int64
	err := eachMessage(ctx, b, f, func(it store.ItemSummary, data []byte) error {
		var letters []byte
		for _, fl := range it.Flags {
			switch fl {
			case `\Seen`:
				letters = append(letters, 'S')
			case `\Answered`:
				letters = append(letters, 'R')
			case `\Flagged`:
				letters = append(letters, 'F')
			case `\Deleted`:
				letters = append(letters, 'T')
			case `\Draft`:
				letters = append(letters, 'D')
			case "$Forwarded":
				letters = append(letters, 'P')
			default:
				if strings.HasPrefix(fl, `\`) {
					continue
				}
				c, ok := keywords[fl]
				if !ok {
					if len(order) == 26 {
						sum.Problems = append(sum.Problems, fmt.Sprintf("%s UID %d: more than 26 keywords in the folder; %s not exported", f.Name, it.UID, fl))
						continue
					}
					c = byte('a' + len(order))
					keywords[fl] = c
					order = append(order, fl)
				}
				letters = append(letters, c)
			}
		}
		slices.Sort(letters)
		name := fmt.Sprintf("%d.R%dU%d.roost:2,%s", it.InternalDate.Unix(), f.ID, it.UID, letters)
		if err := writeFile(filepath.Join(dir, "cur", name), data, it.InternalDate); err != nil {
			return err
		}
		n++
		sum.Bytes += int64(len(data))
		tick()
		return nil
	})
	if err != nil {
		return n, err
	}
	if len(order) > 0 {
		var kw strings.Builder
		for i, k := range order {
			fmt.Fprintf(&kw, "%d %s\n", i, k)
		}
		if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte(kw.String()), 0o600); err != nil {
			return n, err
		}
	}
	return n, nil
}
