package davserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roost-mail/roost/internal/proto/ical"
	"github.com/roost-mail/roost/internal/proto/vcard"
	"github.com/roost-mail/roost/internal/store"
)

// expandLimits bound recurrence expansion in queries: a rule bomb costs at
// most this much work and yields what was found so far, and the answer
// says it was cut (writeTruncated).
func (s *Server) expandLimits() ical.ExpandLimits {
	return ical.ExpandLimits{MaxInstances: s.o.MaxInstances, MaxIterations: 1000000}
}

// isLimit reports whether err is an expansion cut at its limits.
func isLimit(err error) bool {
	var le *ical.LimitError
	return errors.As(err, &le)
}

// writeTruncated ends a multistatus whose answer is incomplete with a 507
// for href and DAV:number-of-matches-within-limits (RFC 5323 §2.4.2, as
// RFC 6352 §8.6.1 and RFC 4918 §14.32 use it).
func writeTruncated(ms *multistatus, href, why string) {
	ms.raw("<D:response><D:href>" + escapeString(href) + "</D:href><D:status>" + statusLine(http.StatusInsufficientStorage) +
		"</D:status><D:error><D:number-of-matches-within-limits/></D:error><D:responsedescription>" + escapeString(why) +
		"</D:responsedescription></D:response>")
}

// anyTruncated reports whether an expanded calendar-data of results was
// cut at the instance limit.
func anyTruncated(results []*objectResult) bool {
	return slices.ContainsFunc(results, func(o *objectResult) bool { return o.truncated })
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	root, err := parseXML(r.Body, s.o.MaxXMLBytes)
	if err != nil {
		return err
	}
	if root == nil {
		return errStatus(http.StatusBadRequest, "REPORT needs a body")
	}
	res, err := s.resolve(ctx, r.URL.EscapedPath())
	if err != nil {
		return err
	}
	if !res.exists {
		return errStatus(http.StatusNotFound, "not found")
	}
	switch {
	case root.is(nsCalDAV, "calendar-multiget"), root.is(nsCardDAV, "addressbook-multiget"):
		return s.multiget(w, r, res, root)
	case root.is(nsCalDAV, "calendar-query"):
		return s.calendarQuery(w, r, res, root)
	case root.is(nsCardDAV, "addressbook-query"):
		return s.addressbookQuery(w, r, res, root)
	case root.is(nsDAV, "sync-collection"):
		return s.syncCollection(w, r, res, root)
	case root.is(nsCalDAV, "free-busy-query"):
		return s.freeBusyQuery(w, r, res, root)
	case root.is(nsDAV, "principal-property-search"), root.is(nsDAV, "principal-search-property-set"),
		root.is(nsDAV, "expand-property"):
		return s.principalReport(w, r, res, root)
	}
	return precondition(http.StatusForbidden, "<D:supported-report/>", "unsupported report")
}

func propRequestOf(root *node) *propRequest {
	pr := &propRequest{}
	if p := root.child(nsDAV, "prop"); p != nil {
		pr.addProps(p)
	} else if root.child(nsDAV, "allprop") != nil {
		pr.allprop = true
	} else if root.child(nsDAV, "propname") != nil {
		pr.propname = true
	} else {
		pr.names = []propName{pGetETag}
	}
	return pr
}

// objectResult is one resource of a report, with its content when read.
type objectResult struct {
	t    *target
	body []byte
	cal  *ical.Component
	// truncated: the expanded calendar-data holds fewer instances than
	// the request's range has (Options.MaxInstances).
	truncated bool
}

// wantsData reports whether the request asks for calendar-data or
// address-data.
func (pr *propRequest) wantsData() bool {
	return containsName(pr.names, pCalData) || containsName(pr.names, pAddrData)
}

// writeObjects writes the responses of a report over objects.
func (s *Server) writeObjects(ctx context.Context, w http.ResponseWriter, r *http.Request, pr *propRequest, results []*objectResult, extra func(*multistatus)) error {
	ms := newMultistatus(r)
	for _, o := range results {
		ps := s.objectPropstats(ctx, o, pr)
		ms.response(o.t.href, ps)
	}
	if extra != nil {
		extra(ms)
	}
	writeMultistatus(w, ms)
	return nil
}

