package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/store"
)

func newConversationsRmCmd(e env, db *dbFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"delete"},
		Short:   "Delete a conversation and its messages",
		Args:    exactlyOne("ID"),
		RunE: db.run(e, func(ctx context.Context, s *store.Store, args []string) error {
			if err := s.DeleteConversation(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Deleted conversation %s\n", args[0])
			return nil
		}),
	}
}
