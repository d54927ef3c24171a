package migrate

import (
	"context"
	"database/sql"
	"fmt"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// PendingFiles returns the names of the directory's files that the
// database has not applied, oldest first, without changing anything: no
// lock, no revisions table created, no baseline written. A file counts as
// applied when its revision row is complete or resolved, or when it is at or
// before a baseline. A database without a revisions table has every file
// pending. For a service that must not migrate (advisor serve --no-migrate)
// to refuse a schema that is behind.
func PendingFiles(ctx context.Context, db *sql.DB, dir Dir) ([]string, error) {
	if err := Validate(dir); err != nil {
		return nil, err
	}
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	exists, err := revisionsTableExists(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	done := map[string]bool{}
	baseline := ""
	if exists {
		revs, err := (&revisions{db}).ReadRevisions(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: read revisions: %w", err)
		}
		for _, r := range revs {
			switch {
			case r.Type.Has(atlasmigrate.RevisionTypeBaseline):
				baseline = max(baseline, r.Version)
			case r.Type.Has(atlasmigrate.RevisionTypeResolved), r.Applied == r.Total && r.Error == "":
				done[r.Version] = true
			}
		}
	}
	var pending []string
	for _, f := range files {
		if !done[f.Version()] && f.Version() > baseline {
			pending = append(pending, f.Name())
		}
	}
	return pending, nil
}
