package jmapserver

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// CapBlob is RFC 9404.
const CapBlob = "urn:ietf:params:jmap:blob"

// Bounds of Blob management.
const (
	maxDataSources = 64       // DataSourceObjects per Blob/upload creation
	maxBlobGetData = 16 << 20 // bytes of data one Blob/get returns per blob
	maxBlobGetSum  = 32 << 20 // bytes of data one Blob/get returns in all
)

var blobDigests = []string{"sha", "sha-256"}

var blobLookupTypes = []string{"Mailbox", "Thread", "Email"}

func (s *Server) blobAccountCapability() map[string]any {
	return map[string]any{
		"maxSizeBlobSet":            s.o.MaxSizeUpload,
		"maxDataSources":            maxDataSources,
		"supportedTypeNames":        blobLookupTypes,
		"supportedDigestAlgorithms": blobDigests,
	}
}

// dataSource is RFC 9404 §4.1's DataSourceObject.
type dataSource struct {
	AsText   *string `json:"data:asText"`
	AsBase64 *string `json:"data:asBase64"`
	BlobID   *string `json:"blobId"`
	Offset   *int64  `json:"offset"`
	Length   *int64  `json:"length"`
}

// blobUpload is Blob/upload (RFC 9404 §4.1): a blob made of literal data
// and ranges of other blobs, stored like an upload.
func blobUpload(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string `json:"accountId"`
		Create    map[string]struct {
			Data []dataSource `json:"data"`
			Type *string      `json:"type"`
		} `json:"create"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.Create) > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d objects, at most %d (maxObjectsInSet)", len(a.Create), c.s.o.MaxObjectsInSet)
	}
	st, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	if c.s.o.Blobs == nil {
		return nil, jmap.Errorf(jmap.ErrForbidden, "uploads are not available")
	}
	created, notCreated := map[string]any{}, map[string]*jmap.SetError{}
	err = setEach(sortedKeys(a.Create), notCreated, func(k string) error {
		cr := a.Create[k]
		if len(cr.Data) == 0 || len(cr.Data) > maxDataSources {
			return invalidProps(fmt.Sprintf("data needs 1 to %d sources", maxDataSources), "data")
		}
		var buf bytes.Buffer
		for i, ds := range cr.Data {
			if err := c.appendSource(st, &buf, ds, c.s.o.MaxSizeUpload-int64(buf.Len())); err != nil {
				var se *jmap.SetError
				if errors.As(err, &se) && se.Type == jmap.SetInvalidProperties {
					se.Properties = []string{fmt.Sprintf("data/%d", i)}
				}
				return err
			}
		}
		id, size, err := c.s.o.Blobs.Put(c.ctx, &buf)
		if err != nil {
			return fmt.Errorf("put blob: %w", err)
		}
		typ := "application/octet-stream"
		if cr.Type != nil {
			typ = uploadType(*cr.Type)
		}
		c.s.rememberUpload(st.ID, id, upload{typ: typ, size: size, expires: c.s.o.Now().Add(c.s.o.UploadTTL)})
		c.created[k] = "G" + string(id)
		created[k] = map[string]any{"id": "G" + string(id), "type": typ, "size": size}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"accountId": a.AccountID, "created": created, "notCreated": notCreated}, nil
}

// appendSource appends one data source to buf, at most room bytes.
func (c *call) appendSource(st *store.Store, buf *bytes.Buffer, ds dataSource, room int64) error {
	tooLarge := &jmap.SetError{Type: jmap.SetTooLarge, Description: fmt.Sprintf("a blob holds at most %d bytes", c.s.o.MaxSizeUpload)}
	n := 0
	for _, set := range []bool{ds.AsText != nil, ds.AsBase64 != nil, ds.BlobID != nil} {
		if set {
			n++
		}
	}
	if n != 1 || (ds.BlobID == nil && (ds.Offset != nil || ds.Length != nil)) {
		return invalidProps("a data source is one of data:asText, data:asBase64 or blobId (with offset and length)")
	}
	switch {
	case ds.AsText != nil:
		if int64(len(*ds.AsText)) > room {
			return tooLarge
		}
		buf.WriteString(*ds.AsText)
	case ds.AsBase64 != nil:
		if int64(base64.StdEncoding.DecodedLen(len(*ds.AsBase64))) > room+3 {
			return tooLarge
		}
		b, err := base64.StdEncoding.DecodeString(*ds.AsBase64)
		if err != nil {
			return invalidProps("data:asBase64 is not base64")
		}
		if int64(len(b)) > room {
			return tooLarge
		}
		buf.Write(b)
	default:
		off, length := int64(0), int64(-1)
		if ds.Offset != nil {
			off = *ds.Offset
		}
		if ds.Length != nil {
			length = *ds.Length
		}
		if off < 0 || (ds.Length != nil && length < 0) {
			return invalidProps("offset and length must not be negative")
		}
		rc, size, _, err := c.s.openBlob(c.ctx, st.ID, c.resolveID(*ds.BlobID))
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			return &jmap.SetError{Type: jmap.SetBlobNotFound, Description: "no blob " + *ds.BlobID}
		}
		if err != nil {
			return fmt.Errorf("blob %s: %w", *ds.BlobID, err)
		}
		defer rc.Close()
		if length < 0 {
			length = size - off
		}
		// RFC 9404 §4.1: a range beyond the blob is an error.
		if off > size || length > size-off { // (off+length may overflow)
			return invalidProps("the range is beyond the blob's end")
		}
		if length > room {
			return tooLarge
		}
		if _, err := io.CopyN(io.Discard, rc, off); err != nil {
			return fmt.Errorf("skip in blob %s: %w", *ds.BlobID, err)
		}
		if _, err := io.CopyN(buf, rc, length); err != nil {
			return fmt.Errorf("read blob %s: %w", *ds.BlobID, err)
		}
	}
	return nil
}

// blobGet is Blob/get (RFC 9404 §4.2) with offset/length ranges and
// digests.
func blobGet(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		getArgs
		Offset *int64 `json:"offset"`
		Length *int64 `json:"length"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkGet(&a.getArgs, nil); err != nil {
		return nil, err
	}
	if a.IDs == nil {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "Blob/get needs ids")
	}
	props := []string{"data", "size"}
	if a.Properties != nil {
		props = *a.Properties
	}
	for _, p := range props {
		if p != "id" && p != "data" && p != "data:asText" && p != "data:asBase64" && p != "size" &&
			!(strings.HasPrefix(p, "digest:") && slices.Contains(blobDigests, p[len("digest:"):])) {
			return nil, jmap.Errorf(jmap.ErrInvalidArguments, "unknown property %q", p)
		}
	}
	if (a.Offset != nil && *a.Offset < 0) || (a.Length != nil && *a.Length < 0) {
		return nil, jmap.Errorf(jmap.ErrInvalidArguments, "offset and length must not be negative")
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	res := getResponse{AccountID: a.AccountID, List: []any{}, NotFound: []string{}}
	// RFC 9404 §4.2: blobs never change, the state is never checked.
	res.State = jmap.FormatState(st.ModSeq)
	sum := 0
	for _, id := range *a.IDs {
		o, err := c.blobObject(st, id, props, a.Offset, a.Length, &sum)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		res.List = append(res.List, o)
	}
	return res, nil
}

