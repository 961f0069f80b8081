package easserver

import (
	"bytes"
	"encoding/base64"
	"io"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// ItemOperations statuses ([MS-ASCMD] §2.2.3.177.8).
const (
	ioOK         = "1"
	ioProtocol   = "2"
	ioNotFound   = "6"
	ioBadAttach  = "15"
	ioTooLarge   = "11"
	maxFetchData = 32 << 20
)

func io_(name, v string) *wbxml.Node { return wbxml.Str(eas.ItemOperations, name, v) }

// itemOperations is ItemOperations ([MS-ASCMD] §2.2.1.10): Fetch of a
// whole item or of an attachment (by file reference), and
// EmptyFolderContents.
func itemOperations(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.ItemOperations, "ItemOperations", io_("Status", ioOK))
	out := wbxml.El(eas.ItemOperations, "Response")
	if len(req.Children) > 100 {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	// budget bounds the attachment data of the whole answer: one
	// attachment may be fetched many times in one request.
	budget := maxFetchData
	for _, op := range req.Children {
		switch op.Name {
		case "Fetch":
			r, err := c.fetch(op, &budget)
			if err != nil {
				return nil, err
			}
			out.Add(r)
		case "EmptyFolderContents":
			id := op.ChildText("CollectionId")
			r := wbxml.El(eas.ItemOperations, "EmptyFolderContents")
			f, err := c.folder(id)
			if err != nil {
				return nil, err
			}
			if f == nil || !served(f) {
				out.Add(r.Add(io_("Status", ioNotFound), as("CollectionId", id)))
				continue
			}
			if err := c.emptyFolder(f); err != nil {
				return nil, err
			}
			out.Add(r.Add(io_("Status", ioOK), as("CollectionId", id)))
		default:
			out.Add(wbxml.El(eas.ItemOperations, op.Name, io_("Status", ioProtocol)))
		}
	}
	return resp.Add(out), nil
}

func (c *call) emptyFolder(f *store.Folder) error {
	for {
		items, err := c.s.o.Store.ListItems(c.ctx, f.ID, 1, 1000)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		uids := make([]uint32, len(items))
		for i, it := range items {
			uids[i] = it.UID
		}
		if _, err := c.s.o.Store.DeleteItems(c.ctx, f.ID, uids); err != nil {
			return err
		}
	}
}

func (c *call) fetch(op *wbxml.Node, budget *int) (*wbxml.Node, error) {
	r := wbxml.El(eas.ItemOperations, "Fetch")
	if ref := op.ChildText("FileReference"); ref != "" {
		return c.fetchAttachment(r, ref, budget)
	}
	id, sid := op.ChildText("CollectionId"), op.ChildText("ServerId")
	if lid := op.ChildText("LongId"); lid != "" && sid == "" {
		// A mailbox Search result's search:LongId is "<folder>:<uid>".
		sid = lid
		id, _, _ = strings.Cut(lid, ":")
	}
	f, err := c.folder(id)
	if err != nil {
		return nil, err
	}
	var it *store.Item
	if f != nil && served(f) {
		if uid, ok := parseServerID(sid, f.ID); ok {
			it, err = c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
			if err != nil && !notFound(err) {
				return nil, err
			}
		}
	}
	if it == nil {
		return r.Add(io_("Status", ioNotFound), as("CollectionId", id), as("ServerId", sid)), nil
	}
	if f.Type != store.FolderMail {
		ad, err := c.pimData(f, it.ID, parseBodyOptions(op.Child("Options")))
		if err != nil && !notFound(err) {
			return nil, err
		}
		if ad == nil {
			return r.Add(io_("Status", ioNotFound), as("CollectionId", id), as("ServerId", sid)), nil
		}
		props := &wbxml.Node{Page: eas.ItemOperations, Name: "Properties", Children: ad.Children}
		return r.Add(io_("Status", ioOK), as("CollectionId", id), as("ServerId", sid), as("Class", class(f)), props), nil
	}
	m, err := c.readMessage(c.ctx, it.ID)
	if err != nil {
		return nil, err
	}
	ad := c.mailData(m, it, sid, parseBodyOptions(op.Child("Options")))
	props := &wbxml.Node{Page: eas.ItemOperations, Name: "Properties", Children: ad.Children}
	return r.Add(io_("Status", ioOK), as("CollectionId", id), as("ServerId", sid), as("Class", "Email"), props), nil
}

// fetchAttachment serves "<folder>:<uid>:<part>" file references, within
// what is left of the answer's budget of attachment data.
func (c *call) fetchAttachment(r *wbxml.Node, ref string, budget *int) (*wbxml.Node, error) {
	bad := func() (*wbxml.Node, error) {
		return r.Add(io_("Status", ioBadAttach), asb("FileReference", ref)), nil
	}
	parts := strings.Split(ref, ":")
	if len(parts) != 3 || len(ref) > 80 {
		return bad()
	}
	f, err := c.folder(parts[0])
	if err != nil {
		return nil, err
	}
	if f == nil || f.Type != store.FolderMail || f.Deleted {
		return bad()
	}
	uid, ok := parseServerID(parts[0]+":"+parts[1], f.ID)
	n, err := strconv.Atoi(parts[2])
	if !ok || err != nil || n < 1 {
		return bad()
	}
	it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
	if notFound(err) {
		return bad()
	}
	if err != nil {
		return nil, err
	}
	m, err := c.readMessage(c.ctx, it.ID)
	if err != nil {
		return nil, err
	}
	p := m.partByNumber(n)
	if p == nil || p.IsMultipart() {
		return bad()
	}
	data, err := io.ReadAll(io.LimitReader(p.DecodedBody(bytes.NewReader(m.raw)), maxFetchData+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFetchData || len(data) > *budget {
		return r.Add(io_("Status", ioTooLarge), asb("FileReference", ref)), nil
	}
	*budget -= len(data)
	return r.Add(io_("Status", ioOK), asb("FileReference", ref), wbxml.El(eas.ItemOperations, "Properties",
		asb("ContentType", p.MediaType+"/"+p.SubType),
		io_("Total", strconv.Itoa(len(data))),
		io_("Data", base64.StdEncoding.EncodeToString(data)))), nil
}
