package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/store"
)

// Import of mail from mbox files and Maildir trees (roost admin import
// mbox|maildir). Like backup, it runs in the server, which holds the
// store, and streams progress. What cannot be imported (a broken From_
// line with no message after it, a file that is not a message, a Maildir
// file name whose flags cannot be read) is reported, the rest imported.
// A message already in the folder (same content and internal date) is
// not imported again, so an interrupted import can simply be run again.

// ImportRequest is the body of POST /v1/import.
type ImportRequest struct {
	Login  string `json:"login"`
	Format string `json:"format"`           // "mbox" or "maildir"
	Path   string `json:"path"`             // a file (mbox) or directory (maildir) on the server's host, absolute
	Folder string `json:"folder,omitempty"` // mbox: the folder to import into (default INBOX); maildir: the folder the tree goes under (default: the top level)
	// IMAP is the source server of format "imap" (Path is unused).
	IMAP *IMAPSource `json:"imap,omitempty"`
}

// ImportSummary is what an import did.
type ImportSummary struct {
	Login    string `json:"login"`
	Folders  int    `json:"folders"`  // folders imported into
	Imported int64  `json:"imported"` // messages created
	Present  int64  `json:"present"`  // messages already there, skipped
	Bytes    int64  `json:"bytes"`
	// Problems lists what was not imported, with where it was (at most
	// maxProblems; ProblemsMore counts the rest).
	Problems     []string `json:"problems,omitempty"`
	ProblemsMore int      `json:"problems_more,omitempty"`
	Seconds      float64  `json:"seconds"`
}

const maxProblems = 200

// maxImportMessage bounds one imported message.
const maxImportMessage = 64 << 20

func (s *ImportSummary) problem(format string, args ...any) {
	if len(s.Problems) >= maxProblems {
		s.ProblemsMore++
		return
	}
	s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
}

// ImportOptions configure ImportMail.
type ImportOptions struct {
	ImportRequest
	Progress func(Progress)
}

// ImportMail imports an mbox file or a Maildir tree into a user's store.
func ImportMail(ctx context.Context, b store.Backend, o ImportOptions) (*ImportSummary, error) {
	start := time.Now()
	octx, st, _, err := openStore(ctx, b, o.Login, false)
	if err != nil {
		return nil, err
	}
	t := &target{b: b, ctx: octx, storeID: st.ID}
	if err := t.load(); err != nil {
		return nil, err
	}
	im := &importer{t: t, sum: &ImportSummary{Login: o.Login}, progress: o.Progress, login: o.Login}
	switch o.Format {
	case "mbox":
		err = im.mbox(o.Path, o.Folder)
	case "maildir":
		err = im.maildir(o.Path, o.Folder)
	case "imap":
		err = im.importIMAP(ctx, o.IMAP)
	default:
		err = fmt.Errorf("format %q: mbox or maildir: %w", o.Format, store.ErrInvalid)
	}
	im.sum.Seconds = time.Since(start).Seconds()
	return im.sum, err
}

type importer struct {
	t        *target
	sum      *ImportSummary
	progress func(Progress)
	login    string
	last     time.Time
	total    int64
	done     int64

	folder *store.Folder
	have   map[string]int
}

func (im *importer) report(final bool) {
	if im.progress == nil || (!final && time.Since(im.last) < 200*time.Millisecond) {
		return
	}
	im.last = time.Now()
	im.progress(Progress{Login: im.login, StoresAll: 1, Items: im.done, ItemsAll: im.total, Bytes: im.sum.Bytes,
		Objects: im.sum.Imported, StoreDone: final})
}

// into makes folder (a "/" path, or a role such as "inbox") the target.
func (im *importer) into(path string) error {
	var f *store.Folder
	if len(splitPath(path)) == 1 {
		if sf := im.t.special[strings.ToLower(path)]; sf != nil {
			f = sf
		}
	}
	if f == nil {
		var err error
		if f, _, err = im.t.ensurePath(splitPath(path), store.FolderMail); err != nil {
			return fmt.Errorf("folder %q: %w", path, err)
		}
	}
	have, err := im.t.existing(f.ID)
	if err != nil {
		return err
	}
	im.folder, im.have = f, have
	im.sum.Folders++
	return nil
}

