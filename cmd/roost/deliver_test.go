package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// `roost deliver -h` prints the help of roost deliver, not that of roost
// admin deliver (issue 19).
func TestDeliverHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"deliver", "-h"}, {"deliver", "--help"}, {"deliver", "alice@acme.test", "--help"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		if code != 0 || errb.Len() != 0 || !strings.HasPrefix(out.String(), "Usage: roost deliver ") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
		for _, want := range []string{"--from SENDER", "67  no local user", "75  try again later"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("%v: help lacks %q:\n%s", args, want, out.String())
			}
		}
		if strings.Contains(out.String(), "roost admin [") {
			t.Fatalf("%v: prints roost admin's usage:\n%s", args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"deliver"}, strings.NewReader(""), &out, &errb); code != 2 || !strings.HasPrefix(errb.String(), "Usage: roost deliver ") {
		t.Fatalf("no address: exit %d, stderr %q", code, errb.String())
	}
}
