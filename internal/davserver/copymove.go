package davserver

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/store"
)

// maxCopyFolders bounds the collections one COPY creates.
const maxCopyFolders = 200

// copyMove implements COPY and MOVE (RFC 4918 §9.8, §9.9) of resources
// and collections within one store.
func (s *Server) copyMove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	move := r.Method == "MOVE"
	src, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if !src.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	if src.kind != resObject && src.kind != resFolder {
		return errStatus(http.StatusForbidden, "cannot copy or move this")
	}
	destHdr := r.Header.Get("Destination")
	if destHdr == "" {
		return errStatus(http.StatusBadRequest, "no Destination header")
	}
	dpath := s.hrefPath(destHdr)
	if dpath == "" {
		return errStatus(http.StatusBadGateway, "destination is not on this server")
	}
	if strings.TrimSuffix(dpath, "/") == strings.TrimSuffix(r.URL.EscapedPath(), "/") {
		return errStatus(http.StatusForbidden, "source and destination are the same")
	}
	dst, err := s.resolve(ctx, dpath)
	if err != nil {
		if isNotFound(err) {
			return errStatus(http.StatusConflict, "destination collection does not exist")
		}
		return err
	}
	if dst.parentMissing || dst.kind != resObject && dst.kind != resFolder {
		return errStatus(http.StatusConflict, "destination collection does not exist")
	}
	if groupware.IsScheduleInbox(dst.folder) {
		return errStatus(http.StatusForbidden, "the schedule inbox is written by the server")
	}
	overwrite := !strings.EqualFold(strings.TrimSpace(r.Header.Get("Overwrite")), "F")
	if dst.exists && !overwrite {
		return errStatus(http.StatusPreconditionFailed, "destination exists")
	}
	if src.kind == resFolder {
		return s.copyMoveFolder(w, r, src, dst, move)
	}
	if dst.kind == resFolder && !dst.exists {
		return errStatus(http.StatusConflict, "resources live in a collection")
	}
	existed := dst.exists
	if dst.exists && dst.kind == resFolder {
		// Overwrite a collection with a resource: the resource takes its
		// place in the parent collection (RFC 4918 §9.8.4, §9.9.3).
		if dst.folder.ParentID == 0 {
			return errStatus(http.StatusConflict, "resources live in a collection")
		}
		parent, err := s.o.Store.GetFolder(ctx, dst.folder.ParentID)
		if err != nil {
			return err
		}
		if err := s.o.Store.DeleteFolder(ctx, dst.folder.ID); err != nil {
			return err
		}
		dst = &resource{kind: resObject, space: dst.space, login: dst.login, st: dst.st, folder: parent,
			name: dst.folder.Name, folders: dst.folders}
	}
	body, err := s.readItem(ctx, src.item)
	if err != nil {
		return err
	}
	p, err := s.prepare(ctx, dst.folder, body)
	if err != nil {
		return err
	}
	if p.uid != "" && (isCalendar(dst.folder) || isAddressBook(dst.folder)) {
		// A MOVE within the collection frees its own UID.
		if !(move && src.folder.ID == dst.folder.ID) {
			if err := s.checkUID(ctx, dst, p.uid); err != nil {
				return err
			}
		}
	}
	props := s.itemProps(ctx, src.folder.ID, src.name)
	var created bool
	if move && src.folder.ID == dst.folder.ID && dst.item != nil {
		// Delete the destination first, so the UID is free.
		if _, err := s.o.Store.DeleteItems(ctx, dst.folder.ID, []uint32{dst.item.UID}); err != nil {
			return err
		}
		s.dropItemProps(ctx, dst.folder.ID, dst.name)
		dst.item = nil
	}
	if move && src.folder.ID == dst.folder.ID && p.uid != "" {
		// Same folder: delete the source first so that the UID check of
		// the store (one UID per name) cannot trip over it.
		if _, err := s.o.Store.DeleteItems(ctx, src.folder.ID, []uint32{src.item.UID}); err != nil {
			return err
		}
		if _, created, err = s.store(ctx, dst, p); err != nil {
			return err
		}
	} else {
		if _, created, err = s.store(ctx, dst, p); err != nil {
			return err
		}
		if move {
			if _, err := s.o.Store.DeleteItems(ctx, src.folder.ID, []uint32{src.item.UID}); err != nil {
				return err
			}
		}
	}
	s.dropItemProps(ctx, dst.folder.ID, dst.name)
	if len(props) > 0 {
		set := map[string]*string{}
		for k, v := range props {
			v := v
			set[itemPropPfx+dst.name+"/"+k] = &v
		}
		if err := s.o.Store.SetFolderProps(ctx, dst.folder.ID, set); err != nil {
			s.log.Warn("copying resource properties", "err", err)
		}
	}
	if move {
		s.dropItemProps(ctx, src.folder.ID, src.name)
	}
	if created && !existed {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (s *Server) copyMoveFolder(w http.ResponseWriter, r *http.Request, src, dst *resource, move bool) error {
	ctx := r.Context()
	// Where the new collection goes: the home's top level or a folder.
	storeID, parentID, name := int64(0), int64(0), dst.name
	switch {
	case dst.exists && dst.kind == resFolder:
		storeID, parentID, name = dst.folder.StoreID, dst.folder.ParentID, dst.folder.Name
	case dst.exists: // an object
		storeID, parentID = dst.folder.StoreID, dst.folder.ID
	case dst.kind == resFolder:
		storeID = dst.st.ID
	default:
		storeID, parentID = dst.folder.StoreID, dst.folder.ID
	}
	if storeID != src.folder.StoreID {
		return errStatus(http.StatusForbidden, "collections move only within a store")
	}
	existed := dst.exists
	if dst.exists {
		var err error
		if dst.kind == resFolder {
			if dst.folder.ID == src.folder.ID {
				return errStatus(http.StatusForbidden, "source and destination are the same")
			}
			err = s.o.Store.DeleteFolder(ctx, dst.folder.ID)
		} else {
			_, err = s.o.Store.DeleteItems(ctx, dst.folder.ID, []uint32{dst.item.UID})
		}
		if err != nil {
			return err
		}
	}
	if strings.HasPrefix(name, "~") {
		return errStatus(http.StatusForbidden, "reserved name")
	}
	if move {
		if _, err := s.o.Store.RenameFolder(ctx, src.folder.ID, parentID, name); err != nil {
			return mapCollectionErr(err)
		}
	} else {
		d := depth(r, -1)
		count := 0
		if err := s.copyTree(ctx, src.folder, storeID, parentID, name, d != 0, &count); err != nil {
			return mapCollectionErr(err)
		}
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}

func mapCollectionErr(err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return errStatus(http.StatusPreconditionFailed, "destination exists")
	case errors.Is(err, store.ErrInvalid):
		return errStatus(http.StatusForbidden, "cannot do that with this collection")
	}
	return err
}

// copyTree copies folder f as name under parentID, with its members when
// deep.
func (s *Server) copyTree(ctx context.Context, f *store.Folder, storeID, parentID int64, name string, deep bool, count *int) error {
	if *count++; *count > maxCopyFolders {
		return errStatus(http.StatusInsufficientStorage, "too many collections to copy")
	}
	nf, err := s.o.Store.CreateFolder(ctx, storeID, parentID, name, f.Type)
	if err != nil {
		return err
	}
	if props, err := s.o.Store.FolderProps(ctx, f.ID); err == nil && len(props) > 0 {
		set := map[string]*string{}
		for k, v := range props {
			v := v
			set[k] = &v
		}
		if err := s.o.Store.SetFolderProps(ctx, nf.ID, set); err != nil {
			s.log.Warn("copying collection properties", "err", err)
		}
	}
	if !deep {
		return nil
	}
	its, err := s.o.Store.ListObjects(ctx, f.ID, store.ObjectQuery{Limit: s.o.MaxResults})
	if err != nil {
		return err
	}
	for _, it := range its {
		b, err := s.readItem(ctx, it)
		if err != nil {
			return err
		}
		if _, err := s.o.Store.AppendItem(ctx, nf.ID, store.NewItem{Content: bytes.NewReader(b), Name: it.Name,
			ObjectUID: it.ObjectUID, Start: it.Start, End: it.End, InternalDate: it.InternalDate}); err != nil {
			return err
		}
	}
	fs, err := s.o.Store.ListFolders(ctx, f.StoreID)
	if err != nil {
		return err
	}
	for _, c := range fs {
		if c.ParentID == f.ID && c.ID != nf.ID {
			if err := s.copyTree(ctx, c, storeID, nf.ID, c.Name, true, count); err != nil {
				return err
			}
		}
	}
	return nil
}
