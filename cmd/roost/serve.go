package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/roost-mail/roost/internal/app"
	"github.com/roost-mail/roost/internal/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("roost serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	data := fl.String("data", "", "data directory (overrides data_dir; default ./roost-data)")
	cfgPath := fl.String("config", "", "configuration file (TOML); default: built-in defaults")
	fl.Usage = func() {
		fmt.Fprint(stderr, "Usage: roost serve [--data DIR] [--config FILE]\n\nRuns Roost until SIGTERM or Ctrl-C; SIGHUP reloads the configuration.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "roost serve: unexpected argument %q\n", fl.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := app.Run(ctx, app.Options{ConfigPath: *cfgPath, DataDir: *data, Stdout: stdout, Stderr: stderr, Version: version, Reload: reload})
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stderr, "roost serve: %v\n", err)
		return 1
	}
	return 0
}
