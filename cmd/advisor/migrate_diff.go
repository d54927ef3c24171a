package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/migrate/entdiff"
)

func newMigrateDiffCmd(e env) *cobra.Command {
	var (
		dev devFlags
		dir string
	)
	c := &cobra.Command{
		Use:   "diff NAME",
		Short: "Write the next migration from ent/schema",
		Args:  exactlyOne("NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			return dev.with(c.Context(), e, func(devURL string) error {
				wrote, err := entdiff.Write(c.Context(), devURL, dir, args[0])
				if err != nil {
					return err
				}
				if !wrote {
					fmt.Fprintln(e.stdout, "The migration directory is in sync with ent/schema; no file written")
					return nil
				}
				fmt.Fprintf(e.stdout, "Wrote a new migration in %s and updated atlas.sum\n", dir)
				return nil
			})
		},
	}
	dev.register(c.Flags(), "to replay the directory on")
	dirFlag(c.Flags(), &dir, defaultMigrationsDir)
	return c
}
