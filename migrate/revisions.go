package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// RevisionsSchema is the schema that holds the revisions table, the Atlas
// CLI's default (and what our atlas.hcl pins as revisions_schema).
const RevisionsSchema = "atlas_schema_revisions"

// revisionsTable is the table's name inside RevisionsSchema.
const revisionsTable = "atlas_schema_revisions"

// cloudIdentifier is a row the CLI keeps in the same table to identify it; it
// is not a revision, and every read skips it as the CLI does.
const cloudIdentifier = ".atlas_cloud_identifier"

// revisionsDDL creates the revisions table exactly as the Atlas CLI's ent
// schema does (cmd/atlas/internal/migrate/ent/schema/revision.go). The CLI
// re-syncs the table on every run, so any difference would be "fixed" by it.
var revisionsDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS "` + RevisionsSchema + `"`,
	`CREATE TABLE IF NOT EXISTS "` + RevisionsSchema + `"."` + revisionsTable + `" (` +
		`"version" character varying NOT NULL, ` +
		`"description" character varying NOT NULL, ` +
		`"type" bigint NOT NULL DEFAULT 2, ` +
		`"applied" bigint NOT NULL DEFAULT 0, ` +
		`"total" bigint NOT NULL DEFAULT 0, ` +
		`"executed_at" timestamptz NOT NULL, ` +
		`"execution_time" bigint NOT NULL, ` +
		`"error" text NULL, ` +
		`"error_stmt" text NULL, ` +
		`"hash" character varying NOT NULL, ` +
		`"partial_hashes" jsonb NULL, ` +
		`"operator_version" character varying NOT NULL, ` +
		`PRIMARY KEY ("version"))`,
}

const qualifiedRevisions = `"` + RevisionsSchema + `"."` + revisionsTable + `"`

const revisionColumns = `version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version`

// revisions implements atlasmigrate.RevisionReadWriter over a connection or
// a transaction; bound to a transaction, a file's revision row commits or
// rolls back with the file's statements.
type revisions struct {
	db schema.ExecQuerier
}

var _ atlasmigrate.RevisionReadWriter = (*revisions)(nil)

func ensureRevisionsTable(ctx context.Context, db schema.ExecQuerier) error {
	for _, stmt := range revisionsDDL {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: create revisions table: %w", err)
		}
	}
	return nil
}

// revisionsTableExists reports whether the table is there, without creating it.
func revisionsTableExists(ctx context.Context, db schema.ExecQuerier) (bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualifiedRevisions)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var ok bool
	if rows.Next() {
		if err := rows.Scan(&ok); err != nil {
			return false, err
		}
	}
	return ok, rows.Err()
}

func (r *revisions) Ident() *atlasmigrate.TableIdent {
	return &atlasmigrate.TableIdent{Name: revisionsTable, Schema: RevisionsSchema}
}

func (r *revisions) ReadRevisions(ctx context.Context) ([]*atlasmigrate.Revision, error) {
	rows, err := r.db.QueryContext(ctx,
		`SELECT `+revisionColumns+` FROM `+qualifiedRevisions+` WHERE version <> $1 ORDER BY version`, cloudIdentifier)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []*atlasmigrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	return revs, rows.Err()
}

func (r *revisions) ReadRevision(ctx context.Context, version string) (*atlasmigrate.Revision, error) {
	if version == cloudIdentifier {
		return nil, errors.New("migrate: cannot read the revision-table identifier as a revision")
	}
	rows, err := r.db.QueryContext(ctx,
		`SELECT `+revisionColumns+` FROM `+qualifiedRevisions+` WHERE version = $1`, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, atlasmigrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

// WriteRevision upserts rev the way the CLI's ent code does
// (cmd/atlas/internal/migrate/ent/convert.go, SetRevision, then
// OnConflict(version).UpdateNewValues()): every field is set, so an empty
// error is the empty string rather than NULL and nil partial hashes are the JSON null; the
// immutable columns (description, executed_at) keep their first value.
func (r *revisions) WriteRevision(ctx context.Context, rev *atlasmigrate.Revision) error {
	if rev.Version == cloudIdentifier {
		return errors.New("migrate: writing the revision-table identifier is not allowed")
	}
	partial, err := json.Marshal(rev.PartialHashes)
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO `+qualifiedRevisions+` (`+revisionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (version) DO UPDATE SET
  type = EXCLUDED.type, applied = EXCLUDED.applied, total = EXCLUDED.total,
  execution_time = EXCLUDED.execution_time, error = EXCLUDED.error, error_stmt = EXCLUDED.error_stmt,
  hash = EXCLUDED.hash, partial_hashes = EXCLUDED.partial_hashes, operator_version = EXCLUDED.operator_version`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total,
		rev.ExecutedAt, int64(rev.ExecutionTime), rev.Error, rev.ErrorStmt,
		rev.Hash, string(partial), rev.OperatorVersion)
	return err
}

func (r *revisions) DeleteRevision(ctx context.Context, version string) error {
	if version == cloudIdentifier {
		return errors.New("migrate: deleting the revision-table identifier is not allowed")
	}
	_, err := r.db.ExecContext(ctx, `DELETE FROM `+qualifiedRevisions+` WHERE version = $1`, version)
	return err
}

func scanRevision(rows *sql.Rows) (*atlasmigrate.Revision, error) {
	var (
		rev                        atlasmigrate.Revision
		typ, execTime              int64
		errText, errStmt, partials sql.NullString
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total,
		&rev.ExecutedAt, &execTime, &errText, &errStmt, &rev.Hash, &partials, &rev.OperatorVersion); err != nil {
		return nil, err
	}
	rev.Type = atlasmigrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.Error, rev.ErrorStmt = errText.String, errStmt.String
	if partials.Valid && partials.String != "null" {
		if err := json.Unmarshal([]byte(partials.String), &rev.PartialHashes); err != nil {
			return nil, fmt.Errorf("migrate: revision %s: partial_hashes: %w", rev.Version, err)
		}
	}
	return &rev, nil
}
