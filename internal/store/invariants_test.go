//go:build integration

package store_test

import (
	"database/sql"
	"testing"
)

// assertSeqAndCount checks a conversation's invariants: seq runs 1..n with
// no gap or duplicate, and message_count equals the rows.
func assertSeqAndCount(t testing.TB, db *sql.DB, convID string, want int) {
	t.Helper()
	var rows, minSeq, maxSeq, distinct, counted int
	err := db.QueryRow(`SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0), count(DISTINCT seq),
		(SELECT message_count FROM conversations WHERE id = $1)
		FROM messages WHERE conversation_id = $1`, convID).Scan(&rows, &minSeq, &maxSeq, &distinct, &counted)
	if err != nil {
		t.Fatal(err)
	}
	if rows != want || counted != want || distinct != want {
		t.Errorf("rows %d, message_count %d, distinct seq %d; want all %d", rows, counted, distinct, want)
	}
	if want > 0 && (minSeq != 1 || maxSeq != want) {
		t.Errorf("seq spans %d..%d, want 1..%d", minSeq, maxSeq, want)
	}
}
