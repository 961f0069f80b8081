package davserver

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/roost-mail/roost/internal/groupware"
)

// export answers GET on a collection: the whole calendar as one
// iCalendar object (the iCal feed) or the whole address book as one .vcf.
// The feed needs the same authentication as everything else.
func (s *Server) export(w http.ResponseWriter, r *http.Request, res *resource) error {
	ctx := r.Context()
	f := res.folder
	if !isCalendar(f) && !isAddressBook(f) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("WebDAV collection\n"))
		return nil
	}
	var buf bytes.Buffer
	name := f.Name
	if isCalendar(f) {
		if err := groupware.ExportCalendar(ctx, s.o.Store, f, &buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		name += ".ics"
	} else {
		if err := groupware.ExportContacts(ctx, s.o.Store, f, &buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/vcard; charset=utf-8")
		name += ".vcf"
	}
	out := buf.Bytes()
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(strings.ReplaceAll(name, "\"", "")))
	w.Header().Set("ETag", `"`+syncToken(f.HighestModSeq)+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out)
	}
	return nil
}
