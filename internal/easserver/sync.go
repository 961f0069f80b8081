package easserver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/groupware"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// Sync statuses ([MS-ASCMD] §2.2.3.177.17).
const (
	syncOK          = "1"
	syncBadKey      = "3"
	syncProtocol    = "4"
	syncServerError = "5"
	syncConversion  = "6"
	syncNotFound    = "8"
	syncHierarchy   = "12"
	syncIncomplete  = "13"
	syncBadWait     = "14"
	syncTooMany     = "15"
)

// Window sizes ([MS-ASCMD] §2.2.3.199: at most 512).
const (
	defaultWindow  = 100
	maxWindow      = 512
	maxCollections = 100
	// DefaultMaxSyncBytes is the byte budget of one Sync response's
	// server changes (Options.MaxSyncBytes).
	DefaultMaxSyncBytes = 8 << 20
)

// errSyncFull: the Sync response's byte budget is spent; the window ends
// with MoreAvailable (serverChanges).
var errSyncFull = errors.New("sync response full")

// syncKey is the state a Sync key names: the folder's UIDVALIDITY, the
// journal position seq the device has seen, and during the first full
// load of the folder a UID cursor (items below bound, the UIDNEXT when
// the load began, with UID > cursor are still to send; cursor >= bound
// when the load is done). gen only makes every key new.
type syncKey struct {
	uv     uint32
	seq    uint64
	cursor uint32
	bound  uint32
	gen    uint32
}

func (k syncKey) String() string {
	return fmt.Sprintf("S%d.%d.%d.%d.%d", k.uv, k.seq, k.cursor, k.bound, k.gen)
}

func (k syncKey) loading() bool { return k.cursor < k.bound }

// maxSyncKey bounds a SyncKey ([MS-ASCMD] §2.2.3.181.4: at most 64
// characters).
const maxSyncKey = 64

func parseSyncKey(s string) (syncKey, bool) {
	var k syncKey
	rest, ok := strings.CutPrefix(s, "S")
	if !ok || len(s) > maxSyncKey {
		return k, false
	}
	f := strings.Split(rest, ".")
	if len(f) != 5 {
		return k, false
	}
	var n [5]uint64
	for i, x := range f {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil || (i != 1 && v > 0xffffffff) {
			return k, false
		}
		n[i] = v
	}
	return syncKey{uint32(n[0]), n[1], uint32(n[2]), uint32(n[3]), uint32(n[4])}, true
}

func as(name, v string) *wbxml.Node { return wbxml.Str(eas.AirSync, name, v) }

// serverID is an item's id: "<folder>:<uid>".
func serverID(folderID int64, uid uint32) string {
	return strconv.FormatInt(folderID, 10) + ":" + strconv.FormatUint(uint64(uid), 10)
}

// parseServerID returns the UID of a ServerId of folder folderID.
func parseServerID(s string, folderID int64) (uint32, bool) {
	f, u, ok := strings.Cut(s, ":")
	if !ok || len(s) > 64 || f != strconv.FormatInt(folderID, 10) {
		return 0, false
	}
	n, err := strconv.ParseUint(u, 10, 32)
	return uint32(n), err == nil && n > 0
}

