package main

import (
	"fmt"
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
			yesno(n.Draining), joinOr(n.Leases, ",", "-")})
	}
	printTable(a.stdout, []string{"Name", "Address", "Roles", "Version", "Last heartbeat", "Draining", "Leases"}, rows)
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
