package main

import (
	"context"
	"fmt"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/migrate"
)

// dbFlags names the database a command works on. Its flags are declared
// here once; `conversations` has them for all its subcommands, `migrate
// apply` and `status` each.
type dbFlags struct {
	url   string
	devDB bool
	// migrations: the command works on the migration history, so without
	// --url it takes HWLAB_MIGRATE_DATABASE_URL first, as serve's
	// migrations do: the URL that goes to PostgreSQL directly when
	// HWLAB_DATABASE_URL goes through a transaction pooler, which would
	// break the migration lock (a session advisory lock) unnoticed.
	migrations bool
}

func (d *dbFlags) register(fs *pflag.FlagSet) {
	def := "$HWLAB_DATABASE_URL"
	if d.migrations {
		def = "$HWLAB_MIGRATE_DATABASE_URL, else $HWLAB_DATABASE_URL; direct to PostgreSQL, not through a transaction pooler"
	}
	fs.StringVar(&d.url, "url", "", "database URL (default "+def+"; prefer the environment or a passfile: command lines are visible to other users)")
	fs.BoolVar(&d.devDB, "dev-db", false, "use the database of the dev cluster that make run serves (.dev/pg), instead of $HWLAB_DATABASE_URL; it is started if it is not running and stopped after unless another process uses it (not the same as --dev-url, an empty scratch database)")
}

// dsn is the URL the flags name: where it enters, so its password is
// recorded for masking here, once. done releases what it took (the dev
// cluster's lease); call it when the database is no longer used.
func (d *dbFlags) dsn(ctx context.Context, e env) (u string, done func(), err error) {
	if d.devDB {
		if d.url != "" {
			return "", nil, usagef("--dev-db and --url name two databases: pass one")
		}
		// Progress stays quiet; what goes wrong is said on stderr.
		log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: e.secrets.ReplaceAttr}))
		dev, err := startDevDB(ctx, log, e.secrets)
		if err != nil {
			return "", nil, err
		}
		return dev.url, func() { dev.close(log) }, nil
	}
	u = d.url
	if u == "" && d.migrations {
		u = e.getenv("HWLAB_MIGRATE_DATABASE_URL")
	}
	if u == "" {
		u = e.getenv("HWLAB_DATABASE_URL")
	}
	if u == "" {
		return "", nil, usagef("no database URL: set HWLAB_DATABASE_URL, pass --url, or --dev-db for the make run dev cluster")
	}
	e.secrets.Add(u)
	return u, func() {}, nil
}

// open opens the flags' database; close closes it and releases the dev
// cluster.
func (d *dbFlags) open(ctx context.Context, e env) (s *store.Store, close func(), err error) {
	dsn, done, err := d.dsn(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	if s, err = openStore(ctx, dsn); err != nil {
		done()
		return nil, nil, err
	}
	return s, func() { s.Close(); done() }, nil
}

// run makes a command's RunE that works on the flags' database: fn gets
// it open, and it is closed after.
func (d *dbFlags) run(e env, fn func(ctx context.Context, s *store.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		s, close, err := d.open(c.Context(), e)
		if err != nil {
			return err
		}
		defer close()
		return fn(c.Context(), s, args)
	}
}

// openStore is the one way the commands open a database: a store with a
// small pool, pinged. Its errors never carry the password; migrations use
// its pool (DB).
func openStore(ctx context.Context, dsn string) (*store.Store, error) {
	return store.NewStore(ctx, dsn, store.WithPool(2, 2, 0, 0))
}

// openTarget opens the migration directory of --dir and the database of
// the flags, for the commands that work on both; close as open's.
func openTarget(ctx context.Context, e env, d *dbFlags, dirPath string) (*store.Store, migrate.Dir, func(), error) {
	dir, err := openDir(dirPath)
	if err != nil {
		return nil, nil, nil, err
	}
	s, close, err := d.open(ctx, e)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, dir, close, nil
}

// devFlags is --dev-url: an empty scratch database for what replays the
// migration directory (diff, check, the --baseline check).
type devFlags struct {
	url string
}

func (d *devFlags) register(fs *pflag.FlagSet, purpose string) {
	fs.StringVar(&d.url, "dev-url", "", "empty scratch database "+purpose+" (default: a throwaway cluster; not the make run dev cluster, which is --dev-db)")
}

// with runs fn on --dev-url, or on a throwaway cluster's empty database.
func (d *devFlags) with(ctx context.Context, e env, fn func(dsn string) error) error {
	if d.url != "" {
		e.secrets.Add(d.url)
		return fn(d.url)
	}
	fmt.Fprintln(e.stderr, "starting a throwaway PostgreSQL cluster for the dev database…")
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	e.secrets.AddPassword(c.Password())
	return fn(c.URL("postgres"))
}

// defaultMigrationsDir is where `make migration` writes, relative to the
// module root that the Makefile runs in.
const defaultMigrationsDir = "migrate/migrations"

// dirFlag is --dir. Commands that change a directory default to the
// checkout's; those that read one default to the directory built into the
// binary ("").
func dirFlag(fs *pflag.FlagSet, p *string, def string) {
	help := "migration directory"
	if def == "" {
		help += " (default: the one built in)"
	}
	fs.StringVar(p, "dir", def, help)
}

// openDir opens --dir, or returns nil for the directory built into the binary.
func openDir(path string) (migrate.Dir, error) {
	if path == "" {
		return nil, nil
	}
	return migrate.OpenDir(path)
}
