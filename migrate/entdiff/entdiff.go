// Package entdiff writes the next versioned migration from ent/schema. It
// replays the committed migration directory on an empty dev database and
// diffs the result against the generated ent schema, so the new file holds
// exactly what the directory lacks.
package entdiff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	atlasschema "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	entmigrate "git.georgsen.dk/hwlab/ent/migrate"
)

// ErrDrift is returned by Check when ent/schema holds changes that no
// migration file carries yet.
var ErrDrift = errors.New("entdiff: migrations are out of sync with ent/schema; run `make migration name=...`")

// Write diffs ent/schema against the migration directory at dirPath,
// replayed on the empty database devURL, and writes the difference as a new
// migration named name, re-hashing atlas.sum. Registered hand-written
// objects (Register) are left out of the difference. It reports whether a file was
// written: no file means the directory is already in sync.
func Write(ctx context.Context, devURL, dirPath, name string) (bool, error) {
	return write(ctx, devURL, dirPath, name, Registered())
}

func write(ctx context.Context, devURL, dirPath, name string, objs []Object) (bool, error) {
	err := diff(ctx, devURL, dirPath, name, false, objs)
	if errors.Is(err, atlasmigrate.ErrNoPlan) {
		return false, nil
	}
	return err == nil, err
}

// Check returns ErrDrift when ent/schema and the migration directory differ,
// or when a registered hand-written object (Register) is missing after the
// replay. It writes nothing.
func Check(ctx context.Context, devURL, dirPath string) error {
	return check(ctx, devURL, dirPath, Registered())
}

func check(ctx context.Context, devURL, dirPath string, objs []Object) error {
	err := diff(ctx, devURL, dirPath, "drift_check", true, objs)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPlan):
		return checkGlobals(ctx, devURL, dirPath, objs)
	case err == nil:
		return ErrDrift
	default:
		return err
	}
}

// checkGlobals is the part of Check that ent's diff cannot do: the
// registered database-wide objects (extensions, functions, text search
// configurations) exist after a replay.
func checkGlobals(ctx context.Context, devURL, dirPath string, objs []Object) error {
	dir, err := atlasmigrate.NewLocalDir(dirPath)
	if err != nil {
		return fmt.Errorf("entdiff: open %s: %w", dirPath, err)
	}
	db, err := sql.Open("pgx", devURL)
	if err != nil {
		return fmt.Errorf("entdiff: open dev database: %w", err)
	}
	defer db.Close()
	missing, err := newHandWritten(objs).missingGlobals(ctx, db, dir)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return missingError(missing)
	}
	return nil
}

// diffMu serialises diffs: ent's NamedDiff prepares the generated, package-
// level table definitions (ent/migrate.Tables) in place, so two diffs at
// once race on them.
var diffMu sync.Mutex

func diff(ctx context.Context, devURL, dirPath, name string, check bool, objs []Object) error {
	diffMu.Lock()
	defer diffMu.Unlock()
	dir, err := atlasmigrate.NewLocalDir(dirPath)
	if err != nil {
		return fmt.Errorf("entdiff: open %s: %w", dirPath, err)
	}
	var target atlasmigrate.Dir = dir
	if check {
		// A check must never write, even when it finds a difference.
		target = &readOnlyDir{dir}
	}
	db, err := sql.Open("pgx", devURL)
	if err != nil {
		return fmt.Errorf("entdiff: open dev database: %w", err)
	}
	defer db.Close()
	// migrate.NamedDiff would open the URL with lib/pq's driver name; going
	// through a Schema over our own pgx *sql.DB keeps us on one driver.
	hw := newHandWritten(objs)
	if check {
		// Functions and extensions are looked up in the catalogs after the
		// replay; one that is there already proves nothing.
		if err := hw.notBefore(ctx, db); err != nil {
			return err
		}
	}
	s := entmigrate.NewSchema(entsql.OpenDB(dialect.Postgres, db))
	return s.NamedDiff(ctx, name,
		schema.WithDiffHook(func(next schema.Differ) schema.Differ {
			return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
				if check {
					missing, err := hw.missingTables(current)
					if err != nil {
						return nil, err
					}
					if len(missing) > 0 {
						return nil, missingError(missing)
					}
				}
				changes, err := next.Diff(current, desired)
				if err != nil {
					return nil, err
				}
				return hw.Filter(changes), nil
			})
		}),
		schema.WithDir(target),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		// Without it ent writes golang-migrate up/down pairs into a local dir.
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		// Without it a changed CHECK expression goes unnoticed.
		schema.WithDiffOptions(atlasschema.DiffNormalized()),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithErrNoPlan(true),
	)
}

// readOnlyDir turns every write into an error so a drift check cannot
// modify the committed directory.
type readOnlyDir struct{ *atlasmigrate.LocalDir }

func (readOnlyDir) WriteFile(string, []byte) error { return ErrDrift }
