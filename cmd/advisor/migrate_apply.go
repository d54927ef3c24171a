package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/migrate"
)

type applyOptions struct {
	db          dbFlags
	dev         devFlags
	baseline    string
	dryRun      bool
	dir         string
	lockTimeout time.Duration
}

func newMigrateApplyCmd(e env) *cobra.Command {
	o := applyOptions{db: dbFlags{migrations: true}}
	c := &cobra.Command{
		Use:   "apply",
		Short: "Apply pending migrations",
		Args:  noArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return migrateApply(c.Context(), e, o) },
	}
	fs := c.Flags()
	o.db.register(fs)
	o.dev.register(fs, "for the --baseline check")
	fs.StringVar(&o.baseline, "baseline", "", "version a non-empty database without history is at")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the SQL that would run; change nothing")
	dirFlag(fs, &o.dir, "")
	fs.DurationVar(&o.lockTimeout, "lock-timeout", time.Minute, "how long to wait for another migrator")
	return c
}

func migrateApply(ctx context.Context, e env, o applyOptions) error {
	s, dir, closeDB, err := openTarget(ctx, e, &o.db, o.dir)
	if err != nil {
		return err
	}
	defer closeDB()
	db := s.DB()
	opts := migrate.Options{
		Dir:         dir,
		Baseline:    o.baseline,
		LockTimeout: o.lockTimeout,
		Logf:        func(f string, a ...any) { fmt.Fprintf(e.stderr, f+"\n", a...) },
	}
	if o.baseline != "" {
		// Under the migration lock, so that no concurrent apply changes
		// the schema between the check and the baseline row.
		opts.BeforeApply = func(ctx context.Context) error {
			return checkBaseline(ctx, e, db, dir, o.baseline, &o.dev)
		}
	}
	if o.dryRun {
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
func checkBaseline(ctx context.Context, e env, db *sql.DB, dir migrate.Dir, version string, dev *devFlags) error {
	st, err := migrate.Status(ctx, db, dir)
	if err != nil {
		return err
	}
	if len(st.Applied) > 0 {
		fmt.Fprintf(e.stderr, "the database has a migration history (at %s); --baseline %s is ignored\n", st.Current, version)
		return nil
	}
	fmt.Fprintf(e.stderr, "checking that the live schema equals version %s…\n", version)
	return dev.with(ctx, e, func(devURL string) error {
		devStore, err := openStore(ctx, devURL)
		if err != nil {
			return fmt.Errorf("dev database: %w", err)
		}
		defer devStore.Close()
		err = migrate.CheckBaseline(ctx, db, devStore.DB(), dir, version)
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
