package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/roost-mail/roost/internal/mail"
)

// archiveEvent is a line of POST /v1/archive/run's NDJSON reply.
type archiveEvent struct {
	Progress *mail.ArchiveProgress `json:"progress"`
	Summary  *mail.ArchiveStats    `json:"summary"`
	Error    string                `json:"error"`
}

// roost admin archive attach|detach|list|run (kopano-archiver's
// kopano-archiver-manage / -A): archive stores and archiving on demand.

func archiveAttach(a *admin, _ *adminCmd, in *input) error {
	var s storeView
	data, err := a.c.callInto(a.ctx, "PUT", "/v1/users/"+pathSeg(in.pos[0])+"/archive", map[string]string{"node": in.str["node"]}, &s)
	if err != nil {
		return err
	}
	where := ""
	if s.Node != "" {
		where = " on node " + s.Node
	}
	a.say(data, "attached archive store %d to %s%s", s.ID, s.Owner, where)
	return nil
}

func archiveDetach(a *admin, _ *adminCmd, in *input) error {
	if _, err := a.c.callInto(a.ctx, "DELETE", "/v1/users/"+pathSeg(in.pos[0])+"/archive", nil, nil); err != nil {
		return err
	}
	a.say(nil, "detached the archive store of %s; it is kept as an orphan (store orphans)", in.pos[0])
	return nil
}

func archiveList(a *admin, _ *adminCmd, in *input) error {
	path := "/v1/archives"
	if t := in.str["tenant"]; t != "" {
		path += "?tenant=" + url.QueryEscape(t)
	}
	var ss []storeView
	data, err := a.c.callInto(a.ctx, "GET", path, nil, &ss)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, s := range ss {
		node := s.Node
		if node == "" {
			node = "-"
		}
		rows = append(rows, []string{fmt.Sprint(s.ID), s.Tenant, s.Owner, node, s.SizeHuman, fmt.Sprint(s.Messages), shortTime(s.Created)})
	}
	printTable(a.stdout, []string{"Store", "Tenant", "User", "Node", "Size", "Messages", "Created"}, rows)
	return nil
}

// archiveRun archives one user or every user now, in the server, with a
// progress bar. Interrupting it stops the run; the next run resumes it
// (what was archived is recorded with each copy).
func archiveRun(a *admin, cmd *adminCmd, in *input) error {
	login := ""
	if len(in.pos) > 0 {
		login = in.pos[0]
	}
	if (login == "") == !in.bools["all"] {
		return usagef("%s: name a LOGIN or give --all (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	bar := &archiveBar{w: newProgressBar(a.stderr)}
	var sum *mail.ArchiveStats
	start := time.Now()
	err := a.c.streamLines(a.ctx, "/v1/archive/run", map[string]any{"login": login, "all": in.bools["all"]}, func(line []byte) (bool, error) {
		var ev archiveEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return false, fmt.Errorf("POST /v1/archive/run: a reply line that is not JSON: %w", err)
		}
		if ev.Progress != nil {
			bar.show(*ev.Progress)
		}
		if ev.Summary != nil {
			sum = ev.Summary
		}
		if ev.Error != "" {
			return false, errors.New(ev.Error)
		}
		return ev.Summary != nil, nil
	})
	bar.w.done()
	if sum != nil {
		data, _ := json.Marshal(sum)
		a.say(data, "archived %d messages (%s) of %d user(s) in %.1fs; %d stubbed, %d removed, %d moved after their originals, %d archive folders created",
			sum.Archived, humanBytes(sum.Bytes), sum.Users, time.Since(start).Seconds(), sum.Stubbed, sum.Removed, sum.Moved, sum.Folders)
	}
	return err
}

// archiveBar draws an archive run on the shared progress bar.
type archiveBar struct{ w *progressBar }

func (b *archiveBar) show(p mail.ArchiveProgress) {
	b.w.showLine(p.Login, p.Items, p.ItemsAll, p.Users, p.UsersAll, "users")
}
