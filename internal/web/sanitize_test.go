package web

import (
	"regexp"
	"strings"
	"testing"
)

// dangerous matches what must never leave Sanitize: script and active
// elements, event handlers, script URLs, CSS that loads, refresh and base.
var dangerous = regexp.MustCompile(`(?i)<\s*(script|style|link|meta|base|form|input|button|iframe|object|embed|svg|math|frame|frameset|applet|template)\b|\son[a-z]+\s*=|javascript:|vbscript:|data:|url\s*\(|@import|expression\s*\(|srcset`)

func TestSanitize(t *testing.T) {
	for _, c := range []struct {
		name, in  string
		keep      []string // substrings the output must keep
		forbidden []string // extra substrings it must not have
	}{
		{"script", `<p>hi</p><script>alert(1)</script>`, []string{"<p>hi</p>"}, []string{"alert"}},
		{"onerror", `<img src="https://x.example/a.png" onerror="alert(1)">`, []string{`src="https://x.example/a.png"`}, nil},
		{"javascript link", `<a href="javascript:alert(1)">x</a>`, []string{"x"}, []string{"href"}},
		{"data link", `<a href="data:text/html,<script>alert(1)</script>">x</a>`, []string{"x"}, []string{"href"}},
		{"relative link", `<a href="/web/logout">x</a>`, []string{"x"}, []string{"href"}},
		{"svg script", `<svg><script>alert(1)</script><image href="https://x.example/i.png"/></svg>ok`, []string{"ok"}, []string{"image"}},
		{"css url", `<div style="background-image: url(https://x.example/t.png); color: red">t</div>`, []string{"color: red", ">t</div>"}, nil},
		{"style import", `<style>@import url(https://x.example/c.css);</style><p>t</p>`, []string{"<p>t</p>"}, []string{"x.example"}},
		{"form", `<form action="https://x.example/"><input name=q><button>go</button></form>`, nil, []string{"x.example"}},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://x.example/">t`, []string{"t"}, []string{"x.example"}},
		{"base", `<base href="https://x.example/"><a href="https://ok.example/">o</a>`, []string{`href="https://ok.example/"`}, []string{"x.example"}},
		{"srcset", `<img src="https://x.example/a.png" srcset="https://x.example/b.png 2x">`, []string{"a.png"}, []string{"b.png"}},
		{"link attributes", `<a href="https://ok.example/">o</a>`, []string{`rel="nofollow noreferrer noopener"`, `target="_blank"`}, nil},
		{"cid image", `<img src="cid:logo.123@example.org" alt="logo">`, []string{`src="cid:logo.123@example.org"`}, nil},
		{"cid without id", `<img src="cid:">`, nil, []string{"cid:"}},
		{"tables", `<table bgcolor="#fff" cellpadding="2"><tr><td align="center">c</td></tr></table>`, []string{`bgcolor="#fff"`, `align="center"`}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := Sanitize(c.in)
			if dangerous.MatchString(out) {
				t.Errorf("Sanitize(%q) = %q: %q survived", c.in, out, dangerous.FindString(out))
			}
			for _, k := range c.keep {
				if !strings.Contains(out, k) {
					t.Errorf("Sanitize(%q) = %q, lost %q", c.in, out, k)
				}
			}
			for _, f := range c.forbidden {
				if strings.Contains(out, f) {
					t.Errorf("Sanitize(%q) = %q, kept %q", c.in, out, f)
				}
			}
		})
	}
}

// FuzzSanitize: whatever the input, nothing active survives.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`, `<a href="jav&#x09;ascript:alert(1)">x</a>`,
		`<svg><animate onbegin=alert(1)>`, `<div style="background:url(javascript:alert(1))">`, `<<script>script>alert(1)<</script>/script>`,
		`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`, `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<16 {
			return
		}
		out := Sanitize(in)
		// Text content may say "javascript:" or "url(" harmlessly; only
		// markup matters: check the tags and attributes.
		for _, m := range regexp.MustCompile(`<[^>]*>`).FindAllString(out, -1) {
			if dangerous.MatchString(m) {
				t.Fatalf("Sanitize(%q) = %q: tag %q", in, out, m)
			}
		}
	})
}