func (s *Server) objectPropstats(ctx context.Context, o *objectResult, pr *propRequest) []propstat {
	rest := *pr
	rest.names = nil
	var data []string
	for _, n := range pr.names {
		if n == pCalData || n == pAddrData {
			v, err := s.dataProp(ctx, o, n, pr.data, pr)
			if err != nil {
				s.log.Warn("DAV report data", "href", o.t.href, "err", err)
				continue
			}
			data = append(data, v)
			continue
		}
		rest.names = append(rest.names, n)
	}
	var ps []propstat
	if len(rest.names) > 0 || rest.allprop || rest.propname {
		if o.t.body == nil {
			o.t.body = o.body // schedule-tag needs it too
		}
		ps = s.propstats(ctx, o.t, &rest)
	}
	if len(data) > 0 {
		if len(ps) > 0 && ps[0].status == http.StatusOK {
			ps[0].props = append(ps[0].props, data...)
		} else {
			ps = append([]propstat{{status: http.StatusOK, props: data}}, ps...)
		}
	}
	return ps
}

// dataProp renders calendar-data or address-data, expanded if asked
// (RFC 4791 §9.6.5).
func (s *Server) dataProp(ctx context.Context, o *objectResult, n propName, req *node, pr *propRequest) (string, error) {
	zonesOf := func(cal *ical.Component) *ical.Zones {
		z := s.zones.Zones(cal)
		if pr != nil {
			z.Floating = pr.floating
		}
		return z
	}
	if o.body == nil {
		b, err := s.content(ctx, o.t)
		if err != nil {
			return "", err
		}
		o.body = b
	}
	body := o.body
	if n == pCalData && req != nil {
		if ex := req.child(nsCalDAV, "expand"); ex != nil {
			tr, err := parseTimeRange(ex)
			if err != nil {
				return "", err
			}
			cal := o.cal
			if cal == nil {
				if cal, err = ical.Decode(body, ical.Limits{}); err != nil {
					return "", err
				}
			}
			out, cut, err := expandCalendar(cal, zonesOf(cal), tr, s.expandLimits())
			if err != nil {
				return "", err
			}
			o.truncated = o.truncated || cut
			body = out
		} else if lr := req.child(nsCalDAV, "limit-recurrence-set"); lr != nil {
			tr, err := parseTimeRange(lr)
			if err != nil {
				return "", err
			}
			cal := o.cal
			if cal == nil {
				if cal, err = ical.Decode(body, ical.Limits{}); err != nil {
					return "", err
				}
			}
			if out, err := limitRecurrenceSet(cal, zonesOf(cal), tr); err == nil {
				body = out
			}
		}
	}
	if req != nil {
		if n == pCalData {
			if sel := req.child(nsCalDAV, "comp"); sel != nil {
				if cal, err := ical.Decode(body, ical.Limits{}); err == nil {
					if out, err := ical.Marshal(selectComp(cal, sel)); err == nil {
						body = out
					}
				}
			}
		} else if req.child(nsCardDAV, "prop") != nil && req.child(nsCardDAV, "allprop") == nil {
			if out, err := selectCardProps(body, req); err == nil {
				body = out
			}
		}
	}
	return elem(n, escapeString(string(body))), nil
}

// selectComp applies a calendar-data comp/prop selection (RFC 4791
// §9.6.1) to c.
func selectComp(c *ical.Component, sel *node) *ical.Component {
	out := &ical.Component{Name: c.Name}
	if sel.child(nsCalDAV, "allprop") != nil {
		out.Props = c.Props
	} else {
		for _, pn := range sel.Children {
			if pn.is(nsCalDAV, "prop") {
				out.Props = append(out.Props, c.All(pn.attr("name"))...)
			}
		}
	}
	if sel.child(nsCalDAV, "allcomp") != nil {
		out.Children = c.Children
		return out
	}
	for _, ch := range c.Children {
		for _, cn := range sel.Children {
			if cn.is(nsCalDAV, "comp") && strings.EqualFold(cn.attr("name"), ch.Name) {
				out.Children = append(out.Children, selectComp(ch, cn))
				break
			}
		}
	}
	return out
}

