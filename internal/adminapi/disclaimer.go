package adminapi

import (
	"net/http"

	"github.com/roost-mail/roost/internal/queue"
)

// MaxDisclaimerBytes bounds each of a tenant's disclaimer texts: they are
// appended to every message the tenant's users send.
const MaxDisclaimerBytes = 64 << 10

// Disclaimer is a tenant's disclaimer (GET/PATCH
// /v1/tenants/{tenant}/disclaimer): Text goes to the first text/plain
// part of outgoing mail, HTML before </body> of the first text/html part
// (queue.Disclaimer). Empty means none.
type Disclaimer struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// DisclaimerUpdate is the body of PATCH: absent fields stay, "" removes.
// (encoding/json turns invalid UTF-8 into U+FFFD, so the texts are valid
// UTF-8; the CLI refuses files that are not.)
type DisclaimerUpdate struct {
	Text *string `json:"text"`
	HTML *string `json:"html"`
}

func (s *Server) showDisclaimer(w http.ResponseWriter, r *http.Request) error {
	props, err := s.b.TenantProps(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, Disclaimer{Text: props[queue.PropDisclaimerText], HTML: props[queue.PropDisclaimerHTML]})
	return nil
}

func (s *Server) updateDisclaimer(w http.ResponseWriter, r *http.Request) error {
	var in DisclaimerUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	set := map[string]*string{}
	for _, f := range []struct {
		name, key string
		v         *string
	}{{"text", queue.PropDisclaimerText, in.Text}, {"html", queue.PropDisclaimerHTML, in.HTML}} {
		if f.v == nil {
			continue
		}
		switch {
		case len(*f.v) > MaxDisclaimerBytes:
			return errorf(http.StatusRequestEntityTooLarge, "%s disclaimer of %d bytes is larger than the limit of %d bytes", f.name, len(*f.v), MaxDisclaimerBytes)
		case *f.v == "":
			set[f.key] = nil
		default:
			set[f.key] = f.v
		}
	}
	tenant := r.PathValue("tenant")
	if len(set) > 0 {
		if err := s.b.SetTenantProps(r.Context(), tenant, set); err != nil {
			return err
		}
	}
	return s.showDisclaimer(w, r)
}