func (c *call) blobObject(st *store.Store, id string, props []string, offset, length *int64, sum *int) (map[string]any, error) {
	rc, size, _, err := c.s.openBlob(c.ctx, st.ID, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	o := map[string]any{"id": id}
	wantData := slices.ContainsFunc(props, func(p string) bool { return strings.HasPrefix(p, "data") })
	wantDigest := slices.ContainsFunc(props, func(p string) bool { return strings.HasPrefix(p, "digest:") })
	if slices.Contains(props, "size") {
		o["size"] = size
	}
	if !wantData && !wantDigest {
		return o, nil
	}
	off, n := int64(0), size
	if offset != nil {
		off = min(*offset, size)
	}
	if length != nil {
		n = *length
	}
	truncated := n > size-off || (offset != nil && *offset > size) // (off+n may overflow)
	n = min(n, size-off)
	if n > maxBlobGetData {
		n, truncated = maxBlobGetData, true
	}
	if *sum += int(n); *sum > maxBlobGetSum {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "at most %d bytes of data per Blob/get: ask for fewer blobs or shorter ranges", maxBlobGetSum)
	}
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		return nil, fmt.Errorf("skip in blob %s: %w", id, err)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", id, err)
	}
	if truncated {
		o["isTruncated"] = true
	}
	for _, p := range props {
		switch p {
		case "data:asText":
			if utf8.Valid(data) {
				o[p] = string(data)
			} else {
				o[p] = nil
				o["isEncodingProblem"] = true
			}
		case "data:asBase64":
			o[p] = base64.StdEncoding.EncodeToString(data)
		case "data":
			if utf8.Valid(data) {
				o["data:asText"] = string(data)
			} else {
				o["data:asBase64"] = base64.StdEncoding.EncodeToString(data)
			}
		case "digest:sha":
			sum := sha1.Sum(data)
			o[p] = base64.StdEncoding.EncodeToString(sum[:])
		case "digest:sha-256":
			sum := sha256.Sum256(data)
			o[p] = base64.StdEncoding.EncodeToString(sum[:])
		}
	}
	return o, nil
}

