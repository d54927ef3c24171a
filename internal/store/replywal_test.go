//go:build integration

package store_test

import (
	"database/sql"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestReplyWALLinearInSize measures the WAL one reply writes when it is
// stored as the schema intends (one message_chunks INSERT per ~4 KiB flush,
// then one statement that moves the chunks into messages.content), and
// compares it with rewriting messages.content on every flush. The bound is a
// ratio of ratios, so it cannot flake on the absolute figures. Each
// statement's own WAL is read from EXPLAIN (ANALYZE, WAL): the cluster's
// insert position would count the WAL of every test running beside it.
// SQL is raw here on purpose: it measures the schema, not the store methods.
func TestReplyWALLinearInSize(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	db := s.DB()
	const flush = 4 << 10
	measure := func(t *testing.T, size int, rewrite bool) float64 {
		t.Helper()
		var conv, msg string
		if err := db.QueryRow(`INSERT INTO conversations DEFAULT VALUES RETURNING id`).Scan(&conv); err != nil {
			t.Fatal(err)
		}
		var wal int64
		if err := db.QueryRow(`INSERT INTO messages (conversation_id, seq, role, content, status)
			VALUES ($1, 1, 'assistant', '', 'streaming') RETURNING id`, conv).Scan(&msg); err != nil {
			t.Fatal(err)
		}
		// Pseudo-random letters (fixed seed) so that TOAST compression does
		// not hide the cost.
		rng := rand.New(rand.NewPCG(1, uint64(size)))
		var b strings.Builder
		for b.Len() < size {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
		text := b.String()
		for n, off := 0, 0; off < size; n, off = n+1, off+flush {
			part := text[off:min(off+flush, size)]
			if rewrite {
				wal += walOf(t, db, `UPDATE messages SET content = content || $2 WHERE id = $1`, msg, part)
			} else {
				wal += walOf(t, db, `INSERT INTO message_chunks (message_id, n, content) VALUES ($1, $2::int, $3)`, msg, n, part)
			}
		}
		if !rewrite {
			wal += walOf(t, db, `WITH moved AS (DELETE FROM message_chunks WHERE message_id = $1 RETURNING n, content)
				UPDATE messages SET status = 'complete',
					content = content || coalesce((SELECT string_agg(content, '' ORDER BY n) FROM moved), '')
				WHERE id = $1`, msg)
		}
		var got string
		if err := db.QueryRow(`SELECT content FROM messages WHERE id = $1`, msg).Scan(&got); err != nil || got != text {
			t.Fatalf("stored text differs (err %v, %d bytes want %d)", err, len(got), len(text))
		}
		ratio := float64(wal) / float64(size)
		t.Logf("WAL per reply: size %d B, rewrite=%v: %d B WAL (%.2f x size)", size, rewrite, wal, ratio)
		return ratio
	}
	chunks := map[int]float64{}
	for _, size := range []int{2 << 10, 64 << 10, 1 << 20} {
		chunks[size] = measure(t, size, false)
	}
	rewrite := measure(t, 1<<20, true)
	if chunks[1<<20] > 3*chunks[64<<10] {
		t.Errorf("WAL/size at 1 MiB = %.2f, more than 3x that at 64 KiB (%.2f): not linear", chunks[1<<20], chunks[64<<10])
	}
	if rewrite < 10*chunks[1<<20] {
		t.Errorf("rewriting content cost only %.2f x size against %.2f x with chunks: the chunk table is not worth it", rewrite, chunks[1<<20])
	}
}

// walOf runs query under EXPLAIN (ANALYZE, WAL) and returns the WAL bytes
// it wrote (the top plan node counts its children's).
func walOf(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var out []byte
	if err := db.QueryRow(`EXPLAIN (ANALYZE, WAL, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var plan []struct {
		Plan struct {
			WALBytes int64 `json:"WAL Bytes"`
		}
	}
	if err := json.Unmarshal(out, &plan); err != nil || len(plan) != 1 {
		t.Fatalf("EXPLAIN output %s: %v", out, err)
	}
	return plan[0].Plan.WALBytes
}
