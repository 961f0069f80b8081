package easserver

import (
	"slices"
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/events"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/proto/eas"
	"github.com/roost-mail/roost/internal/proto/wbxml"
	"github.com/roost-mail/roost/internal/store"
)

// Ping statuses ([MS-ASCMD] §2.2.3.177.10).
const (
	pingExpired    = "1"
	pingChanged    = "2"
	pingMissing    = "3"
	pingSyntax     = "4"
	pingBadBeat    = "5"
	pingTooMany    = "6"
	pingHierarchy  = "7"
	pingServerFail = "8"
)

func pn(name, v string) *wbxml.Node { return wbxml.Str(eas.Ping, name, v) }

func saveSyncPositions(c *call) error {
	return mail.SaveSyncPositions(c.ctx, c.s.o.Store, c.st.ID, c.dev.ID, c.synced)
}

// ping is Ping ([MS-ASCMD] §2.2.1.13): it answers at once when a folder
// changed since the device last synced it, else parks on the events hub
// until one does or the heartbeat ends. A parked Ping holds a timer and
// a hub subscription that calls a function: no goroutine besides the
// request's own, no buffers (the body is released before parking).
//
// Like ServeHTTP it is split so that only small frames stay on the stack
// while it waits: pingPrepare builds any early answer and returns.
func ping(c *call, req *wbxml.Node) (*wbxml.Node, error) {
	ids, beat, resp, err := pingPrepare(c, req)
	if resp != nil || err != nil {
		return resp, err
	}
	changed, err := c.waitChange(ids, time.Duration(beat)*time.Second)
	if err != nil {
		return nil, err
	}
	return pingAnswer(changed), nil
}

//go:noinline
func pingAnswer(changed []int64) *wbxml.Node {
	resp := wbxml.El(eas.Ping, "Ping")
	if len(changed) == 0 {
		return resp.Add(pn("Status", pingExpired))
	}
	fl := wbxml.El(eas.Ping, "Folders")
	for _, id := range changed {
		fl.Add(pn("Folder", strconv.FormatInt(id, 10)))
	}
	return resp.Add(pn("Status", pingChanged), fl)
}

// pingPrepare reads a Ping: the folders and heartbeat to wait for, or
// the answer to give at once.
//
//go:noinline
func pingPrepare(c *call, req *wbxml.Node) ([]int64, int, *wbxml.Node, error) {
	resp := wbxml.El(eas.Ping, "Ping")
	beat := c.dev.PingSeconds
	folders := c.dev.PingFolders
	if req != nil {
		if v := req.ChildText("HeartbeatInterval"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, 0, resp.Add(pn("Status", pingSyntax)), nil
			}
			if n < c.s.o.MinHeartbeat || n > c.s.o.MaxHeartbeat {
				lim := c.s.o.MinHeartbeat
				if n > c.s.o.MaxHeartbeat {
					lim = c.s.o.MaxHeartbeat
				}
				return nil, 0, resp.Add(pn("Status", pingBadBeat), pn("HeartbeatInterval", strconv.Itoa(lim))), nil
			}
			beat = n
		}
		if fs := req.Child("Folders"); fs != nil {
			all := fs.All("Folder")
			if len(all) > c.s.o.MaxPingFolders {
				return nil, 0, resp.Add(pn("Status", pingTooMany), pn("MaxFolders", strconv.Itoa(c.s.o.MaxPingFolders))), nil
			}
			folders = folders[:0:0]
			for _, f := range all {
				id := f.ChildText("Id")
				if id == "" || len(id) > 20 {
					return nil, 0, resp.Add(pn("Status", pingSyntax)), nil
				}
				if !slices.Contains(folders, id) {
					folders = append(folders, id)
				}
			}
		}
	}
	if beat == 0 || len(folders) == 0 {
		return nil, 0, resp.Add(pn("Status", pingMissing)), nil
	}
	if beat != c.dev.PingSeconds || !slices.Equal(folders, c.dev.PingFolders) {
		c.dev.PingSeconds, c.dev.PingFolders = beat, folders
		if err := c.saveDevice(); err != nil {
			return nil, 0, nil, err
		}
	}
	ids := make([]int64, 0, len(folders))
	for _, id := range folders {
		f, err := c.folder(id)
		if err != nil {
			return nil, 0, nil, err
		}
		if f == nil || !served(f) {
			return nil, 0, resp.Add(pn("Status", pingHierarchy)), nil
		}
		ids = append(ids, f.ID)
	}
	return ids, beat, nil, nil
}

// changedFolders returns the folders whose journal position is past
// what the device last synced of them.
func (c *call) changedFolders(ids []int64) ([]int64, error) {
	var out []int64
	for _, id := range ids {
		f, err := c.s.o.Store.GetFolder(c.ctx, id)
		if notFound(err) {
			out = append(out, id) // gone: the device must find out
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.HighestModSeq > c.synced[strconv.FormatInt(id, 10)] {
			out = append(out, id)
		}
	}
	return out, nil
}

// waitChange returns the folders of ids that changed since the device
// synced them, waiting up to d for one to.
func (c *call) waitChange(ids []int64, d time.Duration) ([]int64, error) {
	wake := make(chan struct{}, 1)
	var sub *events.Subscription
	if c.s.o.Hub != nil {
		// Subscribe before looking, so that no change falls between.
		sub = c.s.o.Hub.SubscribeFunc(c.st.ID, func(events.Change) {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		defer sub.Close()
	}
	changed, err := c.changedFolders(ids)
	if err != nil || len(changed) > 0 {
		return changed, err
	}
	c.body = nil
	ended := c.s.park(c.p, c.st.ID)
	defer c.s.unpark(c.p.Login, ended)
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return nil, c.ctx.Err()
		case <-t.C:
			return nil, nil
		case <-ended.c:
			// EndUser: answered as if the heartbeat expired; the
			// device asks again, through the frontend to the user's
			// new node.
			return nil, nil
		case <-wake:
			changed, err := c.changedFolders(ids)
			if err != nil || len(changed) > 0 {
				return changed, err
			}
		}
	}
}

// parking is a parked Ping or Sync wait: c is closed by EndUser.
type parking struct {
	c       chan struct{}
	unwatch func()
}

// park registers a wait of p (own store storeID) for EndUser.
func (s *Server) park(p *store.Principal, storeID int64) parking {
	k := parking{c: make(chan struct{}), unwatch: func() {}}
	s.mu.Lock()
	if s.parked == nil {
		s.parked = map[string]map[chan struct{}]struct{}{}
	}
	if s.parked[p.Login] == nil {
		s.parked[p.Login] = map[chan struct{}]struct{}{}
	}
	s.parked[p.Login][k.c] = struct{}{}
	s.mu.Unlock()
	if s.o.Watch != nil {
		k.unwatch = s.o.Watch(p, storeID)
	}
	return k
}

func (s *Server) unpark(login string, k parking) {
	s.mu.Lock()
	if _, ok := s.parked[login][k.c]; ok {
		delete(s.parked[login], k.c)
		if len(s.parked[login]) == 0 {
			delete(s.parked, login)
		}
	}
	s.mu.Unlock()
	k.unwatch()
}

// EndUser answers every parked Ping (and Sync wait) of login on this
// server at once, as if its heartbeat expired (Ping status 1): the
// device asks again at once. The sharded mode's store move ends a moved
// user's long polls on the old node so (docs/cluster.md). It returns how
// many it answers.
func (s *Server) EndUser(login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.parked[login])
	for ch := range s.parked[login] {
		close(ch)
	}
	delete(s.parked, login)
	return n
}
