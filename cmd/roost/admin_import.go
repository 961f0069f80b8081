package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
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
	type job struct {
		login, user, password string
		where                 string // "users.csv line 3" (a CSV row)
	}
	var jobs []job
	var bad, badAt []string // CSV rows that could not be read, and their lines
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
		r.FieldsPerRecord = -1 // checked here, so that one bad row does not stop the others
		r.TrimLeadingSpace = true
		seen := map[string]string{}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				badAt = append(badAt, fmt.Sprintf("line %d", pe.StartLine))
				bad = append(bad, fmt.Sprintf("%s line %d: %v", file, pe.StartLine, pe.Err))
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", cmd.name(), file, err)
			}
			line, _ := r.FieldPos(0)
			where := fmt.Sprintf("%s line %d", file, line)
			login := strings.TrimSpace(rec[0])
			// Logins are case-insensitive (users.login_lc): "Ann" and
			// "ann" are one Roost user, imported once.
			key := strings.ToLower(login)
			if len(rec) != 3 || login == "" || strings.TrimSpace(rec[1]) == "" || seen[key] != "" {
				badAt = append(badAt, fmt.Sprintf("line %d", line))
			}
			switch {
			case len(rec) != 3:
				bad = append(bad, fmt.Sprintf("%s: want LOGIN,USER,PASSWORD (3 fields), not %d", where, len(rec)))
			case strings.TrimSpace(rec[0]) == "" || strings.TrimSpace(rec[1]) == "":
				bad = append(bad, fmt.Sprintf("%s: the login and the source user must not be empty", where))
			case seen[key] != "":
				bad = append(bad, fmt.Sprintf("%s: %s is already imported by %s", where, login, seen[key]))
			default:
				seen[key] = where
				jobs = append(jobs, job{login: login, user: strings.TrimSpace(rec[1]), password: rec[2], where: where})
			}
			if len(jobs)+len(bad) > maxCSVUsers {
				return fmt.Errorf("%s: %s has more than %d rows: split it", cmd.name(), file, maxCSVUsers)
			}
		}
		// Reported before the imports start, and again at the end.
		for _, b := range bad {
			fmt.Fprintf(a.stderr, "roost admin: import imap: %s (row skipped)\n", b)
		}
		if len(jobs) == 0 && len(bad) == 0 {
			return fmt.Errorf("%s: %s names no user", cmd.name(), file)
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
	for i, j := range jobs {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		s := src
		s.User, s.Password = j.user, j.password
		if len(jobs) > 1 || len(bad) > 0 {
			fmt.Fprintf(a.stderr, "roost admin: import imap: user %d of %d: %s (%s)\n", i+1, len(jobs), j.login, j.where)
		}
		if err := runImport(a, backup.ImportRequest{Login: j.login, Format: "imap", IMAP: &s}); err != nil {
			if len(jobs) == 1 && len(bad) == 0 {
				return err
			}
			fmt.Fprintf(a.stderr, "roost admin: import imap %s (%s): %s\n", j.login, j.where, oneLine(err.Error()))
			failed = append(failed, j.login)
		}
	}
	var why []string
	if len(failed) > 0 {
		why = append(why, fmt.Sprintf("%d of %d users failed: %s (run the same command again to resume)", len(failed), len(jobs), strings.Join(failed, ", ")))
	}
	if len(bad) > 0 {
		why = append(why, fmt.Sprintf("%s of %s skipped: %s", plural(len(bad), "row"), in.str["csv"], strings.Join(badAt, ", ")))
	}
	if len(why) > 0 {
		return fmt.Errorf("%s: %s", cmd.name(), strings.Join(why, "; "))
	}
	return nil
}

// maxCSVUsers bounds the rows of an import CSV.
const maxCSVUsers = 100000

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
