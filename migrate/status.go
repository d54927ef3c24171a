package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// Revision is one row of the revisions table, as the Atlas CLI reads it.
type Revision = atlasmigrate.Revision

// StatusReport is where a database stands against a migration directory,
// computed the way `atlas migrate status` computes it
// (cmd/atlas/internal/migrate/report.go).
type StatusReport struct {
	// Current is the latest version in the history; "" when there is none.
	Current string
	// Applied is the history, oldest first, without the CLI's identifier row.
	Applied []*Revision
	// Pending lists the files not (fully) applied yet, in order.
	Pending []string
	// Failed lists revisions the CLI left partially applied with an error;
	// Apply never leaves one (a failed file rolls back, row included), but a
	// `-- atlas:txmode none` file or an interrupted CLI run can.
	Failed []*Revision
	// NotClean is set when the database holds tables but no history: Apply
	// refuses it unless given --baseline BaselineHint.
	NotClean     string
	BaselineHint string
}

// UpToDate reports whether nothing is pending.
func (r *StatusReport) UpToDate() bool { return len(r.Pending) == 0 && r.NotClean == "" }

// Status reports the database's migration state against dir (nil means
// EmbeddedDir). It only reads: it neither creates the revisions table nor
// takes the lock. The error wraps ErrChecksumMismatch when dir does not match
// its atlas.sum.
func Status(ctx context.Context, db *sql.DB, dir Dir) (*StatusReport, error) {
	dir, err := validDir(dir)
	if err != nil {
		return nil, err
	}
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	rrw, err := readOnlyRevisions(ctx, db)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{}
	if rep.Applied, err = rrw.ReadRevisions(ctx); err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	if n := len(rep.Applied); n > 0 {
		rep.Current = rep.Applied[n-1].Version
	}
	for _, r := range rep.Applied {
		if !r.Type.Has(atlasmigrate.RevisionTypeResolved) && r.Applied < r.Total {
			rep.Failed = append(rep.Failed, r)
		}
	}
	files, err := pending(ctx, drv, dir, rrw, Options{})
	var notClean *atlasmigrate.NotCleanError
	switch {
	case errors.As(err, &notClean):
		rep.NotClean = notClean.Reason
		if files, err = dir.Files(); err != nil {
			return nil, err
		}
		if len(files) > 0 {
			rep.BaselineHint = files[0].Version()
		}
	case err != nil:
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, f := range files {
		rep.Pending = append(rep.Pending, f.Name())
	}
	return rep, nil
}
