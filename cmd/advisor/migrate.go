package main

import (
	"github.com/spf13/cobra"
)

func newMigrateCmd(e env) *cobra.Command {
	return newGroup(&cobra.Command{
		Use:   "migrate",
		Short: "Operate the database schema: apply, status, diff, check, hash",
		Long: `Operate the database schema.

The database URL comes from --url or HWLAB_DATABASE_URL; prefer the
environment (or a passfile) since command lines are visible to other users.
--baseline VERSION first replays the files up to VERSION on a dev database
(--dev-url, or a throwaway cluster) and refuses if the live schema differs.
Without --dev-url, diff and check start a throwaway PostgreSQL cluster.`,
	}, newMigrateApplyCmd(e), newMigrateStatusCmd(e), newMigrateDiffCmd(e), newMigrateCheckCmd(e), newMigrateHashCmd(e))
}
