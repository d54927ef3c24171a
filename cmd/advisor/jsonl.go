package main

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"git.georgsen.dk/hwlab/internal/jsonstrict"
	"git.georgsen.dk/hwlab/internal/store"
)

// jsonConversation is the JSON form of a conversation: one line of
// `conversations export` (JSON Lines) and `import`, and the output of
// `show --json`. Field names are snake_case and stable; a new store field
// (a title, say) is one more field here plus its line in each converter.
type jsonConversation struct {
	ID           string        `json:"id"`
	Title        string        `json:"title"`
	Model        string        `json:"model"`
	StartedAt    time.Time     `json:"started_at"`
	MessageCount *int          `json:"message_count,omitempty"` // redundant on import; checked when present
	Messages     []jsonMessage `json:"messages"`
}

type jsonMessage struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Role           string    `json:"role"`
	Content        string    `json:"content"`
	CreatedAt      time.Time `json:"created_at"`
}

// jsonSummary is one entry of `ls --json`.
type jsonSummary struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Model        string    `json:"model"`
	StartedAt    time.Time `json:"started_at"`
	MessageCount int       `json:"message_count"`
}

func toJSONConversation(c *store.Conversation) jsonConversation {
	n := len(c.Messages)
	out := jsonConversation{
		ID:           c.ID,
		Title:        c.Title,
		Model:        c.Model,
		StartedAt:    c.StartedAt,
		MessageCount: &n,
		Messages:     make([]jsonMessage, n),
	}
	for i, m := range c.Messages {
		out.Messages[i] = jsonMessage{ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt}
	}
	return out
}

func (j jsonConversation) toStore() store.Conversation {
	c := store.Conversation{ID: j.ID, Title: j.Title, Model: j.Model, StartedAt: j.StartedAt, Messages: make([]store.Message, len(j.Messages))}
	for i, m := range j.Messages {
		c.Messages[i] = store.Message{ID: m.ID, ConversationID: m.ConversationID, Role: m.Role, Content: m.Content, CreatedAt: m.CreatedAt}
	}
	return c
}

func toJSONSummary(s store.ConversationSummary) jsonSummary {
	return jsonSummary{ID: s.ID, Title: s.Title, Model: s.Model, StartedAt: s.StartedAt, MessageCount: s.MessageCount}
}

// decodeLine parses one JSON Lines record strictly: unknown fields are an
// error (rather than data silently dropped), and so is trailing content.
func decodeLine(line []byte) (store.Conversation, error) {
	var j jsonConversation
	if err := jsonstrict.Decode(bytes.NewReader(line), &j); err != nil {
		if errors.Is(err, jsonstrict.ErrTrailingData) {
			return store.Conversation{}, errors.New("trailing data after the record (one record per line)")
		}
		return store.Conversation{}, fmt.Errorf("not a conversation record: %v", err)
	}
	if j.MessageCount != nil && *j.MessageCount != len(j.Messages) {
		return store.Conversation{}, fmt.Errorf("message_count is %d but %d messages follow", *j.MessageCount, len(j.Messages))
	}
	return j.toStore(), nil
}
