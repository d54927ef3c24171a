package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of what the store accepts, besides the content limit
// (WithMaxContentBytes) and MaxPageSize.
const (
	// MaxModelBytes is the longest model name accepted, in bytes.
	MaxModelBytes = 256
	// MaxTitleBytes is the longest title SetTitle accepts, in bytes.
	MaxTitleBytes = 1024
	// DefaultTitleChars is how many characters of the first user message
	// (whitespace runs folded to one space, trimmed before and after the
	// cut) become the default title. The append statement and the
	// conversation_title migration both use this number.
	DefaultTitleChars = 60
)

// Roles a message may have. The database's messages_role_check enforces the
// same set.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleSystem    = "system"
)

func validRole(role string) error {
	switch role {
	case RoleUser, RoleAssistant, RoleSystem:
		return nil
	}
	return fmt.Errorf("%w: %q (want user, assistant or system)", ErrInvalidRole, truncate(role, 32))
}

func (s *Store) validContent(content string) error {
	if len(content) > s.cfg.maxContentBytes {
		return fmt.Errorf("%w: %w: %d bytes, limit %d", ErrInvalidContent, ErrContentTooLarge, len(content), s.cfg.maxContentBytes)
	}
	return validText(ErrInvalidContent, content)
}

func validModel(model string) error {
	if len(model) > MaxModelBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidModel, len(model), MaxModelBytes)
	}
	return validText(ErrInvalidModel, model)
}

func validTitle(title string) error {
	if len(title) > MaxTitleBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidTitle, len(title), MaxTitleBytes)
	}
	return validText(ErrInvalidTitle, title)
}

// validText rejects what PostgreSQL's text type cannot store: NUL bytes and
// invalid UTF-8 (the database is UTF8).
func validText(sentinel error, s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%w: NUL byte at offset %d", sentinel, i)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", sentinel)
	}
	return nil
}

// parseID accepts only the canonical 36-character UUID form (any case).
// Anything else cannot name a row, so it is ErrNotFound, as callers pass ids
// straight from URLs.
func parseID(id string) (uuid.UUID, error) {
	if len(id) != 36 {
		return uuid.UUID{}, fmt.Errorf("%w: malformed id", ErrNotFound)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%w: malformed id", ErrNotFound)
	}
	return u, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
