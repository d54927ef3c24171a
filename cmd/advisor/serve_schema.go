package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"git.georgsen.dk/hwlab/migrate"
)

// errSchemaBehind: serve --no-migrate found pending migrations.
var errSchemaBehind = errors.New("the database schema is behind this binary")

// prepareSchema applies pending migrations through the migration role (the
// advisory lock makes concurrent starts safe: the later ones find nothing
// to do) or, with --no-migrate, only checks and refuses a schema that is
// behind, naming the command that fixes it.
func prepareSchema(ctx context.Context, log *slog.Logger, o serveOptions, dir migrate.Dir) error {
	dsn, role := o.migrateDSN, "HWLAB_MIGRATE_DATABASE_URL"
	if dsn == "" {
		dsn, role = o.dsn, "HWLAB_DATABASE_URL"
	}
	if o.noMigrate {
		dsn, role = o.dsn, "HWLAB_DATABASE_URL"
	}
	s, err := openStore(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect for migrations (%s): %w", role, err)
	}
	defer s.Close()
	db := s.DB()
	if o.noMigrate {
		pending, err := migrate.PendingFiles(ctx, db, dir)
		if err != nil {
			return err
		}
		if len(pending) > 0 {
			return fmt.Errorf("%w: %d migration(s) pending (%s); run `advisor migrate apply` with a role that may change the schema, or start without --no-migrate",
				errSchemaBehind, len(pending), strings.Join(pending, ", "))
		}
		log.Info("schema is current", "check_only", true)
		return nil
	}
	applied, err := migrate.Apply(ctx, db, migrate.Options{
		Dir:  dir,
		Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return fmt.Errorf("migrate (%s): %w", role, err)
	}
	log.Info("schema is current", "applied", len(applied), "via", role)
	return nil
}