// syncCmd is Sync ([MS-ASCMD] §2.2.1.21) for mail collections.
func syncCmd(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	if req == nil || req.Child("Collections") == nil {
		// An empty Sync repeats the previous one, which Roost does not
		// keep: the client sends the full request again.
		return wbxml.El(eas.AirSync, "Sync", as("Status", syncIncomplete)), nil
	}
	if req.Child("Partial") != nil {
		return wbxml.El(eas.AirSync, "Sync", as("Status", syncIncomplete)), nil
	}
	cols := req.Child("Collections").All("Collection")
	if len(cols) == 0 || len(cols) > maxCollections {
		return wbxml.El(eas.AirSync, "Sync", as("Status", syncTooMany)), nil
	}
	// A Fetch costs a few bytes and answers with a whole message: the
	// Fetches of one request (over all its collections, which may name
	// the same folder) are bounded like a window.
	fetches := 0
	for _, col := range cols {
		fetches += len(col.Child("Commands").All("Fetch"))
	}
	if fetches > maxWindow {
		return wbxml.El(eas.AirSync, "Sync", as("Status", syncProtocol)), nil
	}
	window := defaultWindow
	if w := req.ChildText("WindowSize"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return wbxml.El(eas.AirSync, "Sync", as("Status", syncProtocol)), nil
		}
		window = min(n, maxWindow)
	}
	var wait time.Duration
	if v := req.ChildText("Wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 59 {
			return wbxml.El(eas.AirSync, "Sync", as("Status", syncBadWait), as("Limit", "59")), nil
		}
		// The operator's MaxHeartbeat bounds how long any request
		// parks, a Sync's Wait as a Ping's heartbeat: the answer comes
		// earlier, and the device asks again.
		wait = min(time.Duration(n)*time.Minute, time.Duration(c.s.o.MaxHeartbeat)*time.Second)
	}
	if v := req.ChildText("HeartbeatInterval"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < c.s.o.MinHeartbeat || n > c.s.o.MaxHeartbeat {
			return wbxml.El(eas.AirSync, "Sync", as("Status", syncBadWait), as("Limit", strconv.Itoa(c.s.o.MaxHeartbeat))), nil
		}
		wait = time.Duration(n) * time.Second
	}
	for attempt := 0; ; attempt++ {
		out := wbxml.El(eas.AirSync, "Collections")
		busy := false
		c.syncBytes, c.syncItems = 0, 0
		var folders []int64
		for _, col := range cols {
			rc, sent, f, err := c.syncCollection(col, window, attempt > 0)
			if err != nil {
				return nil, err
			}
			busy = busy || sent
			if f != 0 {
				folders = append(folders, f)
			}
			out.Add(rc)
		}
		if err := c.saveSynced(); err != nil {
			return nil, err
		}
		if busy || wait == 0 || attempt > 0 {
			if !busy && attempt > 0 {
				// [MS-ASCMD] §2.2.3.197: nothing changed within the wait:
				// an empty response.
				return nil, nil
			}
			return wbxml.El(eas.AirSync, "Sync", out), nil
		}
		// Nothing to send: wait for a change, like Ping, then look again.
		if _, err := c.waitChange(folders, wait); err != nil {
			return nil, err
		}
	}
}

// saveSynced writes the sync positions if they changed.
func (c *call) saveSynced() error {
	if !c.syncedDirty {
		return nil
	}
	c.syncedDirty = false
	return saveSyncPositions(c)
}

