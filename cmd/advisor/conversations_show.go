package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

func newConversationsShowCmd(e env, db *dbFlags) *cobra.Command {
	var asJSON, tree bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Print a conversation's thread in order",
		Long: `Print a conversation's thread in order: a header, then each message.
A conversation is a tree (an edit or a regenerate adds a version beside the
old one); show prints its active path, the thread the page shows and the
model is sent, and marks each message that has other versions with its
place among them, "[version 2/3]". --tree prints every message of every
branch instead: depth-first, each version after its predecessors, a branch
indented one step under the message it branches from, and "*" on the
messages of the active path.
Content keeps its newlines and tabs; the title and model are one line each,
their newlines and tabs shown as ^J and ^I.

` + visibleHelp,
		Args: exactlyOne("ID"),
		RunE: db.run(e, func(ctx context.Context, s *store.Store, args []string) error {
			if tree {
				conv, err := s.GetConversationTree(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(e, wire.FromTree(conv))
				}
				printTree(e.stdout, conv)
				return nil
			}
			conv, err := s.GetConversation(ctx, args[0])
			if err != nil {
				return err
			}
			// The path does not tell how many messages the branches off it
			// hold; the summary's maintained count does.
			sum, err := s.GetConversationSummary(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(e, wire.FromPath(conv, sum.MessageCount))
			}
			printThread(e.stdout, conv, sum.MessageCount)
			return nil
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (the API's form; with --tree, the export format)")
	c.Flags().BoolVar(&tree, "tree", false, "print every message of every branch, not only the active path")
	return c
}

// printThread prints a conversation's active path for a reader: a header,
// then each message with its time, role and id, and its version where it
// has siblings. Stored text (title, model, content) goes through
// visible.go's rendering; ids, roles and times are the store's own and
// cannot hold a control character.
func printThread(w io.Writer, c *store.Conversation, count int) {
	printHead(w, c, count)
	for i, m := range c.Messages {
		version := ""
		if n := len(m.Siblings); n > 1 {
			version = fmt.Sprintf(" [version %d/%d]", slices.Index(m.Siblings, m.ID)+1, n)
		}
		fmt.Fprintf(w, "\n%s%s\n%s\n", messageLine(i+1, m), version, visibleText(m.Content))
	}
}

// printHead is the header of show and show --tree.
func printHead(w io.Writer, c *store.Conversation, count int) {
	fmt.Fprintf(w, "conversation %s\ntitle:    %s\nmodel:    %s\nstarted:  %s\n",
		c.ID, visibleLine(c.Title), visibleLine(c.Model), c.StartedAt.Format(time.RFC3339Nano))
	if count == len(c.Messages) {
		fmt.Fprintf(w, "messages: %d\n", count)
	} else {
		fmt.Fprintf(w, "messages: %d (%d on the active path)\n", count, len(c.Messages))
	}
}

// messageLine is a message's heading: its number, time, role, id and how
// a reply ended.
func messageLine(n int, m store.Message) string {
	return fmt.Sprintf("[%d] %s %s (%s)%s", n, m.CreatedAt.Format(time.RFC3339Nano), m.Role, m.ID, replyLine(m))
}

// printTree prints every message of c (store.GetConversationTree: append
// order, parents set) depth-first from the roots, each message's children
// in append order. A chain stays at one indentation, however long; the
// children of a message with more than one each start a step deeper, so
// the indentation counts branch points, not messages. The number of a
// message is its place in append order, as in an export. "*" marks the
// active path.
func printTree(w io.Writer, c *store.Conversation) {
	printHead(w, c, len(c.Messages))
	if c.ActiveID != "" {
		fmt.Fprintf(w, "active:   %s\n", c.ActiveID)
	}
	children := map[string][]int{} // parent id ("" for the roots) → indexes, append order
	index := map[string]int{}
	for i, m := range c.Messages {
		children[m.ParentID] = append(children[m.ParentID], i)
		index[m.ID] = i
	}
	active := map[string]bool{}
	for id := c.ActiveID; id != ""; {
		i, ok := index[id]
		if !ok || active[id] {
			break
		}
		active[id] = true
		id = c.Messages[i].ParentID
	}
	type item struct{ i, depth int }
	push := func(stack []item, parent string, depth int) []item {
		kids := children[parent]
		if len(kids) > 1 {
			depth++
		}
		for k := len(kids) - 1; k >= 0; k-- { // popped in append order
			stack = append(stack, item{kids[k], depth})
		}
		return stack
	}
	stack := push(nil, "", 0)
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m := c.Messages[it.i]
		indent := strings.Repeat("  ", it.depth)
		mark := "  "
		if active[m.ID] {
			mark = "* "
		}
		body := indent + "    " + strings.ReplaceAll(visibleText(m.Content), "\n", "\n"+indent+"    ")
		fmt.Fprintf(w, "\n%s%s%s\n%s\n", indent, mark, messageLine(it.i+1, m), body)
		stack = push(stack, m.ID, it.depth)
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
