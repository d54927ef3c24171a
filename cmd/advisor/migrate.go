package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/secret"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
	"git.georgsen.dk/hwlab/migrate/entdiff"
)

// defaultMigrationsDir is where `make migration` writes, relative to the
// module root that the Makefile runs in.
const defaultMigrationsDir = "migrate/migrations"

const migrateUsage = `usage: advisor migrate <subcommand>

  apply [--url U] [--baseline VERSION] [--dev-url U] [--dry-run] [--dir D] [--lock-timeout 1m]
                                                   apply pending migrations
  status [--url U] [--dir D]                       show the current version, pending files and failures
  diff NAME [--dev-url U] [--dir D]                write the next migration from ent/schema
  check [--dev-url U] [--dir D]                    fail if ent/schema has changes no migration carries, or atlas.sum is invalid
  hash [--dir D]                                   rewrite atlas.sum after a hand edit

The database URL comes from --url or HWLAB_DATABASE_URL; prefer the
environment (or a passfile) since command lines are visible to other users.
--baseline VERSION first replays the files up to VERSION on a dev database
(--dev-url, or a throwaway cluster) and refuses if the live schema differs.
Without --dev-url, diff and check start a throwaway PostgreSQL cluster.
`

func runMigrate(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("missing migrate subcommand\n\n%s", migrateUsage)
	}
	switch args[0] {
	case "apply":
		return migrateApply(ctx, e, args[1:])
	case "status":
		return migrateStatus(ctx, e, args[1:])
	case "diff":
		return migrateDiff(ctx, e, args[1:])
	case "check":
		return migrateCheck(ctx, e, args[1:])
	case "hash":
		return migrateHash(e, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, migrateUsage)
		return nil
	default:
		return usagef("unknown migrate subcommand %q\n\n%s", args[0], migrateUsage)
	}
}

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNoArgs parses the flags of a command that takes no positional
// arguments; any is a usage error.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("%s takes no arguments, got %q", fs.Name(), pos)
	}
	return nil
}

// openTarget opens the database of --url (or the environment) and the
// migration directory of --dir, for the commands that work on both.
func openTarget(ctx context.Context, e env, url, dirPath string) (*sql.DB, migrate.Dir, error) {
	dsn, err := databaseURL(url, e)
	if err != nil {
		return nil, nil, err
	}
	dir, err := openDir(dirPath)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	return db, dir, nil
}

// openDir opens --dir, or returns nil for the directory built into the binary.
func openDir(path string) (migrate.Dir, error) {
	if path == "" {
		return nil, nil
	}
	return migrate.OpenDir(path)
}

func migrateApply(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate apply")
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	baseline := fs.String("baseline", "", "version a non-empty database without history is at")
	devURL := fs.String("dev-url", "", "empty database for the --baseline check (default: a throwaway cluster)")
	dryRun := fs.Bool("dry-run", false, "print the SQL that would run; change nothing")
	dirPath := fs.String("dir", "", "migration directory (default: the one built in)")
	lockTimeout := fs.Duration("lock-timeout", time.Minute, "how long to wait for another migrator")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	e.secrets.add(*devURL)
	db, dir, err := openTarget(ctx, e, *url, *dirPath)
	if err != nil {
		return err
	}
	defer db.Close()
	opts := migrate.Options{
		Dir:         dir,
		Baseline:    *baseline,
		LockTimeout: *lockTimeout,
		Logf:        func(f string, a ...any) { fmt.Fprintf(e.stderr, f+"\n", a...) },
	}
	if *baseline != "" {
		// Under the migration lock, so that no concurrent apply changes
		// the schema between the check and the baseline row.
		opts.BeforeApply = func(ctx context.Context) error {
			return checkBaseline(ctx, e, db, dir, *baseline, *devURL)
		}
	}
	if *dryRun {
		return printDryRun(ctx, e, db, opts)
	}
	applied, err := migrate.Apply(ctx, db, opts)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "No migration files to execute")
		return nil
	}
	fmt.Fprintf(e.stdout, "Applied %d migration file(s): %s\n", len(applied), strings.Join(applied, ", "))
	return nil
}

