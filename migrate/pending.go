package migrate

import (
	"context"
	"database/sql"
	"errors"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// pending is the one computation of the files a database still needs: the
// Atlas executor's, over the history rrw reads, so that Status,
// PendingFiles, DryRun and Apply agree with each other and with `atlas
// migrate apply`. Nothing pending is (nil, nil). A database with tables but
// no history is an error wrapping *atlasmigrate.NotCleanError, unless
// opts.Baseline is set: then the executor writes the baseline row through
// rrw (dropped by readOnlyRevisions).
func pending(ctx context.Context, drv atlasmigrate.Driver, dir Dir, rrw atlasmigrate.RevisionReadWriter, opts Options) ([]atlasmigrate.File, error) {
	ex, err := atlasmigrate.NewExecutor(drv, dir, rrw, opts.executorOptions()...)
	if err != nil {
		return nil, err
	}
	files, err := ex.Pending(ctx)
	if errors.Is(err, atlasmigrate.ErrNoPendingFiles) {
		return nil, nil
	}
	return files, err
}

// PendingFiles returns the names of the files Status reports as pending,
// oldest first, without changing anything: no lock, no revisions table
// created, no baseline written. A database without a revisions table has
// every file pending. For a service that must not migrate (advisor serve
// --no-migrate) to refuse a schema that is behind.
func PendingFiles(ctx context.Context, db *sql.DB, dir Dir) ([]string, error) {
	st, err := Status(ctx, db, dir)
	if err != nil {
		return nil, err
	}
	return st.Pending, nil
}
