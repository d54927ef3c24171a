// Package wire is the JSON form of conversations and messages, and the one
// strict decoder for it. The HTTP API (internal/advisor), `advisor
// conversations export`/`import` and `show`/`ls --json` all use these types
// and these functions, so a new field (a message's status, say) is one line
// in its struct and one in its converter, and every reader and writer sees
// it.
//
// The rule for input, everywhere: JSON is read with the semantics of
// encoding/json/v2 (github.com/go-json-experiment/json), strictly.
//   - Member names match exactly: "Role" is not "role".
//   - A name appears at most once in an object.
//   - A member the type does not have is an error, not data dropped.
//   - Strings are valid UTF-8, and a \u escape of a UTF-16 surrogate is
//     half of a pair; nothing is replaced with U+FFFD.
//   - One value per input (per line, for JSON Lines); only white space
//     may follow it.
//
// A violation is an *Error, whose text names the place (a JSON Pointer and a
// byte offset) and the problem in JSON's terms, never a Go type: it goes to
// clients as it is.
//
// Output has encoding/json's byte shape (HTML-safe escapes, sorted map
// keys, null for a nil slice), so API answers and export files read the
// same as before this package replaced two copies of these types.
package wire

import (
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

// Message is one stored message: an API answer, and an element of a
// conversation's "messages". ConversationID is always written; an import
// may leave it out, since the line's conversation names it.
//
// Messages form a tree: ParentID is the message this one follows, null
// for a root (the first message, or an edit of it). An import may leave
// parent_id out of every message of a conversation (files written before
// it existed): the messages then form a chain in their order. Siblings
// are the messages with the same parent, in append order, this one
// included: written for the messages of a conversation's active path (a
// GET, a PATCH, `show`), where it is never empty, and left out elsewhere
// (an export, which carries the whole tree; the messages of a chat or an
// edit answer), where it is not read.
type Message struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	ParentID       *string   `json:"parent_id"`
	Siblings       []string  `json:"siblings,omitempty"`
	Role           string    `json:"role"`
	Content        string    `json:"content"`
	CreatedAt      time.Time `json:"created_at"`
	// Status and the reply's metadata (store.Reply): null where unknown.
	// An import may leave them out (files written before they existed):
	// the message is then complete, with nothing known.
	Status           string  `json:"status"`
	Model            *string `json:"model"`
	FinishReason     *string `json:"finish_reason"`
	PromptTokens     *int    `json:"prompt_tokens"`
	CompletionTokens *int    `json:"completion_tokens"`
	FirstTokenMS     *int    `json:"first_token_ms"`
	DurationMS       *int    `json:"duration_ms"`
}

// Summary is a conversation without its messages, for listings.
type Summary struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Model        string    `json:"model"`
	StartedAt    time.Time `json:"started_at"`
	MessageCount int       `json:"message_count"`
}

// Conversation is a summary with its messages: an API answer (the active
// path, root to leaf), one line of an export (the whole tree, in append
// order), and the output of `show --json` (the path) or `show --tree
// --json` (the tree). MessageCount counts every message of every branch,
// so it is len(Messages) for the tree, and may be more for the path.
// ActiveMessageID is the active path's leaf, null while there is none.
// Messages is the last member: ThreadWriter relies on it.
type Conversation struct {
	Summary
	ActiveMessageID *string   `json:"active_message_id"`
	Messages        []Message `json:"messages"`
}

// Page is the API's answer to a listing; NextCursor is "" on the last page.
type Page struct {
	Conversations []Summary `json:"conversations"`
	NextCursor    string    `json:"next_cursor"`
}

