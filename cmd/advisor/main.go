// Command advisor serves the lab advisor, operates its database migrations
// and inspects stored conversations.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errUsage marks a command-line mistake: exit code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "advisor:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "advisor:", err)
		return 1
	}
}

// env is how commands read the environment; tests pass their own.
type env struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	secrets        *secrets // every URL seen; output is masked with it
	rawStderr      io.Writer
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	sec := &secrets{}
	sec.add(getenv("HWLAB_DATABASE_URL"))
	sec.addArgs(args)
	e := env{getenv: getenv, stdout: redactWriter{stdout, sec}, stderr: redactWriter{stderr, sec}, secrets: sec, rawStderr: stderr}
	defer func() { err = sec.redactErr(err) }()
	if len(args) == 0 {
		return usagef("missing command\n\n%s", topUsage)
	}
	switch args[0] {
	case "migrate":
		return runMigrate(ctx, e, args[1:])
	case "conversations":
		return runConversations(ctx, e, args[1:])
	case "serve":
		return runServe(ctx, e, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
		return nil
	default:
		return usagef("unknown command %q\n\n%s", args[0], topUsage)
	}
}

const topUsage = `usage: advisor <command> [arguments]

commands:
  serve [--addr A] [--no-migrate] [--dev-db]   serve the advisor (API and web page)
  migrate apply|status|diff|hash|check   operate the database schema
  conversations ls|show|rm|export|import  inspect, back up and restore stored conversations
`

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
