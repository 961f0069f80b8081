package davserver

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseXML drives the request body parser and the parsers that read
// its tree (PROPFIND, PROPPATCH, calendar-query filters). It must never
// panic, must refuse DOCTYPEs, and what it accepts must stay within the
// bounds; a dead property it encodes must parse again.
func FuzzParseXML(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:x/></D:include></D:propfind>`,
		`<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><X:a b="c">t<X:b/>u</X:a></D:prop></D:set><D:remove><D:prop><X:z/></D:prop></D:remove></D:propertyupdate>`,
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240201T000000Z"/><C:prop-filter name="SUMMARY"><C:text-match collation="i;octet" negate-condition="yes">x</C:text-match><C:param-filter name="LANGUAGE"><C:is-not-defined/></C:param-filter></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`,
		`<a xmlns:p=""><p:b/></a>`,
		`<a>` + strings.Repeat("<b>", 40) + strings.Repeat("</b>", 40) + `</a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseXMLBytes(b)
		if err != nil {
			if !errors.Is(err, errBadXML) {
				t.Fatalf("error not errBadXML: %v", err)
			}
			return
		}
		if n == nil {
			return
		}
		if strings.Contains(string(b), "<!DOCTYPE") && !strings.Contains(string(b), "<![CDATA[") {
			t.Fatalf("DOCTYPE accepted: %q", b)
		}
		count, depth := 0, 0
		var walk func(*node, int)
		walk = func(n *node, d int) {
			count++
			depth = max(depth, d)
			for _, c := range n.Children {
				walk(c, d+1)
			}
		}
		walk(n, 1)
		if count > maxXMLElements || depth > maxXMLDepth {
			t.Fatalf("bounds exceeded: %d elements, depth %d", count, depth)
		}
		_, _ = parsePropRequest(n)
		for _, u := range parseUpdates(n) {
			if u.value != nil {
				if _, err := parseXMLBytes([]byte("<r>" + *u.value + "</r>")); err != nil {
					t.Fatalf("encoded dead property does not parse: %v\n%q", err, *u.value)
				}
			}
		}
		if fl := n.child(nsCalDAV, "filter"); fl != nil && len(fl.Children) > 0 {
			_, _ = parseCompFilter(fl.Children[0], 0)
		}
		_, _ = parseSyncToken(n.Text)
	})
}