// blobLookup is Blob/lookup (RFC 9404 §4.3): the objects a blob belongs
// to. A message blob ("m") and its parts ("p") belong to their Email,
// its Mailbox and its Thread; an upload belongs to nothing.
func blobLookup(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		AccountID string   `json:"accountId"`
		TypeNames []string `json:"typeNames"`
		IDs       []string `json:"ids"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.IDs) > c.s.o.MaxObjectsInGet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d ids, at most %d (maxObjectsInGet)", len(a.IDs), c.s.o.MaxObjectsInGet)
	}
	for _, t := range a.TypeNames {
		if !slices.Contains(blobLookupTypes, t) {
			return nil, jmap.Errorf("unknownDataType", "cannot look up blobs of %q", t)
		}
	}
	st, err := c.dataAccount(a.AccountID)
	if err != nil {
		return nil, err
	}
	list, notFound := []any{}, []string{}
	for _, id := range a.IDs {
		rc, _, _, err := c.s.openBlob(c.ctx, st.ID, id)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			notFound = append(notFound, id)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", id, err)
		}
		rc.Close()
		matched := map[string][]string{}
		for _, t := range a.TypeNames {
			matched[t] = []string{}
		}
		var itemID int64
		switch {
		case strings.HasPrefix(id, "m"):
			itemID, _ = jmap.ParseID('m', id)
		case strings.HasPrefix(id, "p"):
			itemID, _, _ = parsePartBlobID(id)
		}
		if itemID != 0 {
			it, err := c.s.itemOf(c.ctx, st.ID, itemID)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", itemID, err)
			}
			for t := range matched {
				switch t {
				case "Email":
					matched[t] = []string{jmap.FormatID('E', it.ID)}
				case "Mailbox":
					matched[t] = []string{jmap.FormatID('M', it.FolderID)}
				case "Thread":
					tid, err := c.threadIDOf(it)
					if err != nil {
						return nil, err
					}
					matched[t] = []string{tid}
				}
			}
		}
		list = append(list, map[string]any{"id": id, "matchedIds": matched})
	}
	return map[string]any{"accountId": a.AccountID, "list": list, "notFound": notFound}, nil
}

// blobCopy is Blob/copy (RFC 8620 §6.3): a blob of one account (own or
// shared, as Email/copy resolves them) becomes an upload of one's own.
func blobCopy(c *call, raw json.RawMessage) (any, error) {
	var a struct {
		FromAccountID string   `json:"fromAccountId"`
		AccountID     string   `json:"accountId"`
		BlobIDs       []string `json:"blobIds"`
	}
	if err := parseArgs(raw, &a); err != nil {
		return nil, err
	}
	if len(a.BlobIDs) > c.s.o.MaxObjectsInSet {
		return nil, jmap.Errorf(jmap.ErrRequestTooLarge, "%d blobs, at most %d (maxObjectsInSet)", len(a.BlobIDs), c.s.o.MaxObjectsInSet)
	}
	from, err := c.copyAccount(a.FromAccountID)
	if err != nil {
		return nil, err
	}
	// The copy becomes an upload, and uploads go to one's own account
	// only (as /jmap/upload): another user's uploads are theirs.
	to, err := c.account(a.AccountID)
	if err != nil {
		return nil, err
	}
	if c.s.o.Blobs == nil {
		return nil, jmap.Errorf(jmap.ErrForbidden, "uploads are not available")
	}
	own := to
	copied, notCopied := map[string]string{}, map[string]*jmap.SetError{}
	for _, id := range a.BlobIDs {
		rid := c.resolveID(id)
		if from.ID != own.ID && !strings.HasPrefix(rid, "m") && !strings.HasPrefix(rid, "p") {
			// Another user's account is reached through a shared folder:
			// its messages (and their parts) are readable as the store
			// allows, its uploads and scripts are not.
			notCopied[id] = &jmap.SetError{Type: jmap.SetBlobNotFound}
			continue
		}
		rc, size, typ, err := c.s.openBlob(c.ctx, from.ID, rid)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission) {
			notCopied[id] = &jmap.SetError{Type: jmap.SetBlobNotFound}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", id, err)
		}
		if size > c.s.o.MaxSizeUpload {
			rc.Close()
			notCopied[id] = &jmap.SetError{Type: jmap.SetTooLarge}
			continue
		}
		bid, n, err := c.s.o.Blobs.Put(c.ctx, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("copy blob %s: %w", id, err)
		}
		c.s.rememberUpload(to.ID, bid, upload{typ: typ, size: n, expires: c.s.o.Now().Add(c.s.o.UploadTTL)})
		copied[id] = "G" + string(bid)
	}
	return map[string]any{"fromAccountId": a.FromAccountID, "accountId": a.AccountID, "copied": copied, "notCopied": notCopied}, nil
}
