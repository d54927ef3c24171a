// Command advisor serves the lab advisor, operates its database migrations
// and inspects stored conversations.
//
// The command tree is cobra's (cli.go maps its defaults to ours: exit 2 for
// every usage mistake, `help` under each group). Each command lives in its
// own file; the flags naming a database are declared once (database.go).
//
// Secrets: every database URL is recorded in one secret.Set where it
// enters (the environment, the arguments, --url, --dev-url, a cluster's
// generated password). Masking happens at the edges only: the final error
// (run), stderr (a secret.Writer) and the log (ReplaceAttr). Code in
// between wraps errors with %w, so their sentinels still match.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"git.georgsen.dk/hwlab/internal/secret"
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
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "advisor:", err)
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// env is how commands read the environment; tests pass their own.
//
// stdout is the raw standard output: data (export, show, ls), help and the
// fixed messages commands compose themselves go there unaltered, since a
// mask applied to data would edit it (a password "a" would turn
// "started_at" into "stxxxxxrted_xxxxxt"). Nothing printed there holds a
// database URL; a line that quotes text from elsewhere (a failed
// migration's error in status) masks that text itself. stderr (messages,
// logs, the progress bar) is masked as a whole, and so is the final error:
// that is where URLs and driver errors end up.
type env struct {
	getenv    func(string) string
	stdout    io.Writer   // raw: data and composed messages
	stderr    io.Writer   // masked with secrets
	secrets   *secret.Set // every password seen
	rawStderr io.Writer   // the unmasked stderr, only to ask whether it is a terminal
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	sec := newSecrets(getenv, args)
	e := env{getenv: getenv, stdout: stdout, stderr: sec.Writer(stderr), secrets: sec, rawStderr: stderr}
	return sec.Error(execute(ctx, newRootCmd(e, runServe), args))
}

// secretEnv lists the variables that may hold a database URL with a password.
var secretEnv = []string{"HWLAB_DATABASE_URL", "HWLAB_MIGRATE_DATABASE_URL"}

// newSecrets collects the secrets a run starts with: the database URLs of
// the environment (secretEnv) and the arguments that look like one.
func newSecrets(getenv func(string) string, args []string) *secret.Set {
	s := &secret.Set{}
	for _, k := range secretEnv {
		s.Add(getenv(k))
	}
	s.AddArgs(args)
	return s
}

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