// selectCardProps applies an address-data prop selection (RFC 6352
// §10.4.2); VERSION and UID always stay.
func selectCardProps(body []byte, req *node) ([]byte, error) {
	cards, err := vcard.Decode(body, vcard.Limits{})
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{"VERSION": true, "UID": true}
	for _, p := range req.Children {
		if p.is(nsCardDAV, "prop") {
			keep[strings.ToUpper(p.attr("name"))] = true
		}
	}
	for _, c := range cards {
		out := c.Props[:0]
		for _, p := range c.Props {
			if keep[strings.ToUpper(p.Name)] {
				out = append(out, p)
			}
		}
		c.Props = out
	}
	return vcard.Marshal(cards...)
}

// expandCalendar returns cal with its recurring components replaced by
// their instances in tr, in UTC (RFC 4791 §9.6.5); truncated says a
// series had more instances in tr than lim allows.
func expandCalendar(cal *ical.Component, zones *ical.Zones, tr *timeRange, lim ical.ExpandLimits) (_ []byte, truncated bool, _ error) {
	out := &ical.Component{Name: ical.VCalendar}
	for _, p := range cal.Props {
		out.Props = append(out.Props, p)
	}
	for _, c := range cal.Children {
		if c.Name != ical.VEvent && c.Name != ical.VTodo && c.Name != ical.VJournal && c.Name != ical.VTimezone {
			out.Children = append(out.Children, c)
		}
	}
	for _, sr := range ical.SeriesOf(cal, zones) {
		recurring := len(sr.Overrides) > 0 || sr.Master != nil && (sr.Master.Prop("RRULE") != nil || sr.Master.Prop("RDATE") != nil)
		occ, err := ical.Expand(sr, tr.start, tr.end, lim)
		if isLimit(err) {
			truncated = true
		}
		for _, o := range occ {
			c := &ical.Component{Name: o.Component.Name, Children: o.Component.Children}
			hadEnd := o.Component.Prop("DTEND") != nil || o.Component.Prop("DURATION") != nil
			for _, p := range o.Component.Props {
				switch strings.ToUpper(p.Name) {
				case "RRULE", "RDATE", "EXDATE", "EXRULE", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID":
					continue
				}
				c.Props = append(c.Props, p)
			}
			if o.Start.IsZero() {
				c.Props = o.Component.Props
				out.Children = append(out.Children, c)
				continue
			}
			utc := func(name string, t time.Time) *ical.Property {
				return &ical.Property{Name: name, Value: t.UTC().Format("20060102T150405Z")}
			}
			c.Props = append(c.Props, utc("DTSTART", o.Start))
			if hadEnd && c.Name != ical.VTodo {
				c.Props = append(c.Props, utc("DTEND", o.End))
			}
			if recurring {
				c.Props = append(c.Props, utc("RECURRENCE-ID", o.RecurrenceID))
			}
			out.Children = append(out.Children, c)
		}
	}
	b, err := ical.Marshal(out)
	return b, truncated, err
}

