package main

import (
	"github.com/spf13/cobra"
)

func newMigrateCmd(e env) *cobra.Command {
	return newGroup(&cobra.Command{
		Use:   "migrate",
		Short: "Operate the database schema: apply, status, diff, check, hash",
		Long: `Operate the database schema.

The database URL comes from --url, else HWLAB_MIGRATE_DATABASE_URL (the
role that owns the schema, as for the migrations at serve start), else
HWLAB_DATABASE_URL. It must reach PostgreSQL directly, not through a
transaction-mode pooler such as PgBouncer: the migration lock is a session
advisory lock. Prefer the environment (or a passfile) since command lines
are visible to other users.
--baseline VERSION first replays the files up to VERSION on a dev database
(--dev-url, or a throwaway cluster) and refuses if the live schema differs.
Without --dev-url, diff and check start a throwaway PostgreSQL cluster.`,
	}, newMigrateApplyCmd(e), newMigrateStatusCmd(e), newMigrateDiffCmd(e), newMigrateCheckCmd(e), newMigrateHashCmd(e))
}
