package store

import (
	"context"
	"fmt"

	"git.georgsen.dk/hwlab/ent"
)

// GetConversationSummary returns the conversation without its messages:
// one primary-key read of the conversations row, whose maintained
// message_count stands in for the thread, so its cost does not grow with
// the conversation. An unknown or malformed id is ErrNotFound.
func (s *Store) GetConversationSummary(ctx context.Context, id string) (ConversationSummary, error) {
	uid, err := parseID(id)
	if err != nil {
		return ConversationSummary{}, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	c, err := s.client.Conversation.Get(ctx, uid)
	if ent.IsNotFound(err) {
		return ConversationSummary{}, fmt.Errorf("store: get conversation summary %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return ConversationSummary{}, dbError(ctx, "get conversation summary", err)
	}
	return toSummary(c), nil
}
