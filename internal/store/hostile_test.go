//go:build integration

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

// hostileLimit is the content limit of the store TestHostileInput uses.
const hostileLimit = 1024

// hostileCase is one input a client might send. legal says which kind it
// is: illegal input must get the sentinel in want and store nothing; legal
// but nasty input must round-trip byte for byte.
type hostileCase struct {
	name  string
	legal bool
	want  error   // for illegal cases
	call  string  // create | add | get | delete | page
	model string  // create
	id    *string // add, get, delete; nil means the test's own conversation
	role  string  // add; "user" when empty and legal
	text  string  // add: content; page: cursor
	limit int     // page
	ctx   func() (context.Context, context.CancelFunc)
}

func ptr(s string) *string { return &s }

func cancelled() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}

func expired() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
}

var sqlMeta = `'; DROP TABLE messages; -- " \ \\ \' $1 $$ $tag$ %s %d ? :name E'\x00' /* */ ;`

var hostileCases = []hostileCase{
	// ids: malformed, empty, huge, hostile, unknown
	{name: "empty id", want: store.ErrNotFound, call: "add", id: ptr("")},
	{name: "malformed id", want: store.ErrNotFound, call: "get", id: ptr("not-a-uuid")},
	{name: "huge id (1 MiB)", want: store.ErrNotFound, call: "delete", id: ptr(strings.Repeat("f", 1<<20))},
	{name: "SQL in id", want: store.ErrNotFound, call: "delete", id: ptr("00000000-0000-0000-0000-000000000000' OR '1'='1")},
	{name: "id in braces", want: store.ErrNotFound, call: "get", id: ptr("{6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11}")},
	{name: "id without hyphens", want: store.ErrNotFound, call: "add", id: ptr("6f1c1d7e9c554c438a383f3a9e0b6a11")},
	{name: "id with trailing newline", want: store.ErrNotFound, call: "add", id: ptr("6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a1\n")},
	{name: "id with NUL", want: store.ErrNotFound, call: "get", id: ptr("6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a1\x00")},
	{name: "unknown id", want: store.ErrNotFound, call: "add", id: ptr("6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11")},
	// SQL metacharacters in every string
	{name: "SQL metacharacters in content", legal: true, call: "add", text: sqlMeta},
	{name: "SQL metacharacters in model", legal: true, call: "create", model: sqlMeta},
	{name: "SQL metacharacters in role", want: store.ErrInvalidRole, call: "add", role: "user'); DELETE FROM messages; --"},
	{name: "SQL metacharacters in cursor", want: store.ErrInvalidCursor, call: "page", text: sqlMeta, limit: 10},
	// roles in other cases or with padding
	{name: "role capitalised", want: store.ErrInvalidRole, call: "add", role: "User"},
	{name: "role upper case", want: store.ErrInvalidRole, call: "add", role: "ASSISTANT"},
	{name: "role padded", want: store.ErrInvalidRole, call: "add", role: " system "},
	{name: "role with NUL", want: store.ErrInvalidRole, call: "add", role: "user\x00"},
	{name: "role empty", want: store.ErrInvalidRole, call: "add", role: "", text: "x"},
	// NUL bytes and invalid UTF-8
	{name: "NUL in content", want: store.ErrInvalidContent, call: "add", text: "a\x00b"},
	{name: "invalid UTF-8 in content", want: store.ErrInvalidContent, call: "add", text: "caf\xe9"},
	{name: "UTF-16 surrogate in content", want: store.ErrInvalidContent, call: "add", text: "\xed\xa0\x80"},
	{name: "overlong UTF-8 in content", want: store.ErrInvalidContent, call: "add", text: "\xc0\xaf"},
	{name: "NUL in model", want: store.ErrInvalidModel, call: "create", model: "gpt\x00"},
	{name: "invalid UTF-8 in model", want: store.ErrInvalidModel, call: "create", model: "\xff\xfe"},
	{name: "control characters and odd Unicode", legal: true, call: "add", text: "\t\r\n\x01\x1b[31m\x7f\u200b\u202e\ufeff\U0001F9EA e\u0301"},
	{name: "empty content", legal: true, call: "add", text: ""},
	// sizes
	{name: "content 1 byte under the limit", legal: true, call: "add", text: strings.Repeat("é", (hostileLimit-2)/2) + "a"},
	{name: "content at the limit", legal: true, call: "add", text: strings.Repeat("x", hostileLimit)},
	{name: "content 1 byte over the limit", want: store.ErrContentTooLarge, call: "add", text: strings.Repeat("x", hostileLimit+1)},
	{name: "model at the limit", legal: true, call: "create", model: strings.Repeat("m", store.MaxModelBytes)},
	{name: "10 000-character model", want: store.ErrInvalidModel, call: "create", model: strings.Repeat("m", 10000)},
	{name: "page limit 0", want: store.ErrInvalidLimit, call: "page", limit: 0},
	{name: "page limit 101", want: store.ErrInvalidLimit, call: "page", limit: store.MaxPageSize + 1},
	// contexts
	{name: "cancelled context, add", want: context.Canceled, call: "add", text: "x", ctx: cancelled},
	{name: "cancelled context, create", want: context.Canceled, call: "create", model: "m", ctx: cancelled},
	{name: "expired deadline, add", want: context.DeadlineExceeded, call: "add", text: "x", ctx: expired},
	{name: "expired deadline, delete", want: context.DeadlineExceeded, call: "delete", ctx: expired},
}

