package jmapserver

import (
	"context"
	"io"
	"strings"

	"github.com/roost-mail/roost/internal/proto/jmap"
	"github.com/roost-mail/roost/internal/store"
)

// The extensions beyond RFC 8621's mail (VacationResponse, Quota, Sieve,
// Blob management, WebSocket...): their methods and capabilities join
// the dispatch table (api.go) where it is built.
var extensionMethods = map[string]method{
	"VacationResponse/get":         {CapVacation, vacationGet},
	"VacationResponse/set":         {CapVacation, vacationSet},
	"Quota/get":                    {CapQuota, quotaGet},
	"Quota/changes":                {CapQuota, quotaChanges},
	"Quota/query":                  {CapQuota, quotaQuery},
	"Quota/queryChanges":           {CapQuota, quotaQueryChanges},
	"SieveScript/get":              {CapSieve, sieveGet},
	"SieveScript/changes":          {CapSieve, sieveChanges},
	"SieveScript/query":            {CapSieve, sieveQuery},
	"SieveScript/queryChanges":     {CapSieve, sieveQueryChanges},
	"SieveScript/set":              {CapSieve, sieveSet},
	"SieveScript/validate":         {CapSieve, sieveValidate},
	"Email/queryChanges":           {jmap.CapMail, emailQueryChanges},
	"Mailbox/queryChanges":         {jmap.CapMail, mailboxQueryChanges},
	"Email/copy":                   {jmap.CapMail, emailCopy},
	"Email/parse":                  {jmap.CapMail, emailParse},
	"Blob/copy":                    {jmap.CapCore, blobCopy},
	"Blob/upload":                  {CapBlob, blobUpload},
	"Blob/get":                     {CapBlob, blobGet},
	"Blob/lookup":                  {CapBlob, blobLookup},
	"SearchSnippet/get":            {jmap.CapMail, searchSnippetGet},
	"Identity/set":                 {CapSubmission, identitySet},
	"EmailSubmission/get":          {CapSubmission, emailSubmissionGet},
	"EmailSubmission/changes":      {CapSubmission, emailSubmissionChanges},
	"EmailSubmission/query":        {CapSubmission, emailSubmissionQuery},
	"EmailSubmission/queryChanges": {CapSubmission, emailSubmissionQueryChanges},
	"PushSubscription/get":         {jmap.CapCore, pushSubscriptionGet},
	"PushSubscription/set":         {jmap.CapCore, pushSubscriptionSet},
}

var extensionCapabilities = []string{CapVacation, CapQuota, CapSieve, CapBlob, jmap.CapWebSocket}

// moreCapabilities adds the extensions to the session resource.
func (s *Server) moreCapabilities(caps, accountCaps map[string]any, primary map[string]string, acct, base string) {
	add := func(cap string, acctCap map[string]any) {
		caps[cap] = map[string]any{}
		accountCaps[cap] = acctCap
		primary[cap] = acct
	}
	// RFC 8887 §3: a session capability only.
	caps[jmap.CapWebSocket] = map[string]any{"url": wsURL(base), "supportsPush": true}
	add(CapVacation, map[string]any{})
	add(CapQuota, map[string]any{})
	add(CapBlob, s.blobAccountCapability())
	if s.o.Scripts != nil {
		add(CapSieve, s.sieveAccountCapability())
	}
}

// openSieveBlob opens a script's content by its blob id.
func (s *Server) openSieveBlob(ctx context.Context, blobID string) (io.ReadCloser, int64, string, error) {
	p := store.PrincipalFrom(ctx)
	if p == nil {
		return nil, 0, "", store.ErrNotFound
	}
	t, ok, err := s.sieveBlob(&call{ctx: ctx, s: s, p: p}, blobID)
	if err != nil || !ok {
		if err == nil {
			err = store.ErrNotFound
		}
		return nil, 0, "", err
	}
	return io.NopCloser(strings.NewReader(t)), int64(len(t)), "application/sieve", nil
}
