package migrate

import (
	"context"
	"database/sql"
	"fmt"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
)

// PlannedFile is a pending migration file and the statements Apply would
// run for it, in order.
type PlannedFile struct {
	Name  string
	Stmts []string
}

// DryRun reports what Apply would do with the same Options, without changing
// the database: it creates no revisions table, records no baseline and runs
// no statement. Refusals (ErrNotClean, ErrChecksumMismatch) are the same as
// Apply's. It takes the CLI's lock so that it does not report files another
// migrator is applying at that moment.
func DryRun(ctx context.Context, db *sql.DB, opts Options) ([]PlannedFile, error) {
	_, unlock, pending, err := lockedPending(ctx, db, opts, true)
	if err != nil || len(pending) == 0 {
		return nil, err
	}
	defer unlock()
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	planned := make([]PlannedFile, 0, len(pending))
	for _, f := range pending {
		// The executor's own statement scanner, so the split is the one
		// Apply would execute.
		stmts, err := atlasmigrate.FileStmtDecls(drv, f)
		if err != nil {
			return nil, &FileError{File: f.Name(), Err: err}
		}
		p := PlannedFile{Name: f.Name(), Stmts: make([]string, len(stmts))}
		for i, s := range stmts {
			p.Stmts[i] = s.Text
		}
		planned = append(planned, p)
	}
	return planned, nil
}

// readOnlyRevisions reads the real history (none if the table does not
// exist yet) and drops every write, so that the executor's Pending, which
// records a baseline revision as a side effect, leaves the database
// untouched. It does not create the table.
func readOnlyRevisions(ctx context.Context, db *sql.DB) (atlasmigrate.RevisionReadWriter, error) {
	exists, err := revisionsTableExists(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrate: read revisions: %w", err)
	}
	return dryRevisions{&revisions{db}, exists}, nil
}

// dryRevisions is readOnlyRevisions' reader.
type dryRevisions struct {
	atlasmigrate.RevisionReadWriter
	tableExists bool
}

func (d dryRevisions) ReadRevisions(ctx context.Context) ([]*atlasmigrate.Revision, error) {
	if !d.tableExists {
		return nil, nil
	}
	return d.RevisionReadWriter.ReadRevisions(ctx)
}

func (d dryRevisions) ReadRevision(ctx context.Context, v string) (*atlasmigrate.Revision, error) {
	if !d.tableExists {
		return nil, atlasmigrate.ErrRevisionNotExist
	}
	return d.RevisionReadWriter.ReadRevision(ctx, v)
}

func (dryRevisions) WriteRevision(context.Context, *atlasmigrate.Revision) error { return nil }

func (dryRevisions) DeleteRevision(context.Context, string) error { return nil }
