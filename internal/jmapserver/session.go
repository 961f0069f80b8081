package jmapserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// collations are the collation algorithms (RFC 4790) Roost's filters use.
var collations = []string{"i;ascii-numeric", "i;ascii-casemap", "i;unicode-casemap"}

func (s *Server) coreCapability() map[string]any {
	return map[string]any{
		"maxSizeUpload":         s.o.MaxSizeUpload,
		"maxConcurrentUpload":   s.o.MaxConcurrentUpload,
		"maxSizeRequest":        s.o.MaxSizeRequest,
		"maxConcurrentRequests": s.o.MaxConcurrentRequests,
		"maxCallsInRequest":     s.o.MaxCallsInRequest,
		"maxObjectsInGet":       s.o.MaxObjectsInGet,
		"maxObjectsInSet":       s.o.MaxObjectsInSet,
		"collationAlgorithms":   collations,
	}
}

// mailAccountCapability is RFC 8621 §1.3.1.
func (s *Server) mailAccountCapability() map[string]any {
	return map[string]any{
		"maxMailboxesPerEmail":       1, // an item lives in one folder
		"maxMailboxDepth":            nil,
		"maxSizeMailboxName":         255,
		"maxSizeAttachmentsPerEmail": s.o.MaxSizeAttachmentsPerEmail,
		"emailQuerySortOptions":      emailSorts,
		"mayCreateTopLevelMailbox":   true,
	}
}

// session serves the session resource (RFC 8620 §2).
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	p := store.PrincipalFrom(r.Context())
	st, err := s.o.Store.UserStore(r.Context(), p.Login)
	if err != nil {
		s.internalError(w, r, "session: user store", err)
		return
	}
	acct := jmap.FormatID('A', st.ID)
	base := s.base(r)
	caps := map[string]any{jmap.CapCore: s.coreCapability(), jmap.CapMail: map[string]any{}}
	accountCaps := map[string]any{jmap.CapMail: s.mailAccountCapability()}
	primary := map[string]string{jmap.CapMail: acct}
	s.groupwareCapabilities(caps, accountCaps, primary, acct) // calendar.go
	if s.o.Submitter != nil {
		caps[CapSubmission] = map[string]any{}
		// RFC 8621 §1.3.2: submissions are sent at once, nothing to undo.
		accountCaps[CapSubmission] = map[string]any{"maxDelayedSend": int(s.o.SendDelay / time.Second), "submissionExtensions": map[string]any{}}
		primary[CapSubmission] = acct
	}
	s.moreCapabilities(caps, accountCaps, primary, acct, base) // extensions.go
	accounts := map[string]any{
		acct: map[string]any{
			"name":                p.Login,
			"isPersonal":          true,
			"isReadOnly":          false,
			"accountCapabilities": accountCaps,
		},
	}
	arch, err := s.archiveAccount(r.Context(), p)
	if err != nil {
		s.internalError(w, r, "session: archive store", err)
		return
	}
	if arch != 0 {
		// The archive store (store.Archives): a read-only account with
		// the Mail capability only.
		mc := s.mailAccountCapability()
		mc["mayCreateTopLevelMailbox"] = false
		accounts[jmap.FormatID('A', arch)] = map[string]any{
			"name":                p.Login + " (archive)",
			"isPersonal":          true,
			"isReadOnly":          true,
			"accountCapabilities": map[string]any{jmap.CapMail: mc},
		}
	}
	writeJSON(w, map[string]any{
		"capabilities":    caps,
		"accounts":        accounts,
		"primaryAccounts": primary,
		"username":        p.Login,
		"apiUrl":          base + "/jmap/api/",
		"downloadUrl":     base + "/jmap/download/{accountId}/{blobId}/{name}?type={type}",
		"uploadUrl":       base + "/jmap/upload/{accountId}/",
		"eventSourceUrl":  base + "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}",
		"state":           sessionStateOf(p.Login, st.ID, arch),
	})
}

// archiveAccount returns the id of the principal's archive store, 0 when
// it has none.
func (s *Server) archiveAccount(ctx context.Context, p *store.Principal) (int64, error) {
	a, err := s.o.Store.UserArchive(ctx, p.Login)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// sessionStateOf changes when the accounts change (an archive attached).
func sessionStateOf(login string, storeID, archiveID int64) string {
	key := login + "\x00" + strconv.FormatInt(storeID, 10)
	if archiveID != 0 {
		key += "\x00" + strconv.FormatInt(archiveID, 10)
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}
