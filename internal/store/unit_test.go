package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// Unit tests of the pure parts; they need no database.

func TestParseID(t *testing.T) {
	good := "6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11"
	for _, id := range []string{good, strings.ToUpper(good)} {
		if _, err := parseID(id); err != nil {
			t.Errorf("parseID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "x", strings.ReplaceAll(good, "-", ""), "urn:uuid:" + good, "{" + good + "}", good[:35] + "g"} {
		if _, err := parseID(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("parseID(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{startedAt: time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC), id: uuid.MustParse("6f1c1d7e-9c55-4c43-8a38-3f3a9e0b6a11")}
	got, err := decodeCursor(c.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !got.startedAt.Equal(c.startedAt) || got.id != c.id {
		t.Fatalf("round trip: %+v → %+v", c, got)
	}
}

func TestValidText(t *testing.T) {
	for s, ok := range map[string]bool{"": true, "héllo 🧪": true, "a\x00": false, "\xff": false, "\xed\xa0\x80": false} {
		if err := validText(ErrInvalidContent, s); (err == nil) != ok {
			t.Errorf("validText(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

// TestForeignKeyViolationsByName: a foreign-key violation is mapped by the
// constraint it names; a parent outside the conversation is not
// "conversation not found".
func TestForeignKeyViolationsByName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		constraint string
		want       error
	}{
		{"messages_conversation_id_fkey", ErrNotFound},
		{"messages_parent_fkey", ErrOtherConversation},
		{"some_future_fkey", ErrNotFound},
	} {
		err := dbError(context.Background(), "op", &pgconn.PgError{Code: codeForeignKeyViolation, ConstraintName: tc.constraint})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.constraint, err, tc.want)
		}
		if tc.want == ErrOtherConversation && errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v is also ErrNotFound", tc.constraint, err)
		}
	}
}
