package adminapi

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"time"
)

// RuntimeStats is what the running process knows about itself (given by
// internal/app through Options.Runtime).
type RuntimeStats struct {
	Database      string `json:"database"` // "sqlite" or "postgres"
	DatabaseBytes int64  `json:"database_bytes"`
	BlobBytes     int64  `json:"blob_bytes"` // -1 when unknown (an object store)
	BlobFiles     int64  `json:"blob_files"`
	// Sessions counts open connections per listener.
	Sessions map[string]int `json:"sessions"`
	// Connections are the open connections, busiest (most bytes) first.
	Connections []ConnStats `json:"connections"`
	// Logins counts successful logins per user since the start.
	Logins map[string]UserActivity `json:"logins"`
}

// ConnStats is one open connection.
type ConnStats struct {
	ID       uint64    `json:"id"`
	Listener string    `json:"listener"`
	Remote   string    `json:"remote"`
	Since    time.Time `json:"since"`
	BytesIn  int64     `json:"bytes_in"`
	BytesOut int64     `json:"bytes_out"`
}

// UserActivity counts a user's logins.
type UserActivity struct {
	Logins int64     `json:"logins"`
	Last   time.Time `json:"last"`
	Proto  string    `json:"proto"` // of the last login
}

// Stats is the body of GET /v1/stats (kopano-stats' system, session,
// user and company views in one).
type Stats struct {
	Version       string        `json:"version"`
	Started       time.Time     `json:"started"`
	UptimeSeconds int64         `json:"uptime_seconds"`
	Goroutines    int           `json:"goroutines"`
	HeapBytes     uint64        `json:"heap_bytes"`
	Runtime       *RuntimeStats `json:"runtime,omitempty"`
	Users         UserCounts    `json:"users"`
	Tenants       []TenantStats `json:"tenants"`
	Stores        []StoreStats  `json:"stores"` // biggest first, at most maxStatsStores
	StoresListed  bool          `json:"stores_complete"`
	Queue         int           `json:"queue_messages"`
}

// UserCounts counts users.
type UserCounts struct {
	Total    int `json:"total"`
	Active   int `json:"active"`
	Inactive int `json:"inactive"`
	Admins   int `json:"admins"`
}

// TenantStats is one tenant's figures.
type TenantStats struct {
	Name     string `json:"name"`
	Users    int    `json:"users"`
	Bytes    int64  `json:"bytes"`
	Messages int64  `json:"messages"`
}

// StoreStats is one user's store.
type StoreStats struct {
	Login    string `json:"login"`
	Tenant   string `json:"tenant"`
	Bytes    int64  `json:"bytes"`
	Messages int64  `json:"messages"`
	// ModSeq is the store's change journal position: its growth between
	// two samples is the store's write activity (roost stats --top).
	ModSeq uint64 `json:"modseq"`
}

// maxStatsStores bounds the stores one GET /v1/stats reads.
const maxStatsStores = 10000

// stats answers GET /v1/stats. System administrators only.
func (s *Server) stats(w http.ResponseWriter, r *http.Request) error {
	if err := requireSystemAdmin(r); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	up := time.Since(s.started)
	st := Stats{Version: s.o.Version, Started: s.started.UTC().Truncate(time.Second), UptimeSeconds: int64(up.Seconds()),
		Goroutines: runtime.NumGoroutine(), HeapBytes: ms.HeapAlloc, StoresListed: true}
	if s.o.Runtime != nil {
		rt := s.o.Runtime(ctx)
		st.Runtime = &rt
	}
	tenants, err := s.b.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		us, err := s.b.ListUsers(ctx, t.Name)
		if err != nil {
			return err
		}
		ts := TenantStats{Name: t.Name, Users: len(us)}
		for _, u := range us {
			st.Users.Total++
			if u.Active {
				st.Users.Active++
			} else {
				st.Users.Inactive++
			}
			if u.Admin > 0 {
				st.Users.Admins++
			}
			if u.StoreID == 0 {
				continue
			}
			if len(st.Stores) >= maxStatsStores {
				st.StoresListed = false
				continue
			}
			so, err := s.b.GetStore(ctx, u.StoreID)
			if err != nil {
				return err
			}
			st.Stores = append(st.Stores, StoreStats{Login: u.Login, Tenant: t.Name, Bytes: so.Size, Messages: so.Messages, ModSeq: so.ModSeq})
			ts.Bytes += so.Size
			ts.Messages += so.Messages
		}
		st.Tenants = append(st.Tenants, ts)
	}
	slices.SortFunc(st.Stores, func(a, b StoreStats) int {
		if a.Bytes != b.Bytes {
			if a.Bytes > b.Bytes {
				return -1
			}
			return 1
		}
		return compareStrings(a.Login, b.Login)
	})
	n, _, err := s.b.QueueStats(ctx)
	if err != nil {
		return err
	}
	st.Queue = n
	writeJSON(w, http.StatusOK, st)
	return nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