// syncCollection answers one Collection. sent tells whether it carries
// anything for the device (commands, responses, a new key); folderID is
// the collection's folder (0 if not found). repeat: a second look after
// a Wait, the client's commands already applied.
func (c *call) syncCollection(col *wbxml.Node, window int, repeat bool) (resp *wbxml.Node, sent bool, folderID int64, err error) {
	id := col.ChildText("CollectionId")
	keyText := col.ChildText("SyncKey")
	resp = wbxml.El(eas.AirSync, "Collection")
	f, err := c.folder(id)
	if err != nil {
		return nil, false, 0, err
	}
	answer := func(key, status string) {
		if !c.v14() {
			cls := "Email"
			if f != nil {
				cls = class(f)
			}
			resp.Add(as("Class", cls))
		}
		resp.Add(as("SyncKey", key), as("CollectionId", id), as("Status", status))
	}
	if f == nil || !served(f) {
		answer(keyText, syncNotFound)
		return resp, true, 0, nil
	}
	st, err := c.s.o.Store.GetStore(c.ctx, c.st.ID)
	if err != nil {
		return nil, false, 0, err
	}
	if keyText == "0" {
		// [MS-ASCMD] §2.2.3.166.4: the first key, nothing else.
		k := syncKey{uv: f.UIDValidity, seq: st.ModSeq, cursor: 0, bound: f.UIDNext, gen: 1}
		c.setSynced(id, 0)
		answer(k.String(), syncOK)
		return resp, true, f.ID, nil
	}
	k, ok := parseSyncKey(keyText)
	if !ok || k.uv != f.UIDValidity || k.seq > st.ModSeq || k.bound > f.UIDNext || k.cursor > k.bound {
		c.setSynced(id, 0)
		answer("0", syncBadKey)
		return resp, true, f.ID, nil
	}
	opts := parseBodyOptions(col.Child("Options"))
	var cutoff time.Time
	// FilterType ages mail by its date; for calendars it counts from an
	// event's end, which Roost does not filter by yet: every event goes.
	if ft, err := strconv.Atoi(col.Child("Options").ChildText("FilterType")); err == nil && f.Type == store.FolderMail {
		if d, ok := filterAges[ft]; ok && d > 0 {
			cutoff = c.s.o.Now().Add(-d)
		}
	}
	if w := col.ChildText("WindowSize"); w != "" {
		if n, err := strconv.Atoi(w); err == nil && n >= 1 {
			window = min(n, maxWindow)
		}
	}
	responses := wbxml.El(eas.AirSync, "Responses")
	echo := map[uint32]bool{} // items the device itself changed now
	if cmds := col.Child("Commands"); cmds != nil && !repeat {
		if err := c.clientCommands(f, cmds, col.ChildText("DeletesAsMoves") != "0", opts, responses, echo); err != nil {
			return nil, false, 0, err
		}
	}
	next := k
	next.gen++
	commands := wbxml.El(eas.AirSync, "Commands")
	more := false
	if col.ChildText("GetChanges") != "0" {
		more, err = c.serverChanges(f, &next, window, cutoff, opts, commands, echo)
		if err != nil {
			return nil, false, 0, err
		}
	}
	if len(commands.Children) == 0 && len(responses.Children) == 0 && !more && next.seq == k.seq && next.cursor == k.cursor {
		// Nothing new: the same state under the client's key.
		next = k
	}
	synced := next.seq
	if more || next.loading() {
		synced = 0
	}
	c.setSynced(id, synced)
	answer(next.String(), syncOK)
	if more {
		resp.Add(wbxml.El(eas.AirSync, "MoreAvailable"))
	}
	if len(commands.Children) > 0 {
		resp.Add(commands)
	}
	if len(responses.Children) > 0 {
		resp.Add(responses)
	}
	sent = len(commands.Children) > 0 || len(responses.Children) > 0 || more
	return resp, sent, f.ID, nil
}

// filterAges are the mail FilterType values ([MS-ASCMD] §2.2.3.73.2).
var filterAges = map[int]time.Duration{0: 0, 1: 24 * time.Hour, 2: 3 * 24 * time.Hour, 3: 7 * 24 * time.Hour,
	4: 14 * 24 * time.Hour, 5: 30 * 24 * time.Hour}

func (c *call) setSynced(coll string, seq uint64) {
	if old, ok := c.synced[coll]; !ok || old != seq {
		c.synced[coll] = seq
		c.syncedDirty = true
	}
}

