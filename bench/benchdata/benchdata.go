// Package benchdata loads the benchmark data set into a database holding
// either the original schema (v1, package baseline) or the migrated schema
// (internal/store): N conversations of M messages each, plus a few long
// threads for the read benchmarks. Everything is generated server-side with
// generate_series, a few large statements rather than a million round
// trips. Ids, times and contents are deterministic, so the two schemas hold
// identical data and a repeated load is the same data set.
package benchdata

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Spec is what to load.
type Spec struct {
	// Conversations of MessagesPer messages each, started one second apart,
	// newest first from Epoch backwards.
	Conversations int
	MessagesPer   int
	// Threads are extra conversations with these message counts, started
	// before every other conversation so they do not appear in the first
	// pages of a listing. ThreadID(n) is the id of the one with n messages.
	Threads []int
	// Branched are extra conversations, on the migrated schema only, whose
	// active path holds n messages and forks every 100 of them: at each
	// fork the reply was regenerated, so a dead-end reply sits beside the
	// one the path goes on from. BranchedThreadID(n) is the one with an n
	// message path, n + n/100 messages in all.
	Branched []int
	// Progress, if set, is called after each statement with the messages
	// and conversations loaded so far and the total to load.
	Progress func(done, total int64)
}

// Epoch is the started_at of the newest generated conversation.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ContentBytes is the length of every generated message's content: a
// typical chat turn, not a pasted log.
const ContentBytes = 200

// chunk is how many messages one INSERT … SELECT writes: large enough to
// amortise the round trip, small enough for a progress bar that moves.
const chunk = 100_000

// ConversationID is the id of the i-th generated conversation (1-based).
func ConversationID(i int) string { return md5UUID(fmt.Sprintf("hwlab-bench-conv-%d", i)) }

// ThreadID is the id of the extra thread with n messages.
func ThreadID(n int) string { return md5UUID(fmt.Sprintf("hwlab-bench-thread-%d", n)) }

// BranchedThreadID is the id of the branched thread whose path holds n
// messages.
func BranchedThreadID(n int) string { return md5UUID(fmt.Sprintf("hwlab-bench-branched-%d", n)) }

