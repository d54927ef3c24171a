package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// ErrBaselineMismatch is wrapped by the *BaselineMismatchError CheckBaseline
// returns when the live schema is not the one the baseline version defines.
var ErrBaselineMismatch = errors.New("migrate: the live schema differs from the baseline version")

// BaselineMismatchError lists what would have to change for the live schema
// to equal Version, as SQL statements (the difference, not a fix to run
// blindly: data may be why the schema differs).
type BaselineMismatchError struct {
	Version string
	Changes []string
}

func (e *BaselineMismatchError) Error() string {
	return fmt.Sprintf("%v %s; to equal it, the live schema would need:\n  %s",
		ErrBaselineMismatch, e.Version, strings.Join(e.Changes, ";\n  ")+";")
}

func (e *BaselineMismatchError) Unwrap() error { return ErrBaselineMismatch }

// comparedSchema is the schema the migrations manage; the revisions schema
// and others are left out of the comparison.
const comparedSchema = "public"

// CheckBaseline verifies that the public schema of live equals what the
// directory's files up to and including version produce, before a baseline
// at version is recorded. It replays those files on dev, an empty database
// it leaves empty again, and compares the two inspected schemas. A
// difference is a *BaselineMismatchError.
func CheckBaseline(ctx context.Context, live, dev *sql.DB, dir Dir, version string) error {
	dir, err := validDir(dir)
	if err != nil {
		return err
	}
	if err := hasVersion(dir, version); err != nil {
		return err
	}
	devDrv, err := postgres.Open(dev)
	if err != nil {
		return fmt.Errorf("migrate: dev database: %w", err)
	}
	ex, err := atlasmigrate.NewExecutor(devDrv, dir, atlasmigrate.NopRevisionReadWriter{})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	only := &schema.InspectRealmOption{Schemas: []string{comparedSchema}}
	want, err := ex.Replay(ctx, atlasmigrate.RealmConn(devDrv, only), atlasmigrate.ReplayToVersion(version))
	if err != nil {
		return fmt.Errorf("migrate: replay up to %s on the dev database: %w", version, err)
	}
	liveDrv, err := postgres.Open(live)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	got, err := liveDrv.InspectRealm(ctx, only)
	if err != nil {
		return fmt.Errorf("migrate: inspect the live schema: %w", err)
	}
	from, to := publicOf(got), publicOf(want)
	changes, err := liveDrv.SchemaDiff(from, to)
	if err != nil {
		return fmt.Errorf("migrate: compare schemas: %w", err)
	}
	if len(changes) == 0 {
		return nil
	}
	plan, err := liveDrv.PlanChanges(ctx, "baseline_check", changes)
	if err != nil {
		return fmt.Errorf("migrate: describe the difference: %w", err)
	}
	mm := &BaselineMismatchError{Version: version}
	for _, c := range plan.Changes {
		mm.Changes = append(mm.Changes, c.Cmd)
	}
	return mm
}

func publicOf(r *schema.Realm) *schema.Schema {
	if s, ok := r.Schema(comparedSchema); ok {
		return s
	}
	return schema.New(comparedSchema)
}

func hasVersion(dir Dir, version string) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	var versions []string
	for _, f := range files {
		if f.Version() == version {
			return nil
		}
		versions = append(versions, f.Version())
	}
	return fmt.Errorf("migrate: version %q is not in the migration directory (versions: %s)", version, strings.Join(versions, ", "))
}