// clientCommands applies the device's Change, Delete, Fetch and Add
// commands to folder f.
func (c *call) clientCommands(f *store.Folder, cmds *wbxml.Node, deletesAsMoves bool, opts bodyOptions, responses *wbxml.Node, echo map[uint32]bool) error {
	if f.Type != store.FolderMail {
		return c.clientContactCommands(f, cmds, opts, responses, echo)
	}
	var trash *store.Folder
	if deletesAsMoves && f.Special != store.SpecialTrash {
		fs, err := c.s.o.Store.ListFolders(c.ctx, c.st.ID)
		if err != nil {
			return err
		}
		for _, x := range fs {
			if x.Special == store.SpecialTrash {
				trash = x
			}
		}
	}
	for _, cmd := range cmds.Children {
		sid := cmd.ChildText("ServerId")
		uid, okID := parseServerID(sid, f.ID)
		switch cmd.Name {
		case "Change":
			if !okID {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", syncNotFound)))
				continue
			}
			ad := cmd.Child("ApplicationData")
			var add, remove []string
			if r := ad.Child("Read"); r != nil {
				if r.Content() == "1" {
					add = append(add, `\Seen`)
				} else {
					remove = append(remove, `\Seen`)
				}
			}
			if fl := ad.Child("Flag"); fl != nil {
				if fl.ChildText("FlagStatus") == "2" {
					add = append(add, `\Flagged`)
				} else {
					remove = append(remove, `\Flagged`)
				}
			}
			ok := true
			for _, op := range []struct {
				op    store.FlagOp
				flags []string
			}{{store.FlagsAdd, add}, {store.FlagsRemove, remove}} {
				if len(op.flags) == 0 {
					continue
				}
				got, err := c.s.o.Store.UpdateFlags(c.ctx, f.ID, []uint32{uid}, op.op, op.flags)
				if notFound(err) || (err == nil && len(got) == 0) {
					ok = false
					break
				}
				if err != nil {
					return err
				}
			}
			if !ok {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", syncNotFound)))
				continue
			}
			echo[uid] = true
		case "Delete":
			if !okID {
				continue // not an item of this folder: nothing to delete
			}
			var err error
			if trash != nil {
				_, err = c.s.o.Store.MoveItems(c.ctx, f.ID, []uint32{uid}, trash.ID)
			} else {
				_, err = c.s.o.Store.DeleteItems(c.ctx, f.ID, []uint32{uid})
			}
			if err != nil && !notFound(err) {
				return err
			}
			echo[uid] = true
		case "Fetch":
			r := wbxml.El(eas.AirSync, "Fetch", as("ServerId", sid))
			var it *store.Item
			var err error
			if okID {
				it, err = c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
				if err != nil && !notFound(err) {
					return err
				}
			}
			if it == nil {
				responses.Add(r.Add(as("Status", syncNotFound)))
				continue
			}
			m, err := c.readMessage(c.ctx, it.ID)
			if err != nil {
				return err
			}
			responses.Add(r.Add(as("Status", syncOK), c.mailData(m, it, sid, opts)))
		case "Add":
			// Mail is not added from devices (drafts come with 16.x Sync
			// of Drafts): refused per item.
			responses.Add(wbxml.El(eas.AirSync, "Add", as("ClientId", cmd.ChildText("ClientId")), as("Status", syncConversion)))
		}
	}
	return nil
}

