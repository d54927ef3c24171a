package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/migrate"
)

func newMigrateHashCmd(e env) *cobra.Command {
	var dirPath string
	c := &cobra.Command{
		Use:   "hash",
		Short: "Rewrite atlas.sum after a hand edit",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			dir, err := migrate.OpenDir(dirPath)
			if err != nil {
				return err
			}
			if err := migrate.Hash(dir); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Rewrote %s/atlas.sum\n", dirPath)
			return nil
		},
	}
	dirFlag(c.Flags(), &dirPath, defaultMigrationsDir)
	return c
}
