package main

import (
	"context"
	"fmt"
	"io"
)

// deliverUsage is the help of `roost deliver`, the pipe-delivery command
// (a mailer's or procmail's "| roost deliver ADDRESS"): the same command as
// `roost admin deliver`, with the exit statuses a mailer reads.
const deliverUsage = `Usage: roost deliver [--data DIR | --config FILE] [--from SENDER] ADDRESS < message

Delivers one RFC 5322 message from standard input to the local user owning
ADDRESS, through spam checks, Sieve and out-of-office, by way of the running
server's admin socket (the same as "roost admin deliver").

Flags:
  --from SENDER   the envelope sender (else the message's Return-Path field;
                  --from '' is the null sender <>)
  --data DIR      the server's data directory (default ./roost-data); the socket is DIR/admin.sock
  --config FILE   the server's configuration file: its data_dir and admin_socket
  --json          print the delivery result as JSON

Exit status (sysexits, as mailers expect):
  0   delivered (or discarded or redirected by the user's filters)
  65  the message itself is refused (EX_DATAERR)
  67  no local user has ADDRESS (EX_NOUSER)
  75  try again later: server down, over quota, or a server error (EX_TEMPFAIL)
  77  the recipient's filter rejects the message (EX_NOPERM)
  2   a mistake on the command line
`

// runDeliver runs `roost deliver ARGS`.
func runDeliver(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(stdout, deliverUsage)
			return 0
		}
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, deliverUsage)
		return 2
	}
	return runAdmin(ctx, append([]string{"deliver"}, args...), stdin, stdout, stderr)
}
