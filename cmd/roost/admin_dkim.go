package main

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// dkimView is a domain's DKIM record as the admin API sends it (never the
// private key).
type dkimView struct {
	Domain   string `json:"domain"`
	Selector string `json:"selector"`
	Name     string `json:"name"`
	TXT      string `json:"txt"`
}

// domainDKIM is `roost admin domain dkim DOMAIN`: a new key (replacing the
// domain's current one), or with --show the current record.
func domainDKIM(a *admin, _ *adminCmd, in *input) error {
	domain := in.pos[0]
	path := "/v1/domains/" + pathSeg(domain) + "/dkim"
	sel, hasSel := in.str["selector"]
	if in.bools["show"] && hasSel {
		return usagef("domain dkim: --show and --selector exclude each other")
	}
	if hasSel && sel == "" {
		return usagef("domain dkim: --selector needs a value")
	}
	var d dkimView
	var data []byte
	var err error
	if in.bools["show"] {
		data, err = a.c.callInto(a.ctx, "GET", path, nil, &d)
	} else {
		data, err = a.c.callInto(a.ctx, "POST", path, map[string]string{"selector": sel}, &d)
	}
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	if !in.bools["show"] {
		fmt.Fprintf(a.stdout, "New DKIM key for %s (selector %s); outgoing mail is signed with it from now on.\n", d.Domain, d.Selector)
		fmt.Fprintf(a.stdout, "Publish this TXT record (replacing an older one of the same name):\n\n")
	}
	fmt.Fprintf(a.stdout, "%s. IN TXT %s\n", d.Name, txtStrings(d.TXT))
	return nil
}

// txtStrings writes a TXT value as zone-file character strings of at most
// 255 bytes each (RFC 1035 §3.3.14), as a 2048-bit key needs; resolvers
// join them (RFC 6376 §3.6.2.2).
func txtStrings(v string) string {
	out := ""
	for len(v) > 0 {
		n := min(len(v), 255)
		if out != "" {
			out += " "
		}
		out += `"` + v[:n] + `"`
		v = v[n:]
	}
	if out == "" {
		out = `""`
	}
	return out
}

// disclaimerView is a tenant's disclaimer.
type disclaimerView struct {
	Text string `json:"text"`
	HTML string `json:"html"`
}

// maxDisclaimerFile bounds each disclaimer file (the server's limit).
const maxDisclaimerFile = 64 << 10

// tenantDisclaimer is `roost admin tenant disclaimer NAME`: show, set
// (--text-file, --html-file; "-" is standard input) or remove (--off).
func tenantDisclaimer(a *admin, _ *adminCmd, in *input) error {
	path := "/v1/tenants/" + pathSeg(in.pos[0]) + "/disclaimer"
	tf, hasText := in.str["text-file"]
	hf, hasHTML := in.str["html-file"]
	if in.bools["off"] && (hasText || hasHTML) {
		return usagef("tenant disclaimer: --off excludes --text-file and --html-file")
	}
	if hasText && hasHTML && tf == "-" && hf == "-" {
		return usagef("tenant disclaimer: only one of --text-file and --html-file can be standard input")
	}
	body := map[string]string{}
	if in.bools["off"] {
		body["text"], body["html"] = "", ""
	}
	for _, f := range []struct{ flag, key, file string }{{"text-file", "text", tf}, {"html-file", "html", hf}} {
		if _, ok := in.str[f.flag]; !ok {
			continue
		}
		b, err := readSmallFile(a, f.file, maxDisclaimerFile)
		if err != nil {
			return fmt.Errorf("tenant disclaimer: --%s: %w", f.flag, err)
		}
		if len(b) == 0 {
			return fmt.Errorf("tenant disclaimer: --%s %s is empty (--off removes the disclaimer)", f.flag, f.file)
		}
		if !utf8.Valid(b) {
			// JSON would silently turn the bad bytes into U+FFFD.
			return fmt.Errorf("tenant disclaimer: --%s %s is not UTF-8 (convert it, e.g. iconv -f latin1 -t utf-8)", f.flag, f.file)
		}
		body[f.key] = string(b)
	}
	var d disclaimerView
	var data []byte
	var err error
	if len(body) == 0 {
		data, err = a.c.callInto(a.ctx, "GET", path, nil, &d)
	} else {
		data, err = a.c.callInto(a.ctx, "PATCH", path, body, &d)
	}
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	if d.Text == "" && d.HTML == "" {
		fmt.Fprintf(a.stdout, "tenant %s has no disclaimer\n", in.pos[0])
		return nil
	}
	for _, p := range []struct{ title, v string }{{"Text disclaimer", d.Text}, {"HTML disclaimer", d.HTML}} {
		if p.v == "" {
			fmt.Fprintf(a.stdout, "%s: none\n", p.title)
			continue
		}
		fmt.Fprintf(a.stdout, "%s:\n%s", p.title, p.v)
		if p.v[len(p.v)-1] != '\n' {
			fmt.Fprintln(a.stdout)
		}
	}
	return nil
}

// readSmallFile reads a file ("-": standard input) of at most limit bytes.
func readSmallFile(a *admin, name string, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if a.stdin == nil {
			return nil, fmt.Errorf("no standard input")
		}
		r = a.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}
