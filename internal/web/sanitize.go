package web

import (
	"net/url"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// policy is the server-side sanitiser of HTML mail, built once: bluemonday's
// user-generated-content policy (no script, style or form elements, no
// event handler attributes, no javascript:/data: or relative URLs), plus
// the presentational markup mail relies on (tables, font, inline styles
// limited to properties that cannot load anything: no url(), no
// background images). Links get rel="nofollow noreferrer noopener" and
// target=_blank.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowRelativeURLs(false)
	p.AllowURLSchemes("http", "https", "mailto")
	// cid: (RFC 2392) names a part of the same message: an inline image
	// of multipart/related. It loads nothing by itself; the app maps it
	// to that part's download and drops any cid: it cannot map (html.js).
	p.AllowURLSchemeWithCustomPolicy("cid", func(u *url.URL) bool { return u.Opaque != "" && len(u.Opaque) <= 998 })
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowElements("font", "center", "span", "div")
	p.AllowAttrs("color", "face", "size").OnElements("font")
	p.AllowAttrs("align", "valign", "width", "height", "bgcolor", "border", "cellpadding", "cellspacing").
		OnElements("table", "tr", "td", "th", "tbody", "thead", "tfoot", "col", "colgroup", "div", "p", "img")
	// Only properties whose values cannot name a URL: bluemonday checks
	// each value against the property's grammar.
	p.AllowStyles("color", "background-color", "font-family", "font-size", "font-weight", "font-style",
		"text-align", "text-decoration", "line-height", "margin", "margin-top", "margin-bottom", "margin-left",
		"margin-right", "padding", "padding-top", "padding-bottom", "padding-left", "padding-right",
		"border", "border-collapse", "width", "height", "max-width", "vertical-align", "white-space",
		"display").Globally()
	return p
})

// Sanitize returns html with everything that could run code, submit data
// or load anything but plain images removed. Remote images survive it:
// the client blocks them until the user allows them (docs/web.md), and
// so do cid: references to the message's own parts.
func Sanitize(html string) string {
	return policy().Sanitize(html)
}
