package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/migrate"
	"git.georgsen.dk/hwlab/migrate/entdiff"
)

func newMigrateCheckCmd(e env) *cobra.Command {
	var (
		dev     devFlags
		dirPath string
	)
	c := &cobra.Command{
		Use:   "check",
		Short: "Fail if ent/schema has changes no migration carries, or atlas.sum is invalid",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := migrate.OpenDir(dirPath)
			if err != nil {
				return err
			}
			if err := migrate.Validate(dir); err != nil {
				return err
			}
			return dev.with(c.Context(), e, func(devURL string) error {
				if err := entdiff.Check(c.Context(), devURL, dirPath); err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, "atlas.sum is valid and the migrations are in sync with ent/schema")
				return nil
			})
		},
	}
	dev.register(c.Flags(), "to replay the directory on")
	dirFlag(c.Flags(), &dirPath, defaultMigrationsDir)
	return c
}
