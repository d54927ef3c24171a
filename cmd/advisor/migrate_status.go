package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/migrate"
)

func newMigrateStatusCmd(e env) *cobra.Command {
	var (
		db  = dbFlags{migrations: true}
		dir string
	)
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the current version, pending files and failures",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, d, closeDB, err := openTarget(c.Context(), e, &db, dir)
			if err != nil {
				return err
			}
			defer closeDB()
			st, err := migrate.Status(c.Context(), s.DB(), d)
			if err != nil {
				return err
			}
			printStatus(e.stdout, e.secrets.String, st)
			return nil
		},
	}
	db.register(c.Flags())
	dirFlag(c.Flags(), &dir, "")
	return c
}

// printStatus follows the layout of `atlas migrate status`
// (cmd/atlas/internal/cmdlog/cmdlog.go, MigrateStatusTemplate), so that
// operators and scripts see the same words from either tool. A failed
// file's statement and error come from the database and are masked.
func printStatus(w io.Writer, mask func(string) string, st *migrate.StatusReport) {
	status, next, current := "OK", "Already at latest version", st.Current
	if len(st.Pending) > 0 {
		status, next = "PENDING", strings.SplitN(st.Pending[0], "_", 2)[0]
	}
	if current == "" {
		current = "No migration applied yet"
	}
	fmt.Fprintf(w, "Migration Status: %s\n", status)
	fmt.Fprintf(w, "  -- Current Version: %s\n", current)
	fmt.Fprintf(w, "  -- Next Version:    %s\n", next)
	fmt.Fprintf(w, "  -- Executed Files:  %d\n", len(st.Applied))
	fmt.Fprintf(w, "  -- Pending Files:   %d\n", len(st.Pending))
	for _, p := range st.Pending {
		fmt.Fprintf(w, "     pending: %s\n", p)
	}
	for _, f := range st.Failed {
		fmt.Fprintf(w, "\nMigration %s failed after %d of %d statements:\n", f.Version, f.Applied, f.Total)
		fmt.Fprintf(w, "  -- SQL:   %s\n", strings.ReplaceAll(mask(f.ErrorStmt), "\n", " "))
		fmt.Fprintf(w, "  -- ERROR: %s\n", strings.ReplaceAll(mask(f.Error), "\n", " "))
	}
	if st.NotClean != "" {
		fmt.Fprintf(w, "\nThe database holds tables but no migration history (%s).\n"+
			"If they are the original schema (v1), made before migrations, run: advisor migrate apply --baseline %s\n", st.NotClean, st.BaselineHint)
	}
}
