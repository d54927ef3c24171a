package main

import (
	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/wire"
)

func newConversationsCmd(e env) *cobra.Command {
	var db dbFlags
	c := newGroup(&cobra.Command{
		Use:   "conversations",
		Short: "Inspect, search, back up and restore stored conversations: ls, show, search, rm, export, import",
		Long: `Inspect, search, back up and restore stored conversations.

Each subcommand takes --url U (default $HWLAB_DATABASE_URL). A progress bar
goes to stderr for large exports and imports when stderr is a terminal, or
always with --progress.`,
	}, newConversationsLsCmd(e, &db), newConversationsShowCmd(e, &db), newConversationsSearchCmd(e, &db), newConversationsRmCmd(e, &db),
		newConversationsExportCmd(e, &db), newConversationsImportCmd(e, &db))
	db.register(c.PersistentFlags())
	return c
}

func writeJSON(e env, v any) error {
	return wire.WriteIndented(e.stdout, v)
}
