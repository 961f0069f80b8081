package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestUsageListsBench: `roost help` names every `roost bench` subcommand
// that `roost bench` itself lists, and the imap churn profile.
func TestUsageListsBench(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"bench"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("roost bench without a subcommand: exit %d", code)
	}
	m := regexp.MustCompile(`usage: roost bench ([a-z|]+) `).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("roost bench usage: %q", errOut.String())
	}
	out.Reset()
	errOut.Reset()
	run(context.Background(), []string{"help"}, strings.NewReader(""), &out, &errOut)
	help := out.String() + errOut.String()
	for _, sub := range strings.Split(m[1], "|") {
		if !strings.Contains(help, "roost bench "+sub+" ") {
			t.Errorf("roost help does not list roost bench %s", sub)
		}
	}
	if !strings.Contains(help, "churn") {
		t.Error("roost help does not name the churn profile of roost bench imap")
	}
}
