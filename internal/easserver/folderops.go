package easserver

import (
	"errors"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/mime"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// Folder command statuses ([MS-ASCMD] §2.2.3.177.2-4).
const (
	foOK        = "1"
	foExists    = "2"
	foSpecial   = "3"
	foNotFound  = "4"
	foNoParent  = "5"
	foServerErr = "6"
	foBadKey    = "9"
	foBadReq    = "10"
)

// folderOpKey checks a folder command's SyncKey and returns the key to
// answer with after the change: the journal position after it when the
// device was up to date, else the device's own key (the next FolderSync
// then also reports this change, which devices take as an update).
func (c *call) folderOpKey(req *wbxml.Node) (before uint64, ok bool, err error) {
	k := req.ChildText("SyncKey")
	if k == "0" {
		return 0, true, nil
	}
	seq, okk := parseFolderKey(k)
	if !okk {
		return 0, false, nil
	}
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return 0, false, err
	}
	return seq, seq <= st.ModSeq, nil
}

func (c *call) keyAfter(before uint64, prevSeq uint64) (string, error) {
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return "", err
	}
	if before == prevSeq {
		return "F" + strconv.FormatUint(st.ModSeq, 10), nil
	}
	return "F" + strconv.FormatUint(before, 10), nil
}

func (c *call) storeSeq() (uint64, error) {
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return 0, err
	}
	return st.ModSeq, nil
}

// folderCreate is FolderCreate ([MS-ASCMD] §2.2.1.3), mail folders.
func folderCreate(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.FolderHierarchy, "FolderCreate")
	before, ok, err := c.folderOpKey(req)
	if err != nil {
		return nil, err
	}
	if !ok {
		return resp.Add(fh("Status", foBadKey)), nil
	}
	name := strings.TrimSpace(req.ChildText("DisplayName"))
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return resp.Add(fh("Status", foBadReq)), nil
	}
	typ := store.FolderMail
	switch req.ChildText("Type") {
	case "12", "1":
	case "14":
		typ = store.FolderContacts
	case "13":
		typ = store.FolderCalendar
	case "15":
		typ = store.FolderTasks
	case "17":
		typ = store.FolderNotes
	default:
		return resp.Add(fh("Status", foBadReq)), nil // calendars, tasks and notes come with their Sync classes
	}
	parent := int64(0)
	if p := req.ChildText("ParentId"); p != "0" && p != "" {
		f, err := c.folder(p)
		if err != nil {
			return nil, err
		}
		if f == nil {
			return resp.Add(fh("Status", foNoParent)), nil
		}
		parent = f.ID
	}
	prev, err := c.storeSeq()
	if err != nil {
		return nil, err
	}
	f, err := c.s.o.Store.CreateFolder(c.ctx, c.st.ID, parent, name, typ)
	switch {
	case errors.Is(err, store.ErrConflict):
		return resp.Add(fh("Status", foExists)), nil
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrPermission):
		return resp.Add(fh("Status", foBadReq)), nil
	case err != nil:
		return nil, err
	}
	key, err := c.keyAfter(before, prev)
	if err != nil {
		return nil, err
	}
	return resp.Add(fh("Status", foOK), fh("SyncKey", key), fh("ServerId", strconv.FormatInt(f.ID, 10))), nil
}

// folderUpdate is FolderUpdate ([MS-ASCMD] §2.2.1.7): rename and move.
func folderUpdate(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.FolderHierarchy, "FolderUpdate")
	before, ok, err := c.folderOpKey(req)
	if err != nil {
		return nil, err
	}
	if !ok {
		return resp.Add(fh("Status", foBadKey)), nil
	}
	f, err := c.folder(req.ChildText("ServerId"))
	if err != nil {
		return nil, err
	}
	if f == nil || !served(f) {
		return resp.Add(fh("Status", foNotFound)), nil
	}
	if f.Special != "" {
		return resp.Add(fh("Status", foSpecial)), nil
	}
	name := strings.TrimSpace(req.ChildText("DisplayName"))
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\x00") {
		return resp.Add(fh("Status", foBadReq)), nil
	}
	parent := int64(0)
	if p := req.ChildText("ParentId"); p != "0" && p != "" {
		pf, err := c.folder(p)
		if err != nil {
			return nil, err
		}
		if pf == nil {
			return resp.Add(fh("Status", foNoParent)), nil
		}
		parent = pf.ID
	}
	prev, err := c.storeSeq()
	if err != nil {
		return nil, err
	}
	_, err = c.s.o.Store.RenameFolder(c.ctx, f.ID, parent, name)
	switch {
	case errors.Is(err, store.ErrConflict):
		return resp.Add(fh("Status", foExists)), nil
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrPermission):
		return resp.Add(fh("Status", foBadReq)), nil
	case err != nil:
		return nil, err
	}
	key, err := c.keyAfter(before, prev)
	if err != nil {
		return nil, err
	}
	return resp.Add(fh("Status", foOK), fh("SyncKey", key)), nil
}

// folderDelete is FolderDelete ([MS-ASCMD] §2.2.1.4): soft delete.
func folderDelete(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.FolderHierarchy, "FolderDelete")
	before, ok, err := c.folderOpKey(req)
	if err != nil {
		return nil, err
	}
	if !ok {
		return resp.Add(fh("Status", foBadKey)), nil
	}
	f, err := c.folder(req.ChildText("ServerId"))
	if err != nil {
		return nil, err
	}
	if f == nil || !served(f) {
		return resp.Add(fh("Status", foNotFound)), nil
	}
	if f.Special != "" {
		return resp.Add(fh("Status", foSpecial)), nil
	}
	prev, err := c.storeSeq()
	if err != nil {
		return nil, err
	}
	if err := c.s.o.Store.DeleteFolder(c.ctx, f.ID); err != nil {
		if notFound(err) {
			return resp.Add(fh("Status", foNotFound)), nil
		}
		return nil, err
	}
	key, err := c.keyAfter(before, prev)
	if err != nil {
		return nil, err
	}
	return resp.Add(fh("Status", foOK), fh("SyncKey", key)), nil
}

// htmlToText reduces an HTML out-of-office text to plain text.
func htmlToText(s string) string {
	p, err := mime.Parse([]byte("Content-Type: text/html; charset=utf-8\r\n\r\n"+s), mime.DefaultLimits())
	if err != nil {
		return s
	}
	return strings.TrimSpace(p.Text(strings.NewReader("Content-Type: text/html; charset=utf-8\r\n\r\n"+s), 64<<10))
}
