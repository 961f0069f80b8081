package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
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
	s.mdnCapability(caps, accountCaps, primary, acct)          // mdn.go
	// RFC 9670 §3: principals live in the user's own account.
	caps[CapPrincipals] = map[string]any{}
	caps[CapPrincipalOwner] = map[string]any{}
	maps.Copy(accountCaps, s.principalCapabilities(p, st))
	primary[CapPrincipals] = acct
	accounts := map[string]any{acct: map[string]any{
		"name":                p.Login,
		"isPersonal":          true,
		"isReadOnly":          false,
		"accountCapabilities": accountCaps,
	}}
	// The user's archive and other users' and public stores shared with
	// the user (accounts.go).
	c := &call{ctx: r.Context(), s: s, p: p, acct: st}
	shared, err := c.sharedAccounts()
	if err != nil {
		s.internalError(w, r, "session: shared accounts", err)
		return
	}
	for _, a := range shared {
		accounts[jmap.FormatID('A', a.st.ID)] = s.sharedAccountObject(p, st, a)
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
		"state":           sessionStateOf(p.Login, st.ID, shared),
	})
}

// principalCapabilities are the principals capabilities of the user's
// own account (RFC 9670 §3).
func (s *Server) principalCapabilities(p *store.Principal, own *store.Store) map[string]any {
	acct := jmap.FormatID('A', own.ID)
	me := userPrincipalID(p.UserID)
	return map[string]any{
		CapPrincipals:     map[string]any{"currentUserPrincipalId": me},
		CapPrincipalOwner: map[string]any{"accountIdForPrincipal": acct, "principalId": me},
	}
}

// ownAccountObject is the user's own account as the session resource
// and Principal.accounts show it (its account capabilities abridged to
// the principals ones there).
func (s *Server) ownAccountObject(p *store.Principal, own *store.Store) map[string]any {
	return map[string]any{"name": p.Login, "isPersonal": true, "isReadOnly": false,
		"accountCapabilities": s.principalCapabilities(p, own)}
}

// sharedAccountObject is a shared store as an account (RFC 8620 §2):
// the data types it shows, read-only when no folder may be changed, and
// its owner's principal (RFC 9670 §3) for another user's store. The
// user's archive is personal, read-only and Mail only.
func (s *Server) sharedAccountObject(p *store.Principal, own *store.Store, a *sharedAccount) map[string]any {
	caps := a.capabilities(s)
	if a.st.OwnerID != 0 && !a.archive {
		caps[CapPrincipalOwner] = map[string]any{"accountIdForPrincipal": jmap.FormatID('A', own.ID),
			"principalId": userPrincipalID(a.st.OwnerID)}
	}
	return map[string]any{"name": a.name(), "isPersonal": a.archive, "isReadOnly": a.readOnly(), "accountCapabilities": caps}
}

// sessionStateOf changes when the accounts change: the user's store, its
// archive (attached or detached), the stores shared with it and the
// rights it has in them.
func sessionStateOf(login string, storeID int64, shared []*sharedAccount) string {
	h := sha256.New()
	h.Write([]byte(login + "\x00" + strconv.FormatInt(storeID, 10)))
	for _, a := range shared {
		if a.archive {
			fmt.Fprintf(h, "\x00archive %d", a.st.ID)
			continue
		}
		fmt.Fprintf(h, "\x00%d", a.st.ID)
		for _, f := range a.folders {
			fmt.Fprintf(h, ":%d=%s", f.Folder.ID, f.Rights)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