// serverChanges fills commands with up to window changes for the
// device, advancing k: first the folder's items (the initial load),
// then the journal. It reports whether more are waiting.
func (c *call) serverChanges(f *store.Folder, k *syncKey, window int, cutoff time.Time, opts bodyOptions, commands *wbxml.Node, echo map[uint32]bool) (bool, error) {
	n := 0
	// put puts a command into the response unless the byte budget is
	// spent (errSyncFull; at least one item always goes, so that a
	// message larger than the budget still reaches the device).
	put := func(cmd *wbxml.Node) error {
		size := cmd.Size()
		if c.syncItems > 0 && c.syncBytes+size > c.s.o.MaxSyncBytes {
			return errSyncFull
		}
		c.syncBytes += size
		c.syncItems++
		commands.Add(cmd)
		return nil
	}
	addItem := func(it *store.Item) error {
		if f.Type != store.FolderMail {
			ad, err := c.pimData(f, it.ID, opts)
			if notFound(err) || (err == nil && ad == nil) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := put(wbxml.El(eas.AirSync, "Add", as("ServerId", serverID(f.ID, it.UID)), ad)); err != nil {
				return err
			}
			n++
			return nil
		}
		m, err := c.readMessage(c.ctx, it.ID)
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		sid := serverID(f.ID, it.UID)
		if err := put(wbxml.El(eas.AirSync, "Add", as("ServerId", sid), c.mailData(m, it, sid, opts))); err != nil {
			return err
		}
		n++
		return nil
	}
	for k.loading() && n < window {
		items, err := c.s.o.Store.ListItems(c.ctx, f.ID, k.cursor+1, window-n+1)
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			k.cursor = k.bound
			break
		}
		for _, s := range items {
			if s.UID >= k.bound {
				k.cursor = k.bound
				break
			}
			if n >= window {
				return true, nil
			}
			prev := k.cursor
			k.cursor = s.UID
			if !cutoff.IsZero() && s.InternalDate.Before(cutoff) {
				continue
			}
			if err := addItem(&store.Item{ID: s.ID, UID: s.UID, FolderID: f.ID, Flags: s.Flags, InternalDate: s.InternalDate, Size: s.Size}); errors.Is(err, errSyncFull) {
				k.cursor = prev // this one goes in the next response
				return true, nil
			} else if err != nil {
				return false, err
			}
		}
	}
	if k.loading() {
		return true, nil
	}
	// The journal since k.seq, coalesced per item.
	const (
		none = iota
		add
		change
		del
	)
	state := map[uint32]int{}
	first := map[uint32]uint64{} // the journal position of an item's first change
	var order []uint32
	more := false
	scanned := 0
scan:
	for {
		cs, err := c.s.o.Store.Changes(c.ctx, c.st.ID, k.seq, journalPage)
		if err != nil {
			return false, err
		}
		for _, ch := range cs {
			if ch.FolderID == f.ID && ch.ItemID != 0 {
				s, seen := state[ch.UID]
				if !seen {
					if n+len(order) >= window {
						more = true
						break scan
					}
					order = append(order, ch.UID)
					first[ch.UID] = ch.Seq
				}
				switch ch.Kind {
				case store.ChangeItemCreated:
					if ch.UID < k.bound {
						s = change // the initial load sent it
					} else {
						s = add
					}
				case store.ChangeItemUpdated:
					if s != add {
						s = change
					}
				case store.ChangeItemDeleted:
					if s == add {
						s = none
					} else {
						s = del
					}
				}
				state[ch.UID] = s
			}
			k.seq = ch.Seq
		}
		scanned += len(cs)
		if len(cs) < journalPage {
			break
		}
		if scanned >= maxJournalScan {
			more = true
			break
		}
	}
	for i, uid := range order {
		sid := serverID(f.ID, uid)
		s := state[uid]
		if echo[uid] {
			continue // the device made this change itself
		}
		if c.syncItems > 0 && c.syncBytes >= c.s.o.MaxSyncBytes {
			// The budget is spent: this item and the ones after it are
			// read from the journal again next time (the ones before
			// may see a later change of theirs again, which is sent as
			// a Change or Delete, as it should be).
			k.seq = first[order[i]] - 1
			return true, nil
		}
		switch s {
		case add, change:
			it, err := c.s.o.Store.ItemByUID(c.ctx, f.ID, uid)
			if notFound(err) {
				if s == change {
					commands.Add(wbxml.El(eas.AirSync, "Delete", as("ServerId", sid)))
				}
				continue
			}
			if err != nil {
				return false, err
			}
			if s == add || f.Type != store.FolderMail {
				if f.Type != store.FolderMail && s == change {
					ad, err := c.pimData(f, it.ID, opts)
					if err != nil && !notFound(err) {
						return false, err
					}
					if ad != nil {
						if err := put(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), ad)); errors.Is(err, errSyncFull) {
							k.seq = first[uid] - 1
							return true, nil
						} else if err != nil {
							return false, err
						}
					}
					continue
				}
				if f.Type == store.FolderMail && !cutoff.IsZero() && it.InternalDate.Before(cutoff) {
					continue
				}
				if err := addItem(it); errors.Is(err, errSyncFull) {
					k.seq = first[uid] - 1
					return true, nil
				} else if err != nil {
					return false, err
				}
				continue
			}
			ad := wbxml.El(eas.AirSync, "ApplicationData").Add(flagsData(it.Flags)...)
			commands.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), ad))
		case del:
			commands.Add(wbxml.El(eas.AirSync, "Delete", as("ServerId", sid)))
		}
	}
	return more, nil
}

