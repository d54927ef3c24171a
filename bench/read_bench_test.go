//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"

	"git.georgsen.dk/hwlab/bench/benchdata"
	"git.georgsen.dk/hwlab/internal/store"
)

// Read benchmarks run on the loaded data sets and never write.

// BenchmarkGetConversation reads threads of 2, 100 and 10 000 messages out
// of the 1M-message data set. baseline-idx is the baseline's code on the
// original schema plus an index on messages(conversation_id).
func BenchmarkGetConversation(b *testing.B) {
	for _, n := range []int{2, 100, 10_000} {
		for _, im := range []impl{implBaseline, implStore, implBaselineIndexed} {
			b.Run(fmt.Sprintf("msgs=%d/impl=%s", n, im.name), func(b *testing.B) {
				o := open(b, im, readDB(b, im.schema, spec100k))
				id := benchdata.ThreadID(n)
				measure(b, o, func(ctx context.Context) error {
					c, err := o.GetConversation(ctx, id)
					if err == nil && len(c.Messages) != n {
						err = fmt.Errorf("%d messages, want %d", len(c.Messages), n)
					}
					return err
				})
			})
		}
	}
}

// BenchmarkGetConversationBranched reads an active path of 10 000 messages
// that passes 100 branch points (10 100 messages in the conversation), for
// comparison with GetConversation/msgs=10000/impl=store, the chain of
// 10 000 (TestPairedRatios pairs the two).
func BenchmarkGetConversationBranched(b *testing.B) {
	b.Run("path=10000/forks=100/impl=store", func(b *testing.B) {
		o := open(b, implStore, readDB(b, schemaMigrated, spec100k))
		id := benchdata.BranchedThreadID(10_000)
		measure(b, o, func(ctx context.Context) error {
			c, err := o.GetConversation(ctx, id)
			if err == nil && len(c.Messages) != 10_000 {
				err = fmt.Errorf("%d messages, want 10000", len(c.Messages))
			}
			return err
		})
	})
}

// BenchmarkListConversations lists the newest 100 of 10k and of 100k
// conversations with 10 messages each (100k and 1M messages).
func BenchmarkListConversations(b *testing.B) {
	for _, spec := range []benchdata.Spec{spec10k, spec100k} {
		for _, im := range both {
			b.Run(fmt.Sprintf("convs=%s/impl=%s", kilo(spec.Conversations), im.name), func(b *testing.B) {
				o := open(b, im, readDB(b, im.schema, spec))
				measure(b, o, func(ctx context.Context) error {
					cs, err := o.ListConversations(ctx)
					if err == nil && (len(cs) != store.MaxPageSize || cs[0].MessageCount != spec.MessagesPer) {
						err = fmt.Errorf("%d summaries, first %+v", len(cs), cs[0])
					}
					return err
				})
			})
		}
	}
}

// deepPage is where the deep page starts: 90% into the 100k listing.
const deepPage = 900

// BenchmarkListConversationsPage reads the first page and page 900 (rows
// 90 001–90 100) of the 100k listing, 100 per page. The store follows its
// keyset cursor; the baseline, which has no pagination, uses OFFSET on its
// list query, the obvious hand-written way.
func BenchmarkListConversationsPage(b *testing.B) {
	for _, page := range []int{0, deepPage} {
		for _, im := range both {
			b.Run(fmt.Sprintf("page=%d/impl=%s", page, im.name), func(b *testing.B) {
				o := open(b, im, readDB(b, im.schema, spec100k))
				var op func(context.Context) error
				if o.st != nil {
					cur := cursorAt(b, o.st, page)
					op = func(ctx context.Context) error {
						p, err := o.st.ListConversationsPage(ctx, cur, store.MaxPageSize)
						return checkPage(p.Conversations, err, page)
					}
				} else {
					op = func(ctx context.Context) error {
						cs, err := o.base.ListConversationsOffset(ctx, store.MaxPageSize, page*store.MaxPageSize)
						return checkPage(cs, err, page)
					}
				}
				measure(b, o, op)
			})
		}
	}
}

// cursorAt walks the listing to the start of page (0-based), untimed.
func cursorAt(b testing.TB, s *store.Store, page int) string {
	b.Helper()
	cur := ""
	for range page {
		p, err := s.ListConversationsPage(context.Background(), cur, store.MaxPageSize)
		if err != nil {
			b.Fatal(err)
		}
		cur = p.NextCursor
	}
	return cur
}

// checkPage makes sure a page is the one asked for: generated conversation i
// (1-based) is the i-th newest.
func checkPage(cs []store.ConversationSummary, err error, page int) error {
	if err != nil {
		return err
	}
	if len(cs) != store.MaxPageSize || cs[0].ID != benchdata.ConversationID(page*store.MaxPageSize+1) {
		return fmt.Errorf("page %d: %d rows, first %+v", page, len(cs), cs[0])
	}
	return nil
}

func kilo(n int) string { return fmt.Sprintf("%dk", n/1000) }
