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
//
// stdout is the raw standard output: data (export, show, ls) and the fixed
// messages commands compose themselves go there unaltered, since a mask
// applied to data would edit it (a password "a" would turn "started_at"
// into "stxxxxxrted_xxxxxt"). Nothing printed there holds a database URL;
// a line that quotes text from elsewhere (a failed migration's error in
// status) masks that text itself with secrets.redact. stderr (messages,
// logs, the progress bar) is masked as a whole, and so is the final error:
// that is where URLs and driver errors end up.
type env struct {
	getenv    func(string) string
	stdout    io.Writer // raw: data and composed messages
	stderr    io.Writer // masked with secrets
	secrets   *secrets  // every URL seen
	rawStderr io.Writer // the unmasked stderr, only to ask whether it is a terminal
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	sec := newSecrets(getenv, args)
	e := env{getenv: getenv, stdout: stdout, stderr: redactWriter{stderr, sec}, secrets: sec, rawStderr: stderr}
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

// secretEnv lists the variables that may hold a database URL with a password.
var secretEnv = []string{"HWLAB_DATABASE_URL", "HWLAB_MIGRATE_DATABASE_URL"}

const topUsage = `usage: advisor <command> [arguments]

commands:
  serve [--addr A] [--no-migrate] [--dev-db]   serve the advisor (API and web page)
  migrate apply|status|diff|hash|check   operate the database schema
  conversations ls|show|rm|export|import  inspect, back up and restore stored conversations
`

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
