package store

import (
	"context"
	"database/sql"

	"git.georgsen.dk/hwlab/migrate"
)

// RunMigrations applies the embedded Atlas migration directory to db. It is
// idempotent and safe to run concurrently (the Atlas CLI's advisory lock);
// revisions go to atlas_schema_revisions.atlas_schema_revisions, where the
// Atlas CLI looks by default.
func RunMigrations(ctx context.Context, db *sql.DB) error {
	_, err := migrate.Apply(ctx, db, migrate.Options{})
	return err
}
