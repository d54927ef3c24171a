package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// MessageOwners reports which of ids are already stored, mapping each to
// the id of the conversation it belongs to; ids not stored are absent. An
// importer uses it to find, before importing anything, a message id that a
// file gives to one conversation while the database holds it under
// another (ImportConversation would fail with ErrIDConflict half-way).
// One query; callers batch large sets. Errors: ErrInvalidRecord for an id
// that is not a UUID, else a database error.
func (s *Store) MessageOwners(ctx context.Context, ids []string) (map[string]string, error) {
	if len(ids) == 0 {
		return map[string]string{}, nil
	}
	arg := make([]uuid.UUID, len(ids))
	for i, id := range ids {
		u, err := parseID(id)
		if err != nil {
			return nil, fmt.Errorf("%w: message id %q is not a UUID", ErrInvalidRecord, truncate(id, 40))
		}
		arg[i] = u
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, `SELECT id, conversation_id FROM messages WHERE id = ANY($1::uuid[])`, arg)
	if err != nil {
		return nil, dbError(ctx, "message owners", err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var id, conv uuid.UUID
		if err := rows.Scan(&id, &conv); err != nil {
			return nil, dbError(ctx, "message owners", err)
		}
		out[id.String()] = conv.String()
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(ctx, "message owners", err)
	}
	return out, nil
}
