package imapserver

import (
	"time"

	"github.com/roost-mail/roost/internal/proto/imap"
)

// fetchExt holds what FETCH reads for a whole command before answering,
// for the items of OBJECTID (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW
// (RFC 8970): save dates in one store call, previews from the cache or
// computed now, so that nothing can fail once a response has started.
type fetchExt struct {
	saved    map[int64]time.Time // by item id
	previews map[int64]string    // by item id
}

// isExtItem reports whether a FETCH item is one of fetchExt's.
func isExtItem(fi imap.FetchItem) bool {
	switch fi.Attr {
	case imap.FetchEmailID, imap.FetchThreadID, imap.FetchSaveDate, imap.FetchPreview:
		return true
	}
	return false
}

// prepareFetchExt loads the data of the extension items of a FETCH for
// the messages at idx, opening them with the command's opener; nil when
// none was asked for.
func (s *session) prepareFetchExt(op *opener, items []imap.FetchItem, idx []int) (*fetchExt, error) {
	var saveDate, preview bool
	for _, fi := range items {
		switch fi.Attr {
		case imap.FetchSaveDate:
			saveDate = true
		case imap.FetchPreview:
			preview = true
		}
	}
	if !saveDate && !preview {
		return nil, nil
	}
	sel := s.sel
	fx := &fetchExt{}
	if saveDate {
		ids := make([]int64, 0, len(idx))
		for _, i := range idx {
			if !sel.msgs[i].expunged {
				ids = append(ids, sel.msgs[i].id)
			}
		}
		var err error
		if fx.saved, err = s.o.Store.SaveDates(s.ctx, sel.folderID, ids); err != nil {
			return nil, wrap(opMailbox, err)
		}
	}
	if preview {
		fx.previews = map[int64]string{}
		pg := s.startProgress(len(idx)) // making previews can take a while (RFC 9585)
		for n, i := range idx {
			pg.at(n)
			m := &sel.msgs[i]
			if m.expunged {
				continue
			}
			text, err := s.preview(op, m)
			if err != nil {
				return nil, err
			}
			fx.previews[m.id] = text
		}
	}
	return fx, nil
}

// preview returns a message's preview, from the cache or made now.
func (s *session) preview(op *opener, m *msg) (string, error) {
	if text, ok := s.srv.previews.get(m.id); ok {
		return text, nil
	}
	ct, err := op.content(m)
	if err != nil {
		return "", err
	}
	defer ct.close()
	text := makePreview(ct)
	s.srv.previews.put(m.id, text)
	return text, nil
}

// writeFetchExt writes one extension item of message m.
func (s *session) writeFetchExt(fw *imap.FetchWriter, fx *fetchExt, m *msg, fi imap.FetchItem) {
	switch fi.Attr {
	case imap.FetchEmailID:
		fw.ObjectID("EMAILID", emailID(m.id))
	case imap.FetchThreadID:
		fw.ObjectID("THREADID", "")
	case imap.FetchSaveDate:
		fw.SaveDate(fx.saved[m.id])
	case imap.FetchPreview:
		// RFC 8970 §3.2: LAZY allows NIL when the preview is not at hand;
		// it always is here (made before the response started).
		fw.Preview(fx.previews[m.id], false)
	}
}
