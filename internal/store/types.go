package store

import "time"

// Message is one turn of a conversation.
type Message struct {
	ID, ConversationID, Role, Content string
	CreatedAt                         time.Time // UTC
}

// Conversation is a thread with its messages.
type Conversation struct {
	ID, Model string
	Title     string    // "" until the first user message names it, or SetTitle
	StartedAt time.Time // UTC
	Messages  []Message // append order; empty, not nil, for an empty thread
}

// ConversationSummary is a conversation without its messages, for listings.
type ConversationSummary struct {
	ID, Model    string
	Title        string
	StartedAt    time.Time // UTC
	MessageCount int
}

// Page is one page of ListConversationsPage.
type Page struct {
	Conversations []ConversationSummary
	// NextCursor fetches the following page; "" when this is the last one.
	NextCursor string
}
