package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
	return runImport(a, backup.ImportRequest{Login: in.pos[0], Format: format, Path: path, Folder: in.str["folder"]})
}

// runImport streams one import, drawing its progress, and prints the
// summary and what could not be imported.
func runImport(a *admin, req backup.ImportRequest) error {
	bar := newProgressBar(a.stderr)
	var sum *backup.ImportSummary
	err := a.c.stream(a.ctx, "/v1/import", req,
		func(ev backup.Event) {
			if ev.Progress != nil {
				bar.show(*ev.Progress)
			}
			if ev.Import != nil {
				sum = ev.Import
			}
		})
	bar.done()
	// A failed import that did nothing prints only its error, not a
	// summary of zeros before it.
	if sum != nil && (err == nil || sum.Imported > 0 || sum.Present > 0 || len(sum.Problems) > 0) {
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

// importIMAP imports one user (LOGIN) or the users of a CSV file from
// another IMAP server.
func importIMAP(a *admin, cmd *adminCmd, in *input) error {
	src := backup.IMAPSource{Host: in.str["host"], Security: "none", Insecure: in.bools["insecure"]}
	if src.Host == "" {
		return usagef("%s: --host is required", cmd.name())
	}
	if p := in.str["port"]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return usagef("--port: %q is not a port", p)
		}
		src.Port = n
	}
	switch {
	case in.bools["tls"] && in.bools["starttls"]:
		return usagef("%s: --tls or --starttls, not both", cmd.name())
	case in.bools["tls"]:
		src.Security = "tls"
	case in.bools["starttls"]:
		src.Security = "starttls"
	}
	for _, l := range in.lists["folders"] {
		for _, f := range strings.Split(l, ",") {
			if f = strings.TrimSpace(f); f != "" {
				src.Folders = append(src.Folders, f)
			}
		}
	}
	type job struct{ login, user, password string }
	var jobs []job
	if file := in.str["csv"]; file != "" {
		if len(in.pos) > 0 {
			return usagef("%s: name a LOGIN or --csv FILE, not both", cmd.name())
		}
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd.name(), err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.Comment = '#'
		r.FieldsPerRecord = 3
		r.TrimLeadingSpace = true
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", cmd.name(), file, err)
			}
			jobs = append(jobs, job{login: rec[0], user: rec[1], password: rec[2]})
		}
	} else {
		if len(in.pos) == 0 {
			return usagef("%s: name a LOGIN or --csv FILE", cmd.name())
		}
		if in.str["user"] == "" {
			return usagef("%s: --user is required", cmd.name())
		}
		var pw string
		switch {
		case in.bools["password-stdin"]:
			p, err := readPassword(a.stdin)
			if err != nil {
				return err
			}
			pw = p
		case in.str["password-file"] != "":
			data, err := os.ReadFile(in.str["password-file"])
			if err != nil {
				return fmt.Errorf("%s: %w", cmd.name(), err)
			}
			pw = strings.TrimRight(string(data), "\r\n")
		default:
			return usagef("%s: --password-stdin or --password-file F is required", cmd.name())
		}
		jobs = append(jobs, job{login: in.pos[0], user: in.str["user"], password: pw})
	}
	var failed []string
	for _, j := range jobs {
		s := src
		s.User, s.Password = j.user, j.password
		if err := runImport(a, backup.ImportRequest{Login: j.login, Format: "imap", IMAP: &s}); err != nil {
			if len(jobs) == 1 {
				return err
			}
			fmt.Fprintf(a.stderr, "roost admin: import imap %s: %s\n", j.login, oneLine(err.Error()))
			failed = append(failed, j.login)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: %d of %d users failed: %s (run the same command again to resume)", cmd.name(), len(failed), len(jobs), strings.Join(failed, ", "))
	}
	return nil
}

// exportStore asks the server to write a user's whole store under a
// directory on its host.
func exportStore(a *admin, cmd *adminCmd, in *input) error {
	to := in.str["to"]
	if to == "" {
		return usagef("%s: --to DIR is required", cmd.name())
	}
	if f := in.str["format"]; f != "" && f != "mbox" && f != "maildir" {
		return usagef("%s: --format %q: give mbox or maildir", cmd.name(), f)
	}
	abs, err := filepath.Abs(to)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.name(), err)
	}
	bar := newProgressBar(a.stderr)
	var sum *backup.ExportSummary
	err = a.c.stream(a.ctx, "/v1/export", backup.ExportRequest{Login: in.pos[0], To: abs, Format: in.str["format"]}, func(ev backup.Event) {
		if ev.Progress != nil {
			bar.show(*ev.Progress)
		}
		if ev.Export != nil {
			sum = ev.Export
		}
	})
	bar.done()
	if sum != nil && (err == nil || sum.Messages > 0 || sum.Objects > 0) {
		data, _ := json.Marshal(sum)
		a.say(data, "exported %d messages and %d calendar and contact files (%s, %d folders) of %s to %s in %.1fs",
			sum.Messages, sum.Objects, humanBytes(sum.Bytes), sum.Folders, sum.Login, sum.Dir, sum.Seconds)
		if !a.json {
			for _, p := range sum.Problems {
				fmt.Fprintf(a.stdout, "  %s\n", p)
			}
		}
	}
	return err
}
