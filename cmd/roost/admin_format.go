package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// The admin API's replies as `roost admin` reads them. They mirror
// internal/adminapi's wire types; the command may not import the adapter
// (internal/archtest), and --json prints the reply as it came.

type tenantView struct {
	Name          string    `json:"name"`
	QuotaWarn     int64     `json:"quota_warn"`
	UserQuotaWarn int64     `json:"user_quota_warn"`
	UserQuotaSoft int64     `json:"user_quota_soft"`
	UserQuotaHard int64     `json:"user_quota_hard"`
	Viewers       []string  `json:"viewers"`
	Admins        []string  `json:"admins"`
	PublicStoreID int64     `json:"public_store_id"`
	HomeNode      string    `json:"home_node,omitempty"`
	Created       time.Time `json:"created"`
	Usage         *struct {
		Size      int64  `json:"size"`
		SizeHuman string `json:"size_human"`
		QuotaWarn int64  `json:"quota_warn"`
	} `json:"usage"`
}

type quotaLevels struct {
	Warn int64 `json:"warn"`
	Soft int64 `json:"soft"`
	Hard int64 `json:"hard"`
}

type userView struct {
	Login    string   `json:"login"`
	Tenant   string   `json:"tenant"`
	FullName string   `json:"full_name"`
	Email    string   `json:"email"`
	Aliases  []string `json:"aliases"`
	Active   bool     `json:"active"`
	Admin    int      `json:"admin"`
	Features struct {
		Enabled   []string `json:"enabled"`
		Disabled  []string `json:"disabled"`
		Effective []string `json:"effective"`
	} `json:"features"`
	StoreID int64 `json:"store_id"`
	Store   *struct {
		Size      int64  `json:"size"`
		SizeHuman string `json:"size_human"`
		Messages  int64  `json:"messages"`
		Quota     struct {
			Source string `json:"source"`
			quotaLevels
		} `json:"quota"`
	} `json:"store"`
	Quota struct {
		Override bool `json:"override"`
		quotaLevels
	} `json:"quota"`
	SendAs   []string `json:"send_as"`
	Groups   []string `json:"groups"`
	HomeNode string   `json:"home_node"`
	Resource struct {
		AutoAccept       bool `json:"auto_accept"`
		DeclineConflict  bool `json:"decline_conflict"`
		DeclineRecurring bool `json:"decline_recurring"`
		Capacity         int  `json:"capacity"`
	} `json:"resource"`
}

type groupView struct {
	Name    string   `json:"name"`
	Tenant  string   `json:"tenant"`
	Email   string   `json:"email"`
	Kind    string   `json:"kind"`
	Hidden  bool     `json:"hidden"`
	BuiltIn bool     `json:"builtin"`
	Members []string `json:"members"`
	// Contacts are the group's contact members' addresses.
	Contacts []string `json:"contacts"`
}

type domainView struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
}

type storeView struct {
	ID          int64     `json:"id"`
	Tenant      string    `json:"tenant"`
	Kind        string    `json:"kind"`
	Owner       string    `json:"owner"`
	Orphan      bool      `json:"orphan"`
	FormerOwner string    `json:"former_owner"`
	Size        int64     `json:"size"`
	SizeHuman   string    `json:"size_human"`
	Messages    int64     `json:"messages"`
	Created     time.Time `json:"created"`
	Node        string    `json:"node"`
}

// pathSeg escapes one path segment (names may hold spaces, "@", "%"…).
func pathSeg(s string) string { return url.PathEscape(s) }

// query builds "?tenant=T" (or "" when t is empty).
func tenantQuery(t string) string {
	if t == "" {
		return ""
	}
	return "?tenant=" + url.QueryEscape(t)
}

// printRaw prints a reply as the server sent it (--json).
func (a *admin) printRaw(data []byte) {
	a.stdout.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		io.WriteString(a.stdout, "\n")
	}
}

// say prints a confirmation, unless --json asked for the reply itself.
func (a *admin) say(data []byte, format string, args ...any) {
	if a.json {
		if len(data) > 0 {
			a.printRaw(data)
		}
		return
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// details prints "Key:   value" lines with the values aligned, as
// kopano-admin --details does.
type details [][2]string

func (d *details) add(key, format string, args ...any) {
	*d = append(*d, [2]string{key, fmt.Sprintf(format, args...)})
}

func (d details) write(w io.Writer) {
	width := 0
	for _, kv := range d {
		width = max(width, len(kv[0]))
	}
	for _, kv := range d {
		line := fmt.Sprintf("%-*s %s", width+1, kv[0]+":", kv[1])
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

// printTable prints rows under a header, in aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// quotaLevel formats a quota level as kopano-admin does, 0 being off.
func quotaLevel(b int64) string {
	if b == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%.2f MB", float64(b)/(1<<20))
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func adminName(l int) string {
	switch l {
	case 0:
		return "no"
	case 1:
		return "yes (tenant)"
	case 2:
		return "yes (system)"
	}
	return fmt.Sprint(l)
}

func joinOr(l []string, sep, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, sep)
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// singleTenant reports whether t is the tenant a single-tenant install
// has: its users never see the word "tenant" (SPEC §3), so confirmations
// and details leave it out.
func singleTenant(t string) bool { return t == "" || t == "default" }

// inTenant is " in tenant T", or "" for the single-tenant default.
func inTenant(t string) string {
	if singleTenant(t) {
		return ""
	}
	return " in tenant " + t
}