// add stores one message in the current folder unless it is there.
func (im *importer) add(msg []byte, flags []string, date time.Time, where string) error {
	im.done++
	defer im.report(false)
	if !looksLikeMessage(msg) {
		im.sum.problem("%s: not a message (no header block)", where)
		return nil
	}
	date = date.Truncate(time.Second)
	h := sha256.Sum256(msg)
	key := itemKey(hex.EncodeToString(h[:]), date)
	if im.have[key] > 0 {
		im.sum.Present++
		return nil
	}
	it, err := im.t.b.AppendItem(im.t.ctx, im.folder.ID, store.NewItem{Content: bytes.NewReader(msg), Flags: flags, InternalDate: date})
	if errors.Is(err, store.ErrInvalid) && len(flags) > 0 {
		im.sum.problem("%s: flags %v refused; imported without them", where, flags)
		it, err = im.t.b.AppendItem(im.t.ctx, im.folder.ID, store.NewItem{Content: bytes.NewReader(msg), InternalDate: date})
	}
	if err == nil && im.folder.Special == store.SpecialJunk {
		// Imported junk was judged already: spam learning leaves it.
		if _, err := im.t.b.RecordOnce(store.SystemContext(im.t.ctx), im.t.storeID, store.SpamLearnKey("spam", it.ID), store.SpamLearnKeep); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			im.sum.problem("%s: refused by the store: %v", where, err)
			return nil
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	im.have[key]++
	im.sum.Imported++
	im.sum.Bytes += int64(len(msg))
	return nil
}

// looksLikeMessage wants a first line that is a header field.
func looksLikeMessage(msg []byte) bool {
	line, _, _ := bytes.Cut(msg, []byte("\n"))
	name, _, ok := bytes.Cut(line, []byte(":"))
	return ok && len(name) > 0 && !bytes.ContainsAny(name, " \t")
}

// mbox imports an mbox file (mboxrd/mboxo: ">From " lines are unquoted
// once). A message starts at a "From " line at the start of the file or
// after an empty line; its date comes from that line, else from its Date
// field, else the file's modification time.
func (im *importer) mbox(path, folder string) error {
	f, err := os.Open(path)
	if err != nil {
		return err // os.Open's error names the path
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if folder == "" {
		folder = "inbox"
	}
	if err := im.into(folder); err != nil {
		return err
	}
	// Count the messages first for the progress bar.
	im.total, _ = countMbox(f)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var (
		msg      bytes.Buffer
		inMsg    bool
		fromLine string
		startNo  int
		lineNo   int
		prevBlnk = true
		tooBig   bool
		leading  int // lines before the first From_ line
	)
	flush := func() error {
		if !inMsg {
			return nil
		}
		where := fmt.Sprintf("%s line %d", filepath.Base(path), startNo)
		body := msg.Bytes()
		// The empty line before the next From_ belongs to the format.
		body = bytes.TrimSuffix(body, []byte("\n"))
		if tooBig {
			im.total--
			im.sum.problem("%s: message larger than %d MB, not imported", where, maxImportMessage>>20)
		} else if len(bytes.TrimSpace(body)) == 0 {
			im.sum.problem("%s: From_ line %q without a message", where, trimForReport(fromLine))
		} else {
			date, ok := mboxDate(fromLine)
			if !ok {
				if d, ok2 := headerDate(body); ok2 {
					date = d
				} else {
					date = fi.ModTime()
				}
			}
			flags := mboxFlags(body)
			if err := im.add(body, flags, date, where); err != nil {
				return err
			}
		}
		msg.Reset()
		tooBig = false
		return nil
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			lineNo++
			trimmed := bytes.TrimRight(line, "\r\n")
			if prevBlnk && bytes.HasPrefix(line, []byte("From ")) {
				if err := flush(); err != nil {
					return err
				}
				inMsg, fromLine, startNo = true, string(trimmed), lineNo
			} else if inMsg {
				if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
					line = line[1:]
				}
				if msg.Len()+len(line) > maxImportMessage {
					tooBig = true
				} else if !tooBig {
					msg.Write(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")))
					msg.WriteString("\r\n")
				}
			} else if len(bytes.TrimSpace(trimmed)) > 0 {
				leading++
			}
			prevBlnk = len(trimmed) == 0
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if leading > 0 {
		im.sum.problem("%s: %d lines before the first From_ line are not part of a message", filepath.Base(path), leading)
	}
	im.report(true)
	return nil
}

// countMbox counts From_ lines (the progress bar's total).
func countMbox(r io.Reader) (int64, error) {
	sc := bufio.NewReaderSize(r, 64<<10)
	var n int64
	prev := true
	for {
		line, err := sc.ReadSlice('\n')
		if len(line) > 0 {
			if prev && bytes.HasPrefix(line, []byte("From ")) {
				n++
			}
			prev = len(bytes.TrimRight(line, "\r\n")) == 0
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			prev = false
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = sc.ReadSlice('\n')
			}
		}
		if err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
	}
}

func trimForReport(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// mboxDate reads the asctime date at the end of a From_ line
// ("From sender Mon Jan  2 15:04:05 2006").
func mboxDate(line string) (time.Time, bool) {
	f := strings.Fields(line)
	if len(f) < 7 {
		return time.Time{}, false
	}
	for _, layout := range []string{time.ANSIC, "Mon Jan _2 15:04:05 MST 2006", "Mon Jan _2 15:04:05 -0700 2006"} {
		n := len(strings.Fields(layout))
		if len(f) < n+1 {
			continue
		}
		if t, err := time.Parse(layout, strings.Join(f[len(f)-n:], " ")); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// headerDate reads the Date field of a message's header.
func headerDate(msg []byte) (time.Time, bool) {
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	for _, l := range strings.Split(string(hdr), "\r\n") {
		if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "Date") {
			for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04:05 -0700"} {
				if t, err := time.Parse(layout, strings.TrimSpace(strings.Split(strings.TrimSpace(v), " (")[0])); err == nil {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// mboxFlags reads the Status and X-Status fields mail programs write
// into mbox files (R = seen, A = answered, F = flagged, D = deleted, T =
// draft).
func mboxFlags(msg []byte) []string {
	hdr, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	var flags []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			flags = append(flags, f)
		}
	}
	for _, l := range strings.Split(string(hdr), "\r\n") {
		name, v, ok := strings.Cut(l, ":")
		if !ok || (!strings.EqualFold(name, "Status") && !strings.EqualFold(name, "X-Status")) {
			continue
		}
		for _, c := range strings.TrimSpace(v) {
			switch c {
			case 'R':
				add(`\Seen`)
			case 'A':
				add(`\Answered`)
			case 'F':
				add(`\Flagged`)
			case 'D':
				add(`\Deleted`)
			case 'T':
				add(`\Draft`)
			}
		}
	}
	return flags
}

// maildir imports a Maildir++ tree: DIR itself (INBOX, or under) and
// its ".Sub.Folder" subdirectories. Flags come from the ":2," info of
// the file names (and Dovecot's dovecot-keywords for keywords a–z), the
// internal date from the file's modification time.
func (im *importer) maildir(dir, under string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err // os.Stat's error names the path
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: %w", dir, store.ErrInvalid)
	}
	type box struct {
		dir  string
		path string // folder path in the store
	}
	boxes := []box{{dir: dir, path: "inbox"}}
	if under != "" {
		boxes[0].path = under
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, ".") || name == "." || name == ".." {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(name, "."), ".")
		ok := true
		for i, p := range parts {
			if p == "" {
				ok = false
			}
			parts[i] = unescapeName(p) // "%2E" from roost admin export
		}
		if !ok {
			im.sum.problem("%s: not a Maildir++ folder name", name)
			continue
		}
		p := strings.Join(parts, "/")
		if under != "" {
			p = under + "/" + p
		}
		boxes = append(boxes, box{dir: filepath.Join(dir, name), path: p})
	}
	// Totals for the progress bar.
	for _, bx := range boxes {
		for _, sub := range []string{"cur", "new"} {
			es, _ := os.ReadDir(filepath.Join(bx.dir, sub))
			im.total += int64(len(es))
		}
	}
	sort.Slice(boxes[1:], func(i, j int) bool { return boxes[1+i].path < boxes[1+j].path })
	for _, bx := range boxes {
		if _, err := os.Stat(filepath.Join(bx.dir, "cur")); err != nil {
			if _, err2 := os.Stat(filepath.Join(bx.dir, "new")); err2 != nil {
				if bx.dir != dir {
					im.sum.problem("%s: no cur or new directory; not a Maildir", filepath.Base(bx.dir))
				}
				continue
			}
		}
		if err := im.into(bx.path); err != nil {
			return err
		}
		keywords := dovecotKeywords(bx.dir)
		for _, sub := range []string{"new", "cur"} {
			es, err := os.ReadDir(filepath.Join(bx.dir, sub))
			if err != nil {
				continue
			}
			for _, e := range es {
				if err := im.maildirFile(filepath.Join(bx.dir, sub), e, sub == "new", keywords); err != nil {
					return err
				}
			}
		}
	}
	im.report(true)
	return nil
}

func (im *importer) maildirFile(dir string, e os.DirEntry, isNew bool, keywords map[byte]string) error {
	name := e.Name()
	where := filepath.Join(filepath.Base(filepath.Dir(dir)), filepath.Base(dir), name)
	if strings.HasPrefix(name, ".") {
		im.done++
		return nil // editors' and mail programs' hidden files
	}
	if !e.Type().IsRegular() {
		im.done++
		im.sum.problem("%s: not a regular file", where)
		return nil
	}
	info, err := e.Info()
	if err != nil {
		im.done++
		im.sum.problem("%s: %v", where, err)
		return nil
	}
	if info.Size() > maxImportMessage {
		im.done++
		im.sum.problem("%s: message larger than %d MB, not imported", where, maxImportMessage>>20)
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		im.done++
		im.sum.problem("%s: %v", where, err)
		return nil
	}
	var flags []string
	if !isNew {
		var bad string
		flags, bad = maildirFlags(name, keywords)
		if bad != "" {
			im.sum.problem("%s: %s; imported without those flags", where, bad)
		}
	}
	return im.add(toCRLF(data), flags, info.ModTime(), where)
}

// maildirFlags reads the flags of a Maildir file name's ":2," info.
func maildirFlags(name string, keywords map[byte]string) (flags []string, bad string) {
	i := strings.LastIndex(name, ":")
	if i < 0 {
		// Some copies over Windows file systems use "!" or ";".
		return nil, ""
	}
	info := name[i+1:]
	fl, ok := strings.CutPrefix(info, "2,")
	if !ok {
		return nil, fmt.Sprintf("unknown info %q", trimForReport(info))
	}
	var unknown []string
	for _, c := range []byte(fl) {
		switch {
		case c == 'P':
			flags = append(flags, "$Forwarded")
		case c == 'R':
			flags = append(flags, `\Answered`)
		case c == 'S':
			flags = append(flags, `\Seen`)
		case c == 'T':
			flags = append(flags, `\Deleted`)
		case c == 'D':
			flags = append(flags, `\Draft`)
		case c == 'F':
			flags = append(flags, `\Flagged`)
		case c >= 'a' && c <= 'z' && keywords[c] != "":
			flags = append(flags, keywords[c])
		default:
			unknown = append(unknown, string(c))
		}
	}
	if len(unknown) > 0 {
		bad = fmt.Sprintf("unknown flag letters %s", strings.Join(unknown, ""))
	}
	return flags, bad
}

// dovecotKeywords reads Dovecot's "N keyword" lines (0 = a, 1 = b, …).
func dovecotKeywords(dir string) map[byte]string {
	data, err := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if err != nil || len(data) > 1<<20 {
		return nil
	}
	out := map[byte]string{}
	for _, l := range strings.Split(string(data), "\n") {
		n, kw, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(n, "%d", &i); err != nil || i < 0 || i > 25 || kw == "" {
			continue
		}
		out[byte('a'+i)] = kw
	}
	return out
}

// toCRLF turns bare LF line ends (Maildir files are stored with LF) into
// CRLF; CRLF stays.
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) || bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