func (s *Server) multiget(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	pr := propRequestOf(root)
	if err := pr.checkData(); err != nil {
		return err
	}
	if res.kind == resFolder && isCalendar(res.folder) {
		pr.floating = s.floatingZone(ctx, res, root)
	}
	var results []*objectResult
	ms := newMultistatus(r)
	// Members of the request's collection are fetched in batches by name;
	// other hrefs are resolved one by one.
	var bases []string
	if res.kind == resFolder {
		reqPath := r.URL.EscapedPath()
		if !strings.HasSuffix(reqPath, "/") {
			reqPath += "/"
		}
		bases = []string{reqPath, s.folderHref(res, res.folder)}
	}
	type member struct{ href, name string }
	var batch []member
	n := 0
	for _, h := range root.Children {
		if !h.is(nsDAV, "href") {
			continue
		}
		if n++; n > s.o.MaxResults {
			break
		}
		href := strings.TrimSpace(h.Text)
		p := s.hrefPath(href)
		if p == "" {
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		if name, ok := memberName(p, bases); ok {
			batch = append(batch, member{href, name})
			continue
		}
		or, err := s.resolve(ctx, p)
		if err != nil || !or.exists || or.kind != resObject || res.folder != nil && or.folder.ID != res.folder.ID {
			if err != nil && !isNotFound(err) {
				return err
			}
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		t := s.targetOf(or)
		t.href = href
		results = append(results, &objectResult{t: t})
	}
	for chunk := range slices.Chunk(batch, 1000) {
		names := make([]string, len(chunk))
		for i, m := range chunk {
			names[i] = m.name
		}
		its, err := s.o.Store.ListObjects(ctx, res.folder.ID, store.ObjectQuery{Names: names})
		if err != nil {
			return err
		}
		byName := make(map[string]*store.Item, len(its))
		for _, it := range its {
			byName[it.Name] = it
		}
		for _, m := range chunk {
			it := byName[m.name]
			if it == nil {
				ms.statusResponse(m.href, http.StatusNotFound)
				continue
			}
			results = append(results, &objectResult{t: &target{res: res, kind: resObject, folder: res.folder, item: it, href: m.href}})
		}
	}
	shareTargets(results)
	for _, o := range results {
		ms.response(o.t.href, s.objectPropstats(ctx, o, pr))
	}
	if anyTruncated(results) {
		writeTruncated(ms, r.URL.EscapedPath(), "recurrence expanded up to the instance limit")
	}
	writeMultistatus(w, ms)
	return nil
}

// memberName returns the resource name when the escaped path p is a
// direct member of one of the collection paths bases.
func memberName(p string, bases []string) (string, bool) {
	for _, b := range bases {
		rest, ok := strings.CutPrefix(p, b)
		if !ok || rest == "" || strings.Contains(rest, "/") {
			continue
		}
		name, err := url.PathUnescape(rest)
		if err != nil || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return "", false
		}
		return name, true
	}
	return "", false
}

func shareTargets(rs []*objectResult) {
	ts := make([]*target, len(rs))
	for i, o := range rs {
		ts[i] = o.t
	}
	shareFolderState(ts)
}

func isNotFound(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.code == http.StatusNotFound || he.code == http.StatusBadRequest
	}
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPermission)
}

func (s *Server) calendarQuery(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	if res.kind != resFolder || !isCalendar(res.folder) {
		return precondition(http.StatusForbidden, "<C:calendar-collection-location-ok/>", "not a calendar")
	}
	fn := root.child(nsCalDAV, "filter")
	if fn == nil || len(fn.Children) != 1 || !fn.Children[0].is(nsCalDAV, "comp-filter") {
		return badFilter("<C:valid-filter/>", "calendar-query needs one comp-filter")
	}
	f, err := parseCompFilter(fn.Children[0], 0)
	if err != nil {
		return err
	}
	if err := validateCalFilter(f); err != nil {
		return err
	}
	if tz := root.child(nsCalDAV, "timezone"); tz != nil && !validTimezone(tz.Text) {
		// RFC 4791 §7.8 valid-calendar-data: one valid VTIMEZONE.
		return precondition(http.StatusForbidden, "<C:valid-calendar-data/>", "CALDAV:timezone must hold one VTIMEZONE")
	}
	pr := propRequestOf(root)
	if err := pr.checkData(); err != nil {
		return err
	}
	floating := s.floatingZone(ctx, res, root)
	pr.floating = floating
	zones := func(cal *ical.Component) *ical.Zones {
		z := s.zones.Zones(cal)
		z.Floating = floating
		return z
	}
	q := store.ObjectQuery{Limit: s.o.MaxResults + 1}
	tr := rangeOf(f)
	if tr != nil {
		q.Start, q.End = tr.start, tr.end
	}
	its, err := s.o.Store.ListObjects(ctx, res.folder.ID, q)
	if err != nil {
		return err
	}
	truncated := len(its) > s.o.MaxResults
	if truncated {
		its = its[:s.o.MaxResults]
	}
	comps, err := s.supportedComponents(ctx, res.folder)
	if err != nil {
		return err
	}
	kind, sr, simple := simpleRange(f)
	base := s.folderHref(res, res.folder)
	var results []*objectResult
	cut := false // an object that did not match was expanded only in part
	for _, it := range its {
		t := &target{res: res, kind: resObject, folder: res.folder, item: it, href: base + urlSeg(it.Name)}
		o := &objectResult{t: t}
		// Decided by the index alone: a single-kind calendar, a filter on
		// kind only, or kind and a range that holds the object's whole span.
		if simple && len(comps) == 1 && comps[0] == kind &&
			(sr == nil || !it.Start.IsZero() && !it.End.IsZero() && !it.Start.Before(sr.start) && (sr.end.IsZero() || !it.End.After(sr.end))) {
			results = append(results, o)
			continue
		}
		body, err := s.readItem(ctx, it)
		if err != nil {
			return err
		}
		cal, err := ical.Decode(body, ical.Limits{})
		if err != nil {
			continue
		}
		m := &calMatcher{zones: zones(cal), lim: s.expandLimits()}
		if m.matchCal(cal, f) {
			o.body, o.cal = body, cal
			results = append(results, o)
		} else if m.truncated {
			s.log.InfoContext(ctx, "DAV calendar-query: recurrence cut at the instance limit", "href", t.href, "max_instances", s.o.MaxInstances)
			cut = true
		}
	}
	shareTargets(results)
	return s.writeObjects(ctx, w, r, pr, results, func(ms *multistatus) {
		switch {
		case truncated:
			writeTruncated(ms, base, "more objects than the result limit")
		case cut || anyTruncated(results):
			writeTruncated(ms, base, "recurrence expanded up to the instance limit")
		}
	})
}