// checkBaseline refuses a baseline the live schema does not match. It only
// matters for a database without history: with one, Atlas ignores the
// baseline, and so do we. It runs under the migration lock (BeforeApply);
// db must have a connection to spare besides the lock's.
func checkBaseline(ctx context.Context, e env, db *sql.DB, dir migrate.Dir, version, devURL string) error {
	st, err := migrate.Status(ctx, db, dir)
	if err != nil {
		return err
	}
	if len(st.Applied) > 0 {
		fmt.Fprintf(e.stderr, "the database has a migration history (at %s); --baseline %s is ignored\n", st.Current, version)
		return nil
	}
	fmt.Fprintf(e.stderr, "checking that the live schema equals version %s…\n", version)
	return withDevURL(ctx, e, devURL, func(dev string) error {
		devDB, err := openDB(ctx, dev)
		if err != nil {
			return fmt.Errorf("dev database: %w", err)
		}
		defer devDB.Close()
		err = migrate.CheckBaseline(ctx, db, devDB, dir, version)
		var mm *migrate.BaselineMismatchError
		if errors.As(err, &mm) {
			fmt.Fprintf(e.stdout, "The live schema is not version %s. Differences (what it would take to make it so):\n", version)
			for _, c := range mm.Changes {
				fmt.Fprintf(e.stdout, "  %s;\n", c)
			}
			return fmt.Errorf("refusing --baseline %s: the live schema differs from it (see above); nothing was changed", version)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "the live schema equals version %s\n", version)
		return nil
	})
}

func printDryRun(ctx context.Context, e env, db *sql.DB, opts migrate.Options) error {
	planned, err := migrate.DryRun(ctx, db, opts)
	if err != nil {
		return err
	}
	if len(planned) == 0 {
		fmt.Fprintln(e.stdout, "No migration files to execute")
		return nil
	}
	if opts.Baseline != "" {
		fmt.Fprintf(e.stdout, "-- would record baseline version %s (if the database has no history)\n", opts.Baseline)
	}
	for _, p := range planned {
		fmt.Fprintf(e.stdout, "-- file: %s (%d statements)\n", p.Name, len(p.Stmts))
		for _, s := range p.Stmts {
			fmt.Fprintf(e.stdout, "%s\n", strings.TrimSpace(s))
		}
	}
	fmt.Fprintf(e.stdout, "-- dry run: %d file(s) would be applied; nothing was changed\n", len(planned))
	return nil
}

