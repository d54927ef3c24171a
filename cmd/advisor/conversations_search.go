package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

func newConversationsSearchCmd(e env, db *dbFlags) *cobra.Command {
	var o pageOptions
	c := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search every message and title, best match first",
		Long: `Search every message and title, best match first (then newest).

QUERY: words must all occur, in any order, accents and case ignored, English
word forms folded (scrubbing finds scrub); "a phrase" in quotes; word* for a
prefix; -word to exclude. Paths, hosts, versions and ids match as typed and
by their parts: nvme0n1 finds /dev/nvme0n1, 2024 finds CVE-2024-3094.

Each hit is one line (conversation, time, role or "title", the conversation's
title) and its snippet below, the matched words in [brackets]. A title hit
has no message.

` + visibleHelp,
		Args: exactlyOne("QUERY"),
		PreRunE: func(*cobra.Command, []string) error {
			if o.limit < 1 || o.limit > store.MaxPageSize {
				return usagef("--limit must be 1..%d, got %d", store.MaxPageSize, o.limit)
			}
			return nil
		},
		RunE: db.run(e, func(ctx context.Context, s *store.Store, args []string) error {
			return conversationsSearch(ctx, e, s, args[0], o)
		}),
	}
	c.Flags().IntVar(&o.limit, "limit", 20, fmt.Sprintf("hits per page (1..%d)", store.MaxPageSize))
	c.Flags().StringVar(&o.cursor, "cursor", "", "continue after a previous page (its next cursor)")
	c.Flags().BoolVar(&o.json, "json", false, "print JSON (the API's answer)")
	return c
}

func conversationsSearch(ctx context.Context, e env, s *store.Store, query string, o pageOptions) error {
	page, err := s.Search(ctx, query, o.cursor, o.limit)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(e, wire.FromSearchPage(page))
	}
	if len(page.Hits) == 0 {
		fmt.Fprintln(e.stdout, "No hits")
		return nil
	}
	for i, h := range page.Hits {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		role := h.Role
		if h.MessageID == "" {
			role = "title"
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.ConversationID, h.CreatedAt.Format(time.RFC3339), role, visibleLine(h.ConversationTitle))
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "    %s\n", bracketed(h))
	}
	if page.NextCursor != "" {
		fmt.Fprintf(e.stdout, "\nmore: advisor conversations search --limit %d --cursor %s %s\n", o.limit, page.NextCursor, shellQuote(query))
	}
	return nil
}

// bracketed is a hit's snippet on one line with its highlights in brackets.
func bracketed(h store.SearchHit) string {
	r := []rune(h.Snippet)
	var b strings.Builder
	at := 0
	for _, m := range h.Highlights {
		b.WriteString(visibleLine(string(r[at:m.Start])) + "[" + visibleLine(string(r[m.Start:m.End])) + "]")
		at = m.End
	}
	b.WriteString(visibleLine(string(r[at:])))
	return b.String()
}

// shellQuote quotes s for a POSIX shell, for the "more:" line to paste.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
