// Command roost is the whole Roost groupware server in one binary:
//
//	roost serve     run the server (embedded SQLite and files by default)
//	roost admin     administer tenants, users, groups, domains and stores
//	roost deliver   deliver a message from standard input (pipe delivery)
//	roost backup    brick-level backup of stores (and backup verify)
//	roost restore   restore a store, a folder tree or a date range
//	roost stats     system, sessions, users and tenants; --top live view
//	roost version   print the version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Roost: mail, calendars and contacts in one server.

Usage:
  roost serve [--data DIR] [--config FILE]    run the server
  roost admin [--data DIR | --config FILE] OBJECT VERB ...
                                              administer the server ("roost admin help")
  roost deliver [--data DIR | --config FILE] ADDRESS < message
                                              deliver one message to a local user; exit
                                              status 67 unknown user, 75 try again later
  roost backup [--data DIR | --config FILE] --to DIR [LOGIN... | --tenant NAME]
                                              back up stores (incremental when DIR holds a backup)
  roost backup verify DIR                     check a backup; exit status 1 on any damage
  roost restore [--data DIR | --config FILE] --from DIR LOGIN [--folder NAME]
                [--since DATE] [--until DATE] [--into FOLDER]
                                              restore a store, a folder tree or a date range
  roost stats [--data DIR | --config FILE] [--json] [--top]
                                              system, sessions, users, tenants; --top: live view
  roost bench imap [--profile mix|churn|login] [flags]
                                              load-test an IMAP server; churn: imaptest's session
                                              loop (see roost bench imap -h)
  roost bench idle [flags]                    hold many IDLE connections (memory per connection)
  roost bench lmtp [flags]                    load-test an LMTP server (see roost bench lmtp -h)
  roost bench caldav [flags]                  time CalDAV queries and sync (see roost bench caldav -h)
  roost bench search [flags]                  time IMAP SEARCH TEXT/BODY on a generated corpus
                                              (see roost bench search -h)
  roost bench cpu [flags]                     print the CPU time a server's processes used so far
                                              (see roost bench cpu -h)
  roost version                               print the version

With no configuration file, roost serve keeps everything in ./roost-data and
listens on 127.0.0.1 only. See docs/configuration.md for every key.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], stdin, stdout, stderr)
	case "deliver":
		return runDeliver(ctx, args[1:], stdin, stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], stdout, stderr)
	case "stats":
		return runStats(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "roost %s\n", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "roost: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