// TestHostileInput runs every case of hostileCases against one store, in
// order, checking after each that an illegal input changed nothing and a
// legal one added exactly its row, which reads back byte for byte.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	if len(hostileCases) < 20 {
		t.Fatalf("only %d cases", len(hostileCases))
	}
	s := newStore(t, store.WithMaxContentBytes(hostileLimit))
	conv := mustCreate(t, s, "m")
	mustAdd(t, s, conv, "user", "first")
	snapshot := func() [3]int {
		return [3]int{
			count(t, s.DB(), `SELECT count(*) FROM conversations`),
			count(t, s.DB(), `SELECT count(*) FROM messages`),
			count(t, s.DB(), `SELECT coalesce(sum(message_count), 0) FROM conversations`),
		}
	}
	for _, c := range hostileCases {
		t.Run(c.name, func(t *testing.T) {
			if !c.legal && c.want == nil {
				t.Fatal("an illegal case needs its sentinel")
			}
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if c.ctx != nil {
				ctx, cancel = c.ctx()
			}
			defer cancel()
			id := conv
			if c.id != nil {
				id = *c.id
			}
			role := c.role
			if role == "" && c.want != store.ErrInvalidRole {
				role = "user"
			}
			before := snapshot()
			var (
				newID string
				err   error
			)
			switch c.call {
			case "create":
				newID, err = s.CreateConversation(ctx, c.model)
			case "add":
				newID, err = s.AddMessage(ctx, id, role, c.text)
			case "get":
				_, err = s.GetConversation(ctx, id)
			case "delete":
				err = s.DeleteConversation(ctx, id)
			case "page":
				_, err = s.ListConversationsPage(ctx, c.text, c.limit)
			default:
				t.Fatalf("unknown call %q", c.call)
			}
			after := snapshot()
			if !c.legal {
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if after != before {
					t.Fatalf("rejected input changed the database: (conversations, messages, counted) %v → %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("legal input refused: %v", err)
			}
			switch c.call {
			case "create":
				if got := mustGet(t, s, newID).Model; got != c.model {
					t.Fatalf("model changed in the round trip: %q → %q", c.model, got)
				}
				if after != [3]int{before[0] + 1, before[1], before[2]} {
					t.Fatalf("counts %v → %v, want one more conversation", before, after)
				}
			case "add":
				var found bool
				for _, m := range mustGet(t, s, conv).Messages {
					if m.ID == newID {
						found = true
						if m.Content != c.text || m.Role != role {
							t.Fatalf("message changed in the round trip: %q %q → %q %q", role, c.text, m.Role, m.Content)
						}
					}
				}
				if !found {
					t.Fatalf("message %s not in the thread", newID)
				}
				if after != [3]int{before[0], before[1] + 1, before[2] + 1} {
					t.Fatalf("counts %v → %v, want one more message", before, after)
				}
			}
		})
	}
	assertSeqAndCount(t, s.DB(), conv, count(t, s.DB(), `SELECT count(*) FROM messages WHERE conversation_id = $1`, conv))
}