// md5UUID is PostgreSQL's md5(s)::uuid.
func md5UUID(s string) string {
	sum := md5.Sum([]byte(s))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Load inserts spec's data into conn's database, which must hold one of the
// two schemas and no rows that clash with the generated ids. With the
// migrated schema it also fills seq, message_count, parents and the active
// leaf as AddMessage would: every thread but the Branched ones is a chain.
// It ends with VACUUM ANALYZE, so the planner and index-only scans see the
// data as a long-running database would.
func Load(ctx context.Context, conn *pgx.Conn, spec Spec) error {
	var migrated, tree bool
	err := conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'messages' AND column_name = 'seq'),
		EXISTS (SELECT 1 FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'messages' AND column_name = 'parent_seq')`).Scan(&migrated, &tree)
	if err != nil {
		return fmt.Errorf("benchdata: %w", err)
	}
	total := int64(spec.Conversations) * int64(spec.MessagesPer+1)
	for _, n := range spec.Threads {
		total += int64(n) + 1
	}
	if !tree {
		spec.Branched = nil
	}
	for _, n := range spec.Branched {
		total += int64(n+n/100) + 1
	}
	var done int64
	step := func(n int64) {
		done += n
		if spec.Progress != nil {
			spec.Progress(done, total)
		}
	}
	l := loader{conn: conn, migrated: migrated, tree: tree}
	// The generated rows satisfy the foreign key by construction; checking
	// it row by row would double the load time. Only a superuser may skip
	// the checks (replica mode does not fire the FK triggers); anyone else
	// loads with them.
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err == nil {
		defer conn.Exec(context.WithoutCancel(ctx), "RESET session_replication_role")
	}

	if err := l.conversations(ctx, "conv", 1, spec.Conversations, 0, spec.MessagesPer); err != nil {
		return err
	}
	step(int64(spec.Conversations))
	perChunk := max(1, chunk/max(1, spec.MessagesPer))
	for lo := 1; lo <= spec.Conversations; lo += perChunk {
		hi := min(spec.Conversations, lo+perChunk-1)
		if err := l.messages(ctx, "conv", lo, hi, 0, spec.MessagesPer); err != nil {
			return err
		}
		step(int64(hi-lo+1) * int64(spec.MessagesPer))
	}
	for k, n := range spec.Threads {
		// Thread k starts (k+1) days before the oldest conversation.
		offset := spec.Conversations + (k+1)*86400
		if err := l.thread(ctx, n, offset); err != nil {
			return err
		}
		step(int64(n) + 1)
	}
	for k, n := range spec.Branched {
		offset := spec.Conversations + (len(spec.Threads)+k+1)*86400
		if err := l.branched(ctx, n, offset); err != nil {
			return err
		}
		step(int64(n+n/100) + 1)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE conversations, messages"); err != nil {
		return fmt.Errorf("benchdata: vacuum: %w", err)
	}
	return nil
}

type loader struct {
	conn     *pgx.Conn
	migrated bool
	tree     bool // messages have parent_seq, conversations active_seq
}

// conversations inserts conversations lo..hi of the given id family; the
// i-th starts i+offset seconds before Epoch.
func (l loader) conversations(ctx context.Context, family string, lo, hi, offset, count int) error {
	cols, vals := "", ""
	if l.migrated {
		cols, vals = ", message_count", fmt.Sprintf(", %d", count)
	}
	if l.tree {
		cols, vals = cols+", active_seq", vals+fmt.Sprintf(", nullif(%d, 0)", count)
	}
	q := `INSERT INTO conversations (id, started_at, model` + cols + `)
SELECT md5('hwlab-bench-' || $1::text || '-' || i)::uuid,
       $2::timestamptz - make_interval(secs => i + $3::int),
       'model-' || (i % 5)` + vals + `
FROM generate_series($4::int, $5::int) AS i`
	if _, err := l.conn.Exec(ctx, q, family, Epoch, offset, lo, hi); err != nil {
		return fmt.Errorf("benchdata: conversations: %w", err)
	}
	return nil
}

// messages inserts messages 1..m of conversations lo..hi of the family.
// Message j is created j seconds after its conversation started. Message ids
// count up (family, conversation, j) rather than being random: appending to
// the primary key's right edge makes the load several times faster, and no
// benchmark reads by message id.
func (l loader) messages(ctx context.Context, family string, lo, hi, offset, m int) error {
	cols, vals := "", ""
	if l.migrated {
		cols, vals = ", seq", ", j"
	}
	if l.tree {
		cols, vals = cols+", parent_seq", vals+", nullif(j - 1, 0)"
	}
	q := `INSERT INTO messages (id, conversation_id, role, content, created_at` + cols + `)
SELECT (CASE $1::text WHEN 'conv' THEN 'a' WHEN 'thread' THEN 'b' ELSE 'c' END || lpad(to_hex(c.i), 19, '0') || lpad(to_hex(j), 12, '0'))::uuid,
       c.id,
       CASE WHEN j % 2 = 1 THEN 'user' ELSE 'assistant' END,
       rpad('message ' || j || ' of ' || c.id::text || ': ', $4::int, 'lorem ipsum dolor sit amet '),
       c.started_at + make_interval(secs => j)` + vals + `
FROM (
	SELECT i, md5('hwlab-bench-' || $1::text || '-' || i)::uuid AS id,
	       $6::timestamptz - make_interval(secs => i + $7::int) AS started_at
	FROM generate_series($2::int, $3::int) AS i
) AS c
CROSS JOIN generate_series(1, $5::int) AS j
ORDER BY c.id, j`
	if _, err := l.conn.Exec(ctx, q, family, lo, hi, ContentBytes, m, Epoch, offset); err != nil {
		return fmt.Errorf("benchdata: messages: %w", err)
	}
	return nil
}

// thread inserts the extra conversation with n messages, offset seconds
// before Epoch. Its id is ThreadID(n).
func (l loader) thread(ctx context.Context, n, offset int) error {
	// The thread family has one member per n: id md5('hwlab-bench-thread-n').
	if err := l.conversations(ctx, "thread", n, n, offset-n, n); err != nil {
		return err
	}
	return l.messages(ctx, "thread", n, n, offset-n, n)
}

// branched inserts the branched thread with an n-message path, offset
// seconds before Epoch: a chain of n + n/100 messages in which, in every
// block of 101, message 52 has message 50 as its parent, so message 51 is
// a dead end beside it. Its id is BranchedThreadID(n).
func (l loader) branched(ctx context.Context, n, offset int) error {
	total := n + n/100
	if err := l.conversations(ctx, "branched", n, n, offset-n, total); err != nil {
		return err
	}
	if err := l.messages(ctx, "branched", n, n, offset-n, total); err != nil {
		return err
	}
	_, err := l.conn.Exec(ctx, `UPDATE messages SET parent_seq = seq - 2
WHERE conversation_id = md5('hwlab-bench-branched-' || $1::int)::uuid AND (seq - 1) % 101 = 51`, n)
	if err != nil {
		return fmt.Errorf("benchdata: branches: %w", err)
	}
	if _, err := l.conn.Exec(ctx, `UPDATE conversations SET forked = true
WHERE id = md5('hwlab-bench-branched-' || $1::int)::uuid`, n); err != nil {
		return fmt.Errorf("benchdata: branches: %w", err)
	}
	return nil
}
