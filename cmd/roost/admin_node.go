package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"
)

// nodeView is a cluster node as the admin API sends it.
type nodeView struct {
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Roles     []string  `json:"roles"`
	Version   string    `json:"version"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"last_heartbeat"`
	// HeartbeatAge is in the database's clock, not this machine's.
	HeartbeatAge float64  `json:"heartbeat_age_seconds"`
	Draining     bool     `json:"draining"`
	Leases       []string `json:"leases"`
	PublicURL    string   `json:"public_url"`
	ProxyURL     string   `json:"proxy_url"`
}

func nodeList(a *admin, _ *adminCmd, _ *input) error {
	var ns []nodeView
	data, err := a.c.callInto(a.ctx, "GET", "/v1/nodes", nil, &ns)
	if err != nil {
		return err
	}
	if a.json {
		a.printRaw(data)
		return nil
	}
	var rows [][]string
	for _, n := range ns {
		rows = append(rows, []string{n.Name, n.Address, strings.Join(n.Roles, ","), n.Version,
			shortTime(n.Heartbeat) + fmt.Sprintf(" (%s ago)", time.Duration(n.HeartbeatAge*float64(time.Second)).Round(time.Second)),
			yesno(n.Draining), joinOr(n.Leases, ",", "-"), cmp.Or(n.PublicURL, "-"), cmp.Or(n.ProxyURL, "-")})
	}
	printTable(a.stdout, []string{"Name", "Address", "Roles", "Version", "Last heartbeat", "Draining", "Leases", "Public URL", "Proxy URL"}, rows)
	return nil
}

func nodeDrain(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "POST", "/v1/nodes/"+pathSeg(in.pos[0])+"/drain", nil)
	if err != nil {
		return err
	}
	a.say(data, "node %s drains: it takes no new sessions and ends open ones after drain_grace", in.pos[0])
	return nil
}

func nodeUndrain(a *admin, _ *adminCmd, in *input) error {
	data, err := a.c.call(a.ctx, "POST", "/v1/nodes/"+pathSeg(in.pos[0])+"/undrain", nil)
	if err != nil {
		return err
	}
	a.say(data, "node %s accepts sessions again", in.pos[0])
	return nil
}

// moveView is the reply of POST /v1/users/{login}/move.
type moveView struct {
	Login    string  `json:"login"`
	From     string  `json:"from"`
	To       string  `json:"to"`
	StoreID  int64   `json:"store_id"`
	Messages int64   `json:"messages"`
	Seconds  float64 `json:"seconds"`
}

// storeMove runs `roost admin store move LOGIN --to NODE`: the switch is
// one transaction in the server; a terminal shows what is under way
// until it answers.
func storeMove(a *admin, cmd *adminCmd, in *input) error {
	to := in.str["to"]
	if to == "" {
		return usagef("%s: name the node with --to NODE (usage: roost admin %s)", cmd.name(), cmd.syntax)
	}
	bar := &moveBar{w: a.stderr, on: !a.json && isTerminal(a.stderr), start: time.Now(), what: fmt.Sprintf("moving %s to %s", in.pos[0], to)}
	stop := bar.run()
	var m moveView
	data, err := a.c.callInto(a.ctx, "POST", "/v1/users/"+pathSeg(in.pos[0])+"/move", map[string]string{"to": to}, &m)
	stop()
	if err != nil {
		return err
	}
	from := m.From
	if from == "" {
		from = "no home node"
	}
	a.say(data, "moved %s (store %d, %d messages) from %s to %s in %.3fs; nothing was copied, and the user's sessions on %s end and reconnect to %s",
		m.Login, m.StoreID, m.Messages, from, m.To, m.Seconds, from, m.To)
	return nil
}

// moveBar redraws one terminal line with the elapsed time while a move
// runs; elsewhere it draws nothing.
type moveBar struct {
	w     io.Writer
	on    bool
	start time.Time
	what  string
}

func (b *moveBar) run() (stop func()) {
	if !b.on {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			fmt.Fprintf(b.w, "\r\x1b[K%s … %.1fs", b.what, time.Since(b.start).Seconds())
			select {
			case <-done:
				fmt.Fprint(b.w, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