// Request bodies. A pointer tells a missing member from an empty one.
type (
	// NewConversation is POST /api/conversations; an empty body is {}.
	NewConversation struct {
		Model *string `json:"model"`
	}
	// ConversationChange is PATCH /api/conversations/{id}: a new title,
	// the message whose branch to show (the active path becomes the newest
	// leaf under it), or both.
	ConversationChange struct {
		Title           *string `json:"title"`
		ActiveMessageID *string `json:"active_message_id"`
	}
	// NewMessage is POST /api/conversations/{id}/messages, the raw append.
	NewMessage struct {
		Role    *string `json:"role"`
		Content *string `json:"content"`
	}
	// ChatMessage is POST /api/conversations/{id}/chat, and …/edit.
	ChatMessage struct {
		Content *string `json:"content"`
	}
	// Empty is a body that must be {} (or empty), such as /reply's.
	Empty struct{}
)

// FromMessage converts a stored message.
func FromMessage(m store.Message) Message {
	status := m.Status
	if status == "" {
		status = store.StatusComplete
	}
	return Message{
		ID: m.ID, ConversationID: m.ConversationID, ParentID: textOrNil(m.ParentID), Siblings: m.Siblings,
		Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt.UTC(), Status: status, Model: textOrNil(m.Model), FinishReason: textOrNil(m.FinishReason),
		PromptTokens: m.PromptTokens, CompletionTokens: m.CompletionTokens, FirstTokenMS: m.FirstTokenMS, DurationMS: m.DurationMS,
	}
}

func textOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func textOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// FromPathMessage converts a message of a conversation's active path,
// whose siblings are always written: the store leaves them nil for a
// message that has none but itself.
func FromPathMessage(m store.Message) Message {
	out := FromMessage(m)
	if len(out.Siblings) == 0 {
		out.Siblings = []string{m.ID}
	}
	return out
}

// FromSummary converts a stored summary.
func FromSummary(s store.ConversationSummary) Summary {
	return Summary{ID: s.ID, Title: s.Title, Model: s.Model, StartedAt: s.StartedAt.UTC(), MessageCount: s.MessageCount}
}

// FromHead is a conversation without its messages, for ThreadWriter.Head:
// the summary and the active leaf.
func FromHead(s store.ConversationSummary) Conversation {
	return Conversation{Summary: FromSummary(s), ActiveMessageID: textOrNil(s.ActiveID), Messages: []Message{}}
}

// FromTree converts a stored conversation read whole
// (store.GetConversationTree, an export): every message of every branch.
func FromTree(c *store.Conversation) Conversation {
	return fromConversation(c, len(c.Messages), FromMessage)
}

// FromPath converts a stored conversation's active path
// (store.GetConversation); count is its message_count, every message of
// every branch, which the path alone does not tell.
func FromPath(c *store.Conversation, count int) Conversation {
	return fromConversation(c, count, FromPathMessage)
}

func fromConversation(c *store.Conversation, count int, conv func(store.Message) Message) Conversation {
	out := Conversation{
		Summary:         Summary{ID: c.ID, Title: c.Title, Model: c.Model, StartedAt: c.StartedAt.UTC(), MessageCount: count},
		ActiveMessageID: textOrNil(c.ActiveID),
		Messages:        make([]Message, len(c.Messages)),
	}
	for i, m := range c.Messages {
		out.Messages[i] = conv(m)
	}
	return out
}

// Store converts a decoded conversation for the store's import.
func (c Conversation) Store() store.Conversation {
	out := store.Conversation{ID: c.ID, Title: c.Title, Model: c.Model, StartedAt: c.StartedAt,
		ActiveID: textOf(c.ActiveMessageID), Messages: make([]store.Message, len(c.Messages))}
	for i, m := range c.Messages {
		out.Messages[i] = store.Message{
			ID: m.ID, ConversationID: m.ConversationID, ParentID: textOf(m.ParentID), Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt,
			Status: m.Status, Reply: store.Reply{
				Model: textOf(m.Model), FinishReason: textOf(m.FinishReason),
				PromptTokens: m.PromptTokens, CompletionTokens: m.CompletionTokens, FirstTokenMS: m.FirstTokenMS, DurationMS: m.DurationMS,
			},
		}
	}
	return out
}
