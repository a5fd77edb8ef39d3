// Command orgauth is the multi-tenant sign-in service.
//
//	orgauth serve     start the service (migrates the database first)
//	orgauth migrate   bring the database schema up to date and exit
//	orgauth version   print the version
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "orgauth:", err)
		}
		os.Exit(1)
	}
}

// errUsage is returned after the usage text was printed.
var errUsage = errors.New("usage")

const usage = `orgauth: multi-tenant sign-in service

Usage:
  orgauth serve [flags]     start the service (migrates the database first)
  orgauth migrate [flags]   bring the database schema up to date and exit
  orgauth version           print the version

Run "orgauth serve -h" for the flags; each has an ORGAUTH_* environment variable.
`

// run is the whole program: main only wires it to the process. Tests call it too,
// cancelling ctx to stop the service.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[1] {
	case "serve":
		cfg, err := parseConfig("orgauth serve", args[2:], getenv, stderr)
		if err != nil {
			return helpIsNoError(err)
		}
		return serve(ctx, cfg, stdout, stderr)
	case "migrate":
		cfg, err := parseConfig("orgauth migrate", args[2:], getenv, stderr)
		if err != nil {
			return helpIsNoError(err)
		}
		return migrate(ctx, cfg, stdout)
	case "version":
		fmt.Fprintln(stdout, "orgauth", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "orgauth: unknown command %q\n\n%s", args[1], usage)
	return errUsage
}

// helpIsNoError turns the flag package's answer to -h (usage already printed)
// into success.
func helpIsNoError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
