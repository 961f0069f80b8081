package easserver

import (
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// MoveItems statuses ([MS-ASCMD] §2.2.3.177.9).
const (
	moveBadSource = "1"
	moveBadDest   = "2"
	moveOK        = "3"
	moveSame      = "4"
)

func mv(name, v string) *wbxml.Node { return wbxml.Str(eas.Move, name, v) }

// moveItems is MoveItems ([MS-ASCMD] §2.2.1.12): items move between the
// user's folders and get new ids there.
func moveItems(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	resp := wbxml.El(eas.Move, "MoveItems")
	moves := req.All("Move")
	if len(moves) == 0 || len(moves) > 1000 {
		return nil, errStatus(eas.StatusInvalidContent, 400)
	}
	for _, m := range moves {
		src := m.ChildText("SrcMsgId")
		r := wbxml.El(eas.Move, "Response", mv("SrcMsgId", src))
		resp.Add(r)
		from, err := c.folder(m.ChildText("SrcFldId"))
		if err != nil {
			return nil, err
		}
		if from == nil || from.Type != store.FolderMail || from.Deleted {
			r.Add(mv("Status", moveBadSource))
			continue
		}
		uid, ok := parseServerID(src, from.ID)
		if !ok {
			r.Add(mv("Status", moveBadSource))
			continue
		}
		to, err := c.folder(m.ChildText("DstFldId"))
		if err != nil {
			return nil, err
		}
		if to == nil || to.Type != store.FolderMail || to.Deleted {
			r.Add(mv("Status", moveBadDest))
			continue
		}
		if to.ID == from.ID {
			r.Add(mv("Status", moveSame))
			continue
		}
		got, err := c.s.o.Store.MoveItems(c.ctx, from.ID, []uint32{uid}, to.ID)
		if notFound(err) || (err == nil && len(got) == 0) {
			r.Add(mv("Status", moveBadSource))
			continue
		}
		if err != nil {
			return nil, err
		}
		r.Add(mv("Status", moveOK), mv("DstMsgId", serverID(to.ID, got[0].To)))
	}
	return resp, nil
}
