package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

// pageOptions are the flags of a command that prints one page of a
// listing (ls, search): --limit, --cursor and --json.
type pageOptions struct {
	limit  int
	cursor string
	json   bool
}

func newConversationsLsCmd(e env, db *dbFlags) *cobra.Command {
	var o pageOptions
	c := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List conversations, newest first, a page at a time",
		Long: `List conversations, newest first, a page at a time. The table has one
line per conversation: newlines and tabs in a title or model are shown as
^J and ^I.

` + visibleHelp,
		Args: noArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if o.limit < 1 || o.limit > store.MaxPageSize {
				return usagef("--limit must be 1..%d, got %d", store.MaxPageSize, o.limit)
			}
			return nil
		},
		RunE: db.run(e, func(ctx context.Context, s *store.Store, _ []string) error {
			return conversationsLs(ctx, e, s, o)
		}),
	}
	c.Flags().IntVar(&o.limit, "limit", 20, fmt.Sprintf("conversations per page (1..%d)", store.MaxPageSize))
	c.Flags().StringVar(&o.cursor, "cursor", "", "continue after a previous page (its next cursor)")
	c.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return c
}

func conversationsLs(ctx context.Context, e env, s *store.Store, o pageOptions) error {
	page, err := s.ListConversationsPage(ctx, o.cursor, o.limit)
	if err != nil {
		return err
	}
	if o.json {
		out := struct {
			Conversations []wire.Summary `json:"conversations"`
			NextCursor    string         `json:"next_cursor,omitempty"`
		}{Conversations: make([]wire.Summary, len(page.Conversations)), NextCursor: page.NextCursor}
		for i, c := range page.Conversations {
			out.Conversations[i] = wire.FromSummary(c)
		}
		return writeJSON(e, out)
	}
	if len(page.Conversations) == 0 {
		fmt.Fprintln(e.stdout, "No conversations")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tMESSAGES\tMODEL\tTITLE")
	for _, c := range page.Conversations {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.ID, c.StartedAt.Format(time.RFC3339), c.MessageCount, visibleLine(c.Model), visibleLine(c.Title))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(e.stdout, "\nmore: advisor conversations ls --limit %d --cursor %s\n", o.limit, page.NextCursor)
	}
	return nil
}
