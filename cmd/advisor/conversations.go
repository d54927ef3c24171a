package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

const conversationsUsage = `usage: advisor conversations <subcommand>

  ls [--limit N] [--cursor C] [--json]      list conversations, newest first, a page at a time
  show ID [--json]                          print a conversation's thread in order
  rm ID                                     delete a conversation and its messages
  export [--out FILE] [--progress]          write every conversation as JSON Lines (default: stdout)
  import FILE [--progress]                  add the conversations of a JSON Lines file; idempotent by id

Each takes --url U (default $HWLAB_DATABASE_URL). A progress bar goes to
stderr for large exports and imports when stderr is a terminal, or always
with --progress.
`

func runConversations(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("missing conversations subcommand\n\n%s", conversationsUsage)
	}
	switch args[0] {
	case "ls", "list":
		return conversationsLs(ctx, e, args[1:])
	case "show":
		return conversationsShow(ctx, e, args[1:])
	case "rm", "delete":
		return conversationsRm(ctx, e, args[1:])
	case "export":
		return conversationsExport(ctx, e, args[1:])
	case "import":
		return conversationsImport(ctx, e, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, conversationsUsage)
		return nil
	default:
		return usagef("unknown conversations subcommand %q\n\n%s", args[0], conversationsUsage)
	}
}

// openStore connects to --url or $HWLAB_DATABASE_URL.
func openStore(ctx context.Context, e env, flagURL string) (*store.Store, error) {
	dsn, err := databaseURL(flagURL, e)
	if err != nil {
		return nil, err
	}
	return store.NewStore(ctx, dsn, store.WithPool(2, 2, 0, 0))
}

func conversationsLs(ctx context.Context, e env, args []string) error {
	fs := newFlags("conversations ls")
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	limit := fs.Int("limit", 20, fmt.Sprintf("conversations per page (1..%d)", store.MaxPageSize))
	cur := fs.String("cursor", "", "continue after a previous page (its next cursor)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > store.MaxPageSize {
		return usagef("--limit must be 1..%d, got %d", store.MaxPageSize, *limit)
	}
	s, err := openStore(ctx, e, *url)
	if err != nil {
		return err
	}
	defer s.Close()
	page, err := s.ListConversationsPage(ctx, *cur, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
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
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.ID, c.StartedAt.Format(time.RFC3339), c.MessageCount, c.Model, c.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(e.stdout, "\nmore: advisor conversations ls --limit %d --cursor %s\n", *limit, page.NextCursor)
	}
	return nil
}

func conversationsShow(ctx context.Context, e env, args []string) error {
	fs := newFlags("conversations show")
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	asJSON := fs.Bool("json", false, "print JSON (the export format)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("conversations show needs exactly one ID")
	}
	s, err := openStore(ctx, e, *url)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.GetConversation(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, wire.FromConversation(c))
	}
	fmt.Fprintf(e.stdout, "conversation %s\ntitle:    %s\nmodel:    %s\nstarted:  %s\nmessages: %d\n",
		c.ID, c.Title, c.Model, c.StartedAt.Format(time.RFC3339Nano), len(c.Messages))
	for i, m := range c.Messages {
		fmt.Fprintf(e.stdout, "\n[%d] %s %s (%s)\n%s\n", i+1, m.CreatedAt.Format(time.RFC3339Nano), m.Role, m.ID, m.Content)
	}
	return nil
}

func conversationsRm(ctx context.Context, e env, args []string) error {
	fs := newFlags("conversations rm")
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("conversations rm needs exactly one ID")
	}
	s, err := openStore(ctx, e, *url)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.DeleteConversation(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Deleted conversation %s\n", pos[0])
	return nil
}

func writeJSON(e env, v any) error {
	return wire.WriteIndented(e.stdout, v)
}
