package davserver

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roost-mail/roost/internal/store"
)

// Sync tokens (RFC 6578 §3.2) are URIs carrying the store's journal
// sequence (MODSEQ): every change to a folder has a higher one.
const syncTokenPrefix = "http://roost.invalid/ns/sync/"

func syncToken(seq uint64) string { return syncTokenPrefix + strconv.FormatUint(seq, 10) }

func parseSyncToken(tok string) (uint64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(tok), syncTokenPrefix)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(rest, 10, 64)
	return v, err == nil
}

// syncPage bounds one read of the change journal.
const syncPage = 5000

func (s *Server) syncCollection(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	if res.kind != resFolder {
		return precondition(http.StatusForbidden, "<D:supported-report/>", "sync-collection needs a collection")
	}
	if lvl := root.child(nsDAV, "sync-level"); lvl != nil {
		switch strings.TrimSpace(lvl.Text) {
		case "1":
		case "infinite":
			// Our collections have no member collections to sync.
			return precondition(http.StatusForbidden, "<D:supported-report/>", "only sync-level 1")
		default:
			// RFC 6578 §6.3: the only values are 1 and infinite.
			return errStatus(http.StatusBadRequest, "unknown sync-level")
		}
	}
	limit := s.o.MaxResults
	if l := root.child(nsDAV, "limit"); l != nil {
		if nr := l.child(nsDAV, "nresults"); nr != nil {
			if v, err := strconv.Atoi(strings.TrimSpace(nr.Text)); err == nil && v > 0 && v < limit {
				limit = v
			}
		}
	}
	pr := propRequestOf(root)
	f := res.folder
	base := s.folderHref(res, f)
	tokText := ""
	if t := root.child(nsDAV, "sync-token"); t != nil {
		tokText = strings.TrimSpace(t.Text)
	}
	var results []*objectResult
	var removed []string
	var newSeq uint64
	truncated := false
	if tokText == "" {
		// Initial sync: every member.
		newSeq = f.HighestModSeq
		its, err := s.o.Store.ListObjects(ctx, f.ID, store.ObjectQuery{Limit: s.o.MaxResults + 1})
		if err != nil {
			return err
		}
		if len(its) > s.o.MaxResults {
			its, truncated = its[:s.o.MaxResults], true
		}
		for _, it := range its {
			results = append(results, &objectResult{t: &target{res: res, kind: resObject, folder: f, item: it, href: base + urlSeg(it.Name)}})
		}
	} else {
		since, ok := parseSyncToken(tokText)
		if !ok {
			return precondition(http.StatusForbidden, "<D:valid-sync-token/>", "unknown sync token")
		}
		newSeq = since
		changed := map[string]bool{}
		var order []string
	scan:
		for {
			chs, err := s.o.Store.Changes(ctx, f.StoreID, newSeq, syncPage)
			if err != nil {
				return err
			}
			for _, c := range chs {
				relevant := c.FolderID == f.ID && c.Name != "" &&
					(c.Kind == store.ChangeItemCreated || c.Kind == store.ChangeItemUpdated || c.Kind == store.ChangeItemDeleted)
				if relevant && !changed[c.Name] {
					if len(order) >= limit {
						// RFC 6578 §3.6: report what fits, with a token
						// that resumes at the first change left out.
						truncated = true
						break scan
					}
					changed[c.Name] = true
					order = append(order, c.Name)
				}
				newSeq = c.Seq
			}
			if len(chs) < syncPage {
				break
			}
		}
		live := map[string]bool{}
		for chunk := range slices.Chunk(order, 500) {
			its, err := s.o.Store.ListObjects(ctx, f.ID, store.ObjectQuery{Names: chunk})
			if err != nil {
				return err
			}
			for _, it := range its {
				live[it.Name] = true
				results = append(results, &objectResult{t: &target{res: res, kind: resObject, folder: f, item: it, href: base + urlSeg(it.Name)}})
			}
		}
		for _, n := range order {
			if !live[n] {
				removed = append(removed, base+urlSeg(n))
			}
		}
		if !truncated && newSeq < f.HighestModSeq {
			newSeq = f.HighestModSeq
		}
	}
	shareTargets(results)
	return s.writeObjects(ctx, w, r, pr, results, func(ms *multistatus) {
		for _, h := range removed {
			ms.statusResponse(h, http.StatusNotFound)
		}
		if truncated {
			ms.statusResponse(base, http.StatusInsufficientStorage)
		}
		ms.raw("<D:sync-token>" + escapeString(syncToken(newSeq)) + "</D:sync-token>")
	})
}
