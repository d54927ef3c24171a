package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConversationsRmCmd(e env, db *dbFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"delete"},
		Short:   "Delete a conversation and its messages",
		Args:    exactlyOne("ID"),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := db.open(c.Context(), e)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.DeleteConversation(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Deleted conversation %s\n", args[0])
			return nil
		},
	}
}
