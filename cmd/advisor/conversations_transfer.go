package main

import (
	"github.com/spf13/cobra"
)

// The commands export and import; their work is in transfer.go.

const progressHelp = "always show a progress bar on stderr"

func newConversationsExportCmd(e env, db *dbFlags) *cobra.Command {
	var (
		out      string
		progress bool
	)
	c := &cobra.Command{
		Use:   "export",
		Short: "Write every conversation as JSON Lines (default: stdout)",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return conversationsExport(c.Context(), e, db, out, progress)
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write (default: stdout)")
	c.Flags().BoolVar(&progress, "progress", false, progressHelp)
	return c
}

func newConversationsImportCmd(e env, db *dbFlags) *cobra.Command {
	var progress bool
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Add the conversations of a JSON Lines file; idempotent by id",
		Args:  exactlyOne("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			return conversationsImport(c.Context(), e, db, args[0], progress)
		},
	}
	c.Flags().BoolVar(&progress, "progress", false, progressHelp)
	return c
}
