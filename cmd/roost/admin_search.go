package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// searchView is GET /v1/search/status's reply.
type searchView struct {
	Enabled    bool   `json:"enabled"`
	Backlog    int64  `json:"backlog"`
	Docs       int64  `json:"docs"`
	TextBytes  int64  `json:"text_bytes"`
	IndexBytes *int64 `json:"index_bytes"`
	Stores     []struct {
		StoreID   int64  `json:"store_id"`
		Owner     string `json:"owner"`
		IndexedTo uint64 `json:"indexed_to"`
		ModSeq    uint64 `json:"modseq"`
		Backlog   int64  `json:"backlog"`
		Docs      int64  `json:"docs"`
		TextBytes int64  `json:"text_bytes"`
	} `json:"stores"`
}

func searchStatusPath(login string) string {
	if login == "" {
		return "/v1/search/status"
	}
	return "/v1/search/status?login=" + url.QueryEscape(login)
}

// searchStatus: roost admin search status [LOGIN] [--json].
func searchStatus(a *admin, _ *adminCmd, in *input) error {
	login := ""
	if len(in.pos) > 0 {
		login = in.pos[0]
	}
	var v searchView
	data, err := a.c.callInto(a.ctx, "GET", searchStatusPath(login), nil, &v)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, s := range v.Stores {
		owner := s.Owner
		if owner == "" {
			owner = "-"
		}
		rows = append(rows, []string{fmt.Sprint(s.StoreID), owner, fmt.Sprint(s.IndexedTo), fmt.Sprint(s.ModSeq),
			fmt.Sprint(s.Backlog), fmt.Sprint(s.Docs), humanBytes(s.TextBytes)})
	}
	printTable(a.stdout, []string{"Store", "Owner", "Indexed to", "Modseq", "Backlog", "Documents", "Text"}, rows)
	state := "current"
	switch {
	case !v.Enabled:
		state = "off (search_index = false)"
	case v.Backlog > 0:
		state = fmt.Sprintf("%d changes behind", v.Backlog)
	}
	fmt.Fprintf(a.stdout, "\nIndex: %s; %d documents from %s of text", state, v.Docs, humanBytes(v.TextBytes))
	if v.IndexBytes != nil {
		fmt.Fprintf(a.stdout, "; %s on disk", humanBytes(*v.IndexBytes))
	}
	fmt.Fprintln(a.stdout)
	return nil
}

// searchReindex: roost admin search reindex LOGIN|--all [--no-wait]. The
// server empties the indexes and its indexer rebuilds them; this waits,
// with a progress bar, until the backlog is gone. Interrupting it stops
// only the waiting.
func searchReindex(a *admin, cmd *adminCmd, in *input) error {
	login := ""
	if len(in.pos) > 0 {
		login = in.pos[0]
	}
	if (login == "") == !in.bools["all"] {
		return usagef("%s: name a LOGIN or give --all (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	var v searchView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/search/reindex", map[string]any{"login": login, "all": in.bools["all"]}, &v)
	if err != nil {
		return err
	}
	if in.bools["no-wait"] {
		if a.json {
			a.printRaw(data)
		} else {
			fmt.Fprintf(a.stdout, "Reindexing %d store(s): %d changes to index\n", len(v.Stores), v.Backlog)
		}
		return nil
	}
	total := max(v.Backlog, 1)
	bar := &reindexBar{w: a.stdout, quiet: a.json}
	for {
		bar.show(total-v.Backlog, total)
		if v.Backlog == 0 {
			break
		}
		select {
		case <-a.ctx.Done():
			return a.ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if data, err = a.c.callInto(a.ctx, "GET", searchStatusPath(login), nil, &v); err != nil {
			return err
		}
		total = max(total, v.Backlog) // changes made meanwhile
	}
	bar.done()
	if a.json {
		a.printRaw(data)
		return nil
	}
	fmt.Fprintf(a.stdout, "Reindexed %d store(s): %d documents from %s of text\n", len(v.Stores), v.Docs, humanBytes(v.TextBytes))
	return nil
}

// reindexBar draws "[#####.....]  50% 500/1000" on one line.
type reindexBar struct {
	w     io.Writer
	quiet bool
	drawn bool
}

func (p *reindexBar) show(done, total int64) {
	if p.quiet {
		return
	}
	const width = 40
	n := int(done * width / total)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d changes", strings.Repeat("#", n), strings.Repeat(".", width-n), done*100/total, done, total)
	p.drawn = true
}

func (p *reindexBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
