package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/roost-mail/roost/internal/backup"
)

func importMbox(a *admin, cmd *adminCmd, in *input) error {
	return importMail(a, cmd, in, "mbox")
}

func importMaildir(a *admin, cmd *adminCmd, in *input) error {
	return importMail(a, cmd, in, "maildir")
}

// importMail asks the server to import an mbox file or a Maildir tree on
// its host (as roost backup does), drawing progress on a terminal.
func importMail(a *admin, cmd *adminCmd, in *input, format string) error {
	path, err := filepath.Abs(in.pos[1])
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.name(), err)
	}
	bar := newProgressBar(a.stderr)
	var sum *backup.ImportSummary
	err = a.c.stream(a.ctx, "/v1/import", backup.ImportRequest{Login: in.pos[0], Format: format, Path: path, Folder: in.str["folder"]},
		func(ev backup.Event) {
			if ev.Progress != nil {
				bar.show(*ev.Progress)
			}
			if ev.Import != nil {
				sum = ev.Import
			}
		})
	bar.done()
	if sum != nil {
		data, _ := json.Marshal(sum)
		rate := 0.0
		if sum.Seconds > 0 {
			rate = float64(sum.Imported) / sum.Seconds
		}
		a.say(data, "imported %d messages (%s) into %d folders of %s in %.1fs (%.0f messages/s); %d already there",
			sum.Imported, humanBytes(sum.Bytes), sum.Folders, sum.Login, sum.Seconds, rate, sum.Present)
		if !a.json && len(sum.Problems) > 0 {
			fmt.Fprintf(a.stdout, "not imported or imported with changes (%d):\n", len(sum.Problems)+sum.ProblemsMore)
			for _, p := range sum.Problems {
				fmt.Fprintf(a.stdout, "  %s\n", p)
			}
			if sum.ProblemsMore > 0 {
				fmt.Fprintf(a.stdout, "  … and %d more (see --json)\n", sum.ProblemsMore)
			}
		}
	}
	return err
}