// floatingZone is the zone of floating times in a query: the request's
// CALDAV:timezone, else the collection's calendar-timezone, else UTC
// (RFC 4791 §7.3). Only zones the IANA database names are used.
func (s *Server) floatingZone(ctx context.Context, res *resource, root *node) *time.Location {
	var tzdata string
	if n := root.child(nsCalDAV, "timezone"); n != nil {
		tzdata = n.Text
	} else if m, err := s.o.Store.FolderProps(ctx, res.folder.ID); err == nil {
		if v, ok := m[propKey(pCalTimezone)]; ok {
			tzdata = xmlUnescape(v)
		}
	}
	if n := root.child(nsCalDAV, "timezone-id"); n != nil {
		if loc, err := time.LoadLocation(strings.TrimSpace(n.Text)); err == nil {
			return loc
		}
	}
	if tzdata == "" {
		return nil
	}
	cal, err := ical.Decode([]byte(tzdata), ical.Limits{MaxBytes: 1 << 20})
	if err != nil {
		return nil
	}
	for _, tz := range cal.Sub(ical.VTimezone) {
		if loc, err := time.LoadLocation(strings.TrimPrefix(tz.Text("TZID"), "/")); err == nil {
			return loc
		}
	}
	return nil
}

func xmlUnescape(s string) string {
	n, err := parseXMLBytes([]byte("<x>" + s + "</x>"))
	if err != nil || n == nil {
		return s
	}
	return n.Text
}

