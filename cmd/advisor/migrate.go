package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
	"git.georgsen.dk/hwlab/migrate/entdiff"
)

// defaultMigrationsDir is where `make migration` writes, relative to the
// module root that the Makefile runs in.
const defaultMigrationsDir = "migrate/migrations"

const migrateUsage = `usage: advisor migrate <subcommand>

  apply [--url U] [--baseline VERSION] [--dir D]   apply pending migrations
  diff NAME [--dev-url U] [--dir D]                write the next migration from ent/schema
  check [--dev-url U] [--dir D]                    fail if ent/schema has changes no migration carries, or atlas.sum is invalid
  hash [--dir D]                                   rewrite atlas.sum after a hand edit

The database URL comes from --url or HWLAB_DATABASE_URL; prefer the
environment (or a passfile) since command lines are visible to other users.
Without --dev-url, diff and check start a throwaway PostgreSQL cluster.
`

func runMigrate(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("missing migrate subcommand\n\n%s", migrateUsage)
	}
	switch args[0] {
	case "apply":
		return migrateApply(ctx, e, args[1:])
	case "diff":
		return migrateDiff(ctx, e, args[1:])
	case "check":
		return migrateCheck(ctx, e, args[1:])
	case "hash":
		return migrateHash(e, args[1:])
	default:
		return usagef("unknown migrate subcommand %q\n\n%s", args[0], migrateUsage)
	}
}

func newFlags(name string, e env) *flag.FlagSet {
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

func migrateApply(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate apply", e)
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	baseline := fs.String("baseline", "", "version a non-empty database without history is at")
	dirPath := fs.String("dir", "", "migration directory (default: the one built in)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("migrate apply takes no arguments, got %q", pos)
	}
	dsn, err := databaseURL(*url, e)
	if err != nil {
		return err
	}
	var dir migrate.Dir
	if *dirPath != "" {
		if dir, err = migrate.OpenDir(*dirPath); err != nil {
			return err
		}
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrate.Apply(ctx, db, migrate.Options{
		Dir:      dir,
		Baseline: *baseline,
		Logf:     func(f string, a ...any) { fmt.Fprintf(e.stderr, f+"\n", a...) },
	})
	if err != nil {
		return errors.New(store.Redact(dsn, err.Error()))
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "No migration files to execute")
		return nil
	}
	fmt.Fprintf(e.stdout, "Applied %d migration file(s): %s\n", len(applied), strings.Join(applied, ", "))
	return nil
}

func migrateDiff(ctx context.Context, e env, args []string) error {
	fs := newFlags("migrate diff", e)
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
			return errors.New(store.Redact(dev, err.Error()))
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
	fs := newFlags("migrate check", e)
	devURL := fs.String("dev-url", "", "empty database to replay the directory on (default: a throwaway cluster)")
	dirPath := fs.String("dir", defaultMigrationsDir, "migration directory")
	if _, err := parse(fs, args); err != nil {
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
			return errors.New(store.Redact(dev, err.Error()))
		}
		fmt.Fprintln(e.stdout, "atlas.sum is valid and the migrations are in sync with ent/schema")
		return nil
	})
}

func migrateHash(e env, args []string) error {
	fs := newFlags("migrate hash", e)
	dirPath := fs.String("dir", defaultMigrationsDir, "migration directory")
	if _, err := parse(fs, args); err != nil {
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
	if devURL != "" {
		return fn(devURL)
	}
	fmt.Fprintln(e.stderr, "starting a throwaway PostgreSQL cluster for the dev database…")
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c.URL("postgres"))
}

func databaseURL(flagURL string, e env) (string, error) {
	if flagURL != "" {
		return flagURL, nil
	}
	if u := e.getenv("HWLAB_DATABASE_URL"); u != "" {
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
