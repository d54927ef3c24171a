package store

import "time"

// Message is one turn of a conversation.
type Message struct {
	ID, ConversationID, Role, Content string
	CreatedAt                         time.Time // UTC
	// Status is StatusComplete but for a reply (an assistant message) the
	// server generates: StatusStreaming while it is written, then how it
	// ended. While streaming, Content is the text flushed so far.
	Status string
	Reply
	// ParentID is the message this one follows in the conversation's
	// tree; "" for a root (the first message, or an edit of it).
	ParentID string
	// Siblings are the messages with the same parent, in append order,
	// this one included; nil when it has none but itself. Only the reads
	// of the active path fill it (GetConversation, ReadConversation).
	Siblings []string
}

// Reply is what is known of how a reply was generated; the zero value
// (every field unknown) is what messages stored before replies had a life
// cycle, user messages and imported messages without it carry.
type Reply struct {
	Model        string // the model that answered; "" unknown
	FinishReason string // the model's finish_reason ("stop", "length"); "" unknown
	// From the stream's usage; nil when the model server sent none.
	PromptTokens, CompletionTokens *int
	// Milliseconds from the start of the generation to its first token and
	// to its end; nil when unknown (FirstTokenMS: also when no token came).
	FirstTokenMS, DurationMS *int
}

// Reply statuses (messages_status_check enforces the same set).
const (
	StatusStreaming   = "streaming"   // being generated
	StatusComplete    = "complete"    // the model finished
	StatusStopped     = "stopped"     // stopped on request; the text so far is kept
	StatusFailed      = "failed"      // the model or the store failed; the text so far is kept
	StatusInterrupted = "interrupted" // its server died or shut down first; the text up to the last flush is kept
)

// Conversation is a thread with its messages.
type Conversation struct {
	ID, Model string
	Title     string    // "" until the first user message names it, or SetTitle
	StartedAt time.Time // UTC
	// Messages are the active path, root to leaf (GetConversation), or
	// every message of the tree in append order (GetConversationTree,
	// ExportConversations); empty, not nil, for an empty thread.
	Messages []Message
	// ActiveID is the active leaf, where the thread ends and a chat goes
	// on; "" for an empty thread.
	ActiveID string
}

// ConversationSummary is a conversation without its messages, for listings.
type ConversationSummary struct {
	ID, Model string
	Title     string
	StartedAt time.Time // UTC
	// MessageCount counts every message of every branch, not only the
	// active path's.
	MessageCount int
	// ActiveID is the active leaf; only ReadConversation's head fills it.
	ActiveID string
}

// Page is one page of ListConversationsPage.
type Page struct {
	Conversations []ConversationSummary
	// NextCursor fetches the following page; "" when this is the last one.
	NextCursor string
}