func (s *Server) addressbookQuery(w http.ResponseWriter, r *http.Request, res *resource, root *node) error {
	ctx := r.Context()
	// RFC 6352 §8.6: the request URI is an address book or a single
	// address object resource in one.
	if res.kind != resFolder && res.kind != resObject || !isAddressBook(res.folder) {
		return precondition(http.StatusForbidden, "<CR:addressbook-collection-location-ok/>", "not an address book")
	}
	fn := root.child(nsCardDAV, "filter")
	allOf := fn != nil && fn.attr("test") == "allof"
	var pfs []propFilter
	if fn != nil {
		for _, c := range fn.Children {
			if !c.is(nsCardDAV, "prop-filter") {
				continue
			}
			pf := propFilter{name: strings.ToUpper(c.attr("name")), allOf: c.attr("test") == "allof"}
			for _, cc := range c.Children {
				switch {
				case cc.is(nsCardDAV, "is-not-defined"):
					pf.notDefined = true
				case cc.is(nsCardDAV, "text-match"):
					tm, err := parseTextMatch(cc, "i;unicode-casemap")
					if err != nil {
						return err
					}
					pf.text = append(pf.text, tm)
				case cc.is(nsCardDAV, "param-filter"):
					pa, err := parseParamFilter(cc, nsCardDAV, "i;unicode-casemap")
					if err != nil {
						return err
					}
					pf.params = append(pf.params, pa)
				}
			}
			pfs = append(pfs, pf)
		}
	}
	limit := s.o.MaxResults
	if l := root.child(nsCardDAV, "limit"); l != nil {
		if nr := l.child(nsCardDAV, "nresults"); nr != nil {
			if v, err := strconv.Atoi(strings.TrimSpace(nr.Text)); err == nil && v > 0 && v < limit {
				limit = v
			}
		}
	}
	pr := propRequestOf(root)
	if err := pr.checkData(); err != nil {
		return err
	}
	its := []*store.Item{res.item}
	if res.kind == resFolder {
		var err error
		if its, err = s.o.Store.ListObjects(ctx, res.folder.ID, store.ObjectQuery{Limit: s.o.MaxResults + 1}); err != nil {
			return err
		}
	}
	base := s.folderHref(res, res.folder)
	var results []*objectResult
	truncated := false
	for _, it := range its {
		body, err := s.readItem(ctx, it)
		if err != nil {
			return err
		}
		if len(pfs) > 0 {
			cards, err := vcard.Decode(body, vcard.Limits{})
			if err != nil || len(cards) != 1 || !matchCard(cards[0], pfs, allOf) {
				continue
			}
		}
		if len(results) >= limit {
			truncated = true
			break
		}
		results = append(results, &objectResult{t: &target{res: res, kind: resObject, folder: res.folder, item: it, href: base + urlSeg(it.Name)}, body: body})
	}
	shareTargets(results)
	return s.writeObjects(ctx, w, r, pr, results, func(ms *multistatus) {
		if truncated {
			// RFC 6352 §8.6.1: a truncated result carries 507 for the
			// request URI.
			writeTruncated(ms, base, "more matches than the result limit")
		}
	})
}

// matchCard evaluates addressbook-query prop-filters (RFC 6352 §10.5).
func matchCard(c *vcard.Card, pfs []propFilter, allOf bool) bool {
	for _, pf := range pfs {
		ok := matchCardProp(c, pf)
		if allOf && !ok {
			return false
		}
		if !allOf && ok {
			return true
		}
	}
	return allOf
}

func matchCardProp(c *vcard.Card, pf propFilter) bool {
	ps := c.All(pf.name)
	if pf.notDefined {
		return len(ps) == 0
	}
	if len(ps) == 0 {
		return false
	}
	if len(pf.text) == 0 && len(pf.params) == 0 {
		return true
	}
	for _, p := range ps {
		var tests []bool
		for _, tm := range pf.text {
			tests = append(tests, tm.match(p.Text()))
		}
		for _, pa := range pf.params {
			tests = append(tests, matchParam(p.Params, pa))
		}
		all, any := true, false
		for _, t := range tests {
			all = all && t
			any = any || t
		}
		if pf.allOf && all || !pf.allOf && any {
			return true
		}
	}
	return false
}

// limitRecurrenceSet keeps the master components and the overrides that
// overlap tr (RFC 4791 §9.6.6).
func limitRecurrenceSet(cal *ical.Component, zones *ical.Zones, tr *timeRange) ([]byte, error) {
	out := &ical.Component{Name: cal.Name, Props: cal.Props}
	for _, c := range cal.Children {
		if c.Prop("RECURRENCE-ID") != nil {
			st, en, ok, err := zones.Span(c)
			if ok && err == nil {
				if !en.After(st) {
					en = st.Add(time.Second)
				}
				if !tr.end.IsZero() && !st.Before(tr.end) || !tr.start.IsZero() && !en.After(tr.start) {
					continue
				}
			}
		}
		out.Children = append(out.Children, c)
	}
	return ical.Marshal(out)
}

// validTimezone reports whether text is what CALDAV:timezone and
// CALDAV:calendar-timezone must hold (RFC 4791 §9.8, §5.2.2): an
// iCalendar object with exactly one VTIMEZONE and no other component.
func validTimezone(text string) bool {
	cal, err := ical.Decode([]byte(strings.TrimSpace(text)), ical.Limits{MaxBytes: 1 << 20})
	if err != nil || cal.Name != ical.VCalendar || len(cal.Children) != 1 {
		return false
	}
	tz := cal.Children[0]
	return tz.Name == ical.VTimezone && tz.Text("TZID") != ""
}
