package main

import (
	"fmt"
	"strconv"
	"time"
)

// queueView is a message of the outbound queue as the admin API sends it.
type queueView struct {
	ID         int64  `json:"id"`
	Tenant     string `json:"tenant"`
	Sender     string `json:"sender"`
	From       string `json:"from"`
	Recipients []struct {
		Addr  string `json:"addr"`
		State string `json:"state"`
		Error string `json:"error"`
	} `json:"recipients"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Expires     time.Time `json:"expires"`
}

func queueIDArg(cmd *adminCmd, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, usagef("%s: queue id %q is not a number (see roost admin queue list)", cmd.name(), v)
	}
	return n, nil
}

func envelopeFrom(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

func queueList(a *admin, _ *adminCmd, _ *input) error {
	var ms []queueView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/queue", nil, &ms)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, m := range ms {
		pending := 0
		for _, r := range m.Recipients {
			if r.State == "pending" {
				pending++
			}
		}
		rows = append(rows, []string{fmt.Sprint(m.ID), envelopeFrom(m.From), fmt.Sprintf("%d/%d", pending, len(m.Recipients)),
			fmt.Sprint(m.Size), fmt.Sprint(m.Attempts), shortTime(m.NextAttempt), clip(m.LastError, 60)})
	}
	printTable(a.stdout, []string{"Id", "From", "Pending", "Size", "Attempts", "Next attempt", "Last error"}, rows)
	return nil
}

// clip is oneLine cut to n bytes.
func clip(s string, n int) string {
	s = oneLine(s)
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

func queueShow(a *admin, cmd *adminCmd, in *input) error {
	id, err := queueIDArg(cmd, in.pos[0])
	if err != nil {
		return err
	}
	var m queueView
	data, err := a.c.callInto(a.ctx, "GET", fmt.Sprintf("/v1/queue/%d", id), nil, &m)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var d details
	d.add("Id", "%d", m.ID)
	if m.Tenant != "" {
		d.add("Tenant", "%s", m.Tenant)
	}
	if m.Sender != "" {
		d.add("Sender", "%s", m.Sender)
	} else {
		d.add("Sender", "(system)")
	}
	d.add("Envelope from", "%s", envelopeFrom(m.From))
	d.add("Size", "%d bytes", m.Size)
	d.add("Queued", "%s", shortTime(m.Created))
	d.add("Attempts", "%d", m.Attempts)
	d.add("Next attempt", "%s", shortTime(m.NextAttempt))
	d.add("Expires", "%s", shortTime(m.Expires))
	if m.LastError != "" {
		d.add("Last error", "%s", clip(m.LastError, 200))
	}
	d.write(a.stdout)
	var rows [][]string
	for _, r := range m.Recipients {
		rows = append(rows, []string{r.Addr, r.State, clip(r.Error, 100)})
	}
	fmt.Fprintln(a.stdout)
	printTable(a.stdout, []string{"Recipient", "State", "Reply"}, rows)
	return nil
}

func queueRetry(a *admin, cmd *adminCmd, in *input) error {
	id, err := queueIDArg(cmd, in.pos[0])
	if err != nil {
		return err
	}
	data, err := a.c.call(a.ctx, "POST", fmt.Sprintf("/v1/queue/%d/retry", id), nil)
	if err != nil {
		return err
	}
	a.say(data, "message %d will be tried again now", id)
	return nil
}

func queueDelete(a *admin, cmd *adminCmd, in *input) error {
	id, err := queueIDArg(cmd, in.pos[0])
	if err != nil {
		return err
	}
	data, err := a.c.call(a.ctx, "DELETE", fmt.Sprintf("/v1/queue/%d", id), nil)
	if err != nil {
		return err
	}
	a.say(data, "deleted message %d from the queue (no bounce is sent)", id)
	return nil
}
