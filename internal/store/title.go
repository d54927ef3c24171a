package store

import (
	"context"
	"fmt"

	"git.georgsen.dk/hwlab/ent/conversation"
)

const (
	// MaxTitleBytes is the longest title SetTitle accepts, in bytes.
	MaxTitleBytes = 1024
	// DefaultTitleChars is how many characters of the first user message
	// (whitespace runs folded to one space, trimmed before and after the
	// cut) become the default title. The append statement and the conversation_title migration
	// both use this number.
	DefaultTitleChars = 60
)

// SetTitle replaces the conversation's title. The empty title is allowed:
// it means "untitled", and the next user message appended names the
// conversation again. Errors: ErrNotFound for an unknown or malformed id,
// ErrInvalidTitle for a title over MaxTitleBytes or with a NUL byte or
// invalid UTF-8.
func (s *Store) SetTitle(ctx context.Context, id, title string) error {
	uid, err := parseID(id)
	if err != nil {
		return err
	}
	if err := validTitle(title); err != nil {
		return err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	n, err := s.client.Conversation.Update().Where(conversation.ID(uid)).SetTitle(title).Save(ctx)
	if err != nil {
		return dbError(ctx, "set title", err)
	}
	if n == 0 {
		return fmt.Errorf("store: set title of %s: %w", id, ErrNotFound)
	}
	return nil
}

func validTitle(title string) error {
	if len(title) > MaxTitleBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidTitle, len(title), MaxTitleBytes)
	}
	return validText(ErrInvalidTitle, title)
}