// clientContactCommands applies a device's Add, Change, Delete and Fetch
// of contacts and events.
func (c *call) clientContactCommands(f *store.Folder, cmds *wbxml.Node, opts bodyOptions, responses *wbxml.Node, echo map[uint32]bool) error {
	if len(cmds.Children) > maxWindow {
		return errStatus(eas.StatusInvalidContent, 400)
	}
	for _, cmd := range cmds.Children {
		sid := cmd.ChildText("ServerId")
		uid, okID := parseServerID(sid, f.ID)
		switch cmd.Name {
		case "Add":
			cid := cmd.ChildText("ClientId")
			ad := cmd.Child("ApplicationData")
			if ad == nil || cid == "" || len(cid) > 64 {
				responses.Add(wbxml.El(eas.AirSync, "Add", as("ClientId", cid), as("Status", syncProtocol)))
				continue
			}
			u, err := c.addObject(f, ad)
			if errors.Is(err, store.ErrOverQuota) {
				responses.Add(wbxml.El(eas.AirSync, "Add", as("ClientId", cid), as("Status", "9")))
				continue
			}
			if errors.Is(err, store.ErrPermission) || errors.Is(err, eas.ErrBadEvent) || errors.Is(err, groupware.ErrInvalidObject) {
				responses.Add(wbxml.El(eas.AirSync, "Add", as("ClientId", cid), as("Status", syncConversion)))
				continue
			}
			if err != nil {
				return err
			}
			echo[u] = true // the device has it
			responses.Add(wbxml.El(eas.AirSync, "Add", as("ClientId", cid), as("ServerId", serverID(f.ID, u)), as("Status", syncOK)))
		case "Change":
			ad := cmd.Child("ApplicationData")
			if !okID || ad == nil {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", syncNotFound)))
				continue
			}
			err := c.changeObject(f, uid, ad)
			if notFound(err) {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", syncNotFound)))
				continue
			}
			if errors.Is(err, store.ErrOverQuota) {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", "9")))
				continue
			}
			if errors.Is(err, eas.ErrBadEvent) || errors.Is(err, groupware.ErrInvalidObject) {
				responses.Add(wbxml.El(eas.AirSync, "Change", as("ServerId", sid), as("Status", syncConversion)))
				continue
			}
			if err != nil {
				return err
			}
			// Not echoed: the contact has a new id now, which the device
			// learns as Delete and Add.
		case "Delete":
			if !okID {
				continue
			}
			if err := c.deleteObject(f, uid); err != nil {
				return err
			}
			echo[uid] = true
		case "Fetch":
			r := wbxml.El(eas.AirSync, "Fetch", as("ServerId", sid))
			var it *store.Item
			var err error
			if okID {
				if it, err = c.s.o.Store.ItemByUID(c.ctx, f.ID, uid); err != nil && !notFound(err) {
					return err
				}
			}
			var ad *wbxml.Node
			if it != nil {
				if ad, err = c.pimData(f, it.ID, opts); err != nil && !notFound(err) {
					return err
				}
			}
			if ad == nil {
				responses.Add(r.Add(as("Status", syncNotFound)))
				continue
			}
			responses.Add(r.Add(as("Status", syncOK), ad))
		}
	}
	return nil
}
