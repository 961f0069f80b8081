package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

type oofView struct {
	Enabled bool       `json:"enabled"`
	Subject string     `json:"subject"`
	Message string     `json:"message"`
	From    *time.Time `json:"from"`
	Until   *time.Time `json:"until"`
}

// parseWhen reads a --from/--until value: a date (YYYY-MM-DD, local
// midnight), a date and time (YYYY-MM-DDTHH:MM, local), RFC 3339, or ""
// to clear.
func parseWhen(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--%s %q: want YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339", flag, v)
}

// userOOF is `roost admin user oof LOGIN`, like kopano-set-oof: with
// --on/--off and the texts it changes the setting, without it shows it.
func userOOF(a *admin, _ *adminCmd, in *input) error {
	login := in.pos[0]
	path := "/v1/users/" + pathSeg(login) + "/oof"
	if in.bools["on"] && in.bools["off"] {
		return usagef("user oof: --on and --off exclude each other")
	}
	body := map[string]any{}
	if in.has("on") || in.has("off") {
		body["enabled"] = in.bools["on"]
	}
	if v, ok := in.str["subject"]; ok {
		body["subject"] = v
	}
	if f, ok := in.str["message-file"]; ok {
		var b []byte
		var err error
		if f == "-" {
			if a.stdin == nil {
				return usagef("user oof: --message-file -: no standard input")
			}
			b, err = io.ReadAll(io.LimitReader(a.stdin, 1<<20))
		} else {
			b, err = os.ReadFile(f)
		}
		if err != nil {
			return fmt.Errorf("user oof: %w", err)
		}
		body["message"] = string(b)
	}
	for _, k := range []string{"from", "until"} {
		if v, ok := in.str[k]; ok {
			t, err := parseWhen(k, v)
			if err != nil {
				return err
			}
			body[k] = t
		}
	}
	var o oofView
	var data []byte
	var err error
	if len(body) == 0 {
		data, err = a.c.callInto(a.ctx, "GET", path, nil, &o)
	} else {
		data, err = a.c.callInto(a.ctx, "PATCH", path, body, &o)
	}
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var d details
	d.add("Out of office", "%s", map[bool]string{true: "on", false: "off"}[o.Enabled])
	d.add("Subject", "%s", o.Subject)
	if o.From != nil {
		d.add("From", "%s", o.From.Local().Format("2006-01-02 15:04"))
	}
	if o.Until != nil {
		d.add("Until", "%s", o.Until.Local().Format("2006-01-02 15:04"))
	}
	d.write(a.stdout)
	if o.Message != "" {
		fmt.Fprintf(a.stdout, "\n%s", o.Message)
		if o.Message[len(o.Message)-1] != '\n' {
			fmt.Fprintln(a.stdout)
		}
	}
	return nil
}
