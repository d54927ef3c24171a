package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

func newConversationsShowCmd(e env, db *dbFlags) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Print a conversation's thread in order",
		Long: `Print a conversation's thread in order: a header, then each message.
Content keeps its newlines and tabs; the title and model are one line each,
their newlines and tabs shown as ^J and ^I.

` + visibleHelp,
		Args: exactlyOne("ID"),
		RunE: db.run(e, func(ctx context.Context, s *store.Store, args []string) error {
			conv, err := s.GetConversation(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e, wire.FromConversation(conv))
			}
			printThread(e.stdout, conv)
			return nil
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the export format)")
	return c
}

// printThread prints a conversation for a reader: a header, then each
// message with its time, role and id. Stored text (title, model, content)
// goes through visible.go's rendering; ids, roles and times are the
// store's own and cannot hold a control character.
func printThread(w io.Writer, c *store.Conversation) {
	fmt.Fprintf(w, "conversation %s\ntitle:    %s\nmodel:    %s\nstarted:  %s\nmessages: %d\n",
		c.ID, visibleLine(c.Title), visibleLine(c.Model), c.StartedAt.Format(time.RFC3339Nano), len(c.Messages))
	for i, m := range c.Messages {
		fmt.Fprintf(w, "\n[%d] %s %s (%s)%s\n%s\n", i+1, m.CreatedAt.Format(time.RFC3339Nano), m.Role, m.ID, replyLine(m), visibleText(m.Content))
	}
}

// replyLine is a reply's status and metadata after its heading, for the
// replies that have any: " [stopped] model llama3, 12 -> 340 tokens, first
// token 210 ms, 4200 ms".
func replyLine(m store.Message) string {
	var parts []string
	if m.Model != "" {
		parts = append(parts, "model "+visibleText(m.Model))
	}
	if m.FinishReason != "" {
		parts = append(parts, "finish "+visibleText(m.FinishReason))
	}
	if m.PromptTokens != nil || m.CompletionTokens != nil {
		parts = append(parts, fmt.Sprintf("%s -> %s tokens", countText(m.PromptTokens), countText(m.CompletionTokens)))
	}
	if m.FirstTokenMS != nil {
		parts = append(parts, fmt.Sprintf("first token %d ms", *m.FirstTokenMS))
	}
	if m.DurationMS != nil {
		parts = append(parts, fmt.Sprintf("%d ms", *m.DurationMS))
	}
	out := ""
	if m.Status != "" && m.Status != store.StatusComplete {
		out = " [" + m.Status + "]"
	}
	if len(parts) > 0 {
		out += " " + strings.Join(parts, ", ")
	}
	return out
}

func countText(n *int) string {
	if n == nil {
		return "?"
	}
	return strconv.Itoa(*n)
}