func migrateStatus(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate status")
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	dirPath := fs.String("dir", "", "migration directory (default: the one built in)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, dir, err := openTarget(ctx, e, *url, *dirPath)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := migrate.Status(ctx, db, dir)
	if err != nil {
		return err
	}
	printStatus(e.stdout, e.secrets.redact, st)
	return nil
}

// printStatus follows the layout of `atlas migrate status`
// (cmd/atlas/internal/cmdlog/cmdlog.go, MigrateStatusTemplate), so that
// operators and scripts see the same words from either tool. A failed
// file's statement and error come from the database and are masked.
func printStatus(w io.Writer, mask func(string) string, st *migrate.StatusReport) {
	status, next, current := "OK", "Already at latest version", st.Current
	if len(st.Pending) > 0 {
		status, next = "PENDING", strings.SplitN(st.Pending[0], "_", 2)[0]
	}
	if current == "" {
		current = "No migration applied yet"
	}
	fmt.Fprintf(w, "Migration Status: %s\n", status)
	fmt.Fprintf(w, "  -- Current Version: %s\n", current)
	fmt.Fprintf(w, "  -- Next Version:    %s\n", next)
	fmt.Fprintf(w, "  -- Executed Files:  %d\n", len(st.Applied))
	fmt.Fprintf(w, "  -- Pending Files:   %d\n", len(st.Pending))
	for _, p := range st.Pending {
		fmt.Fprintf(w, "     pending: %s\n", p)
	}
	for _, f := range st.Failed {
		fmt.Fprintf(w, "\nMigration %s failed after %d of %d statements:\n", f.Version, f.Applied, f.Total)
		fmt.Fprintf(w, "  -- SQL:   %s\n", strings.ReplaceAll(mask(f.ErrorStmt), "\n", " "))
		fmt.Fprintf(w, "  -- ERROR: %s\n", strings.ReplaceAll(mask(f.Error), "\n", " "))
	}
	if st.NotClean != "" {
		fmt.Fprintf(w, "\nThe database holds tables but no migration history (%s).\n"+
			"If the plan's code created it, run: advisor migrate apply --baseline %s\n", st.NotClean, st.BaselineHint)
	}
}

func migrateDiff(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate diff")
	devURL := fs.String("dev-url", "", "empty database to replay the directory on (default: a throwaway cluster)")
	dirPath := fs.String("dir", defaultMigrationsDir, "migration directory")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] == "" {
		return usagef("migrate diff needs exactly one NAME\n\n%s", migrateUsage)
	}
	return withDevURL(ctx, e, *devURL, func(dev string) error {
		wrote, err := entdiff.Write(ctx, dev, *dirPath, pos[0])
		if err != nil {
			return errors.New(secret.Redact(dev, err.Error()))
		}
		if !wrote {
			fmt.Fprintln(e.stdout, "The migration directory is in sync with ent/schema; no file written")
			return nil
		}
		fmt.Fprintf(e.stdout, "Wrote a new migration in %s and updated atlas.sum\n", *dirPath)
		return nil
	})
}

func migrateCheck(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate check")
	devURL := fs.String("dev-url", "", "empty database to replay the directory on (default: a throwaway cluster)")
	dirPath := fs.String("dir", defaultMigrationsDir, "migration directory")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	dir, err := migrate.OpenDir(*dirPath)
	if err != nil {
		return err
	}
	if err := migrate.Validate(dir); err != nil {
		return err
	}
	return withDevURL(ctx, e, *devURL, func(dev string) error {
		if err := entdiff.Check(ctx, dev, *dirPath); err != nil {
			return errors.New(secret.Redact(dev, err.Error()))
		}
		fmt.Fprintln(e.stdout, "atlas.sum is valid and the migrations are in sync with ent/schema")
		return nil
	})
}

func migrateHash(e env, args []string) error {
	fs := newFlags("migrate hash")
	dirPath := fs.String("dir", defaultMigrationsDir, "migration directory")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	dir, err := migrate.OpenDir(*dirPath)
	if err != nil {
		return err
	}
	if err := migrate.Hash(dir); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Rewrote %s/atlas.sum\n", *dirPath)
	return nil
}

// withDevURL runs fn on devURL, or on a throwaway cluster's empty database.
func withDevURL(ctx context.Context, e env, devURL string, fn func(string) error) error {
	e.secrets.add(devURL)
	if devURL != "" {
		return fn(devURL)
	}
	fmt.Fprintln(e.stderr, "starting a throwaway PostgreSQL cluster for the dev database…")
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	e.secrets.add(c.URL("postgres"))
	return fn(c.URL("postgres"))
}

func databaseURL(flagURL string, e env) (string, error) {
	if flagURL != "" {
		e.secrets.add(flagURL)
		return flagURL, nil
	}
	if u := e.getenv("HWLAB_DATABASE_URL"); u != "" {
		e.secrets.add(u)
		return u, nil
	}
	return "", usagef("no database URL: set HWLAB_DATABASE_URL or pass --url")
}

// openDB opens and pings dsn; errors never carry its password.
func openDB(ctx context.Context, dsn string) (*sql.DB, error) {
	s, err := store.NewStore(ctx, dsn, store.WithPool(2, 2, 0, 0))
	if err != nil {
		return nil, err
	}
	return s.DB(), nil
}
