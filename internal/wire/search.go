package wire

import (
	"time"

	"git.georgsen.dk/hwlab/internal/store"
)

// SearchPage is the answer of GET /api/search; NextCursor is "" on the last
// page.
type SearchPage struct {
	Hits       []SearchHit `json:"hits"`
	NextCursor string      `json:"next_cursor"`
}

// SearchHit is one hit: a message, or a conversation's title, whose
// message_id and role are null.
type SearchHit struct {
	ConversationID    string    `json:"conversation_id"`
	ConversationTitle string    `json:"conversation_title"`
	MessageID         *string   `json:"message_id"`
	Role              *string   `json:"role"`
	CreatedAt         time.Time `json:"created_at"`
	Snippet           Snippet   `json:"snippet"`
}

// Snippet is plain text, never HTML, and the ranges of it that matched.
type Snippet struct {
	Text       string      `json:"text"`
	Highlights []Highlight `json:"highlights"`
}

// Highlight is the range [start, end) of a snippet's text, counted in
// Unicode code points (in JavaScript: indexes of Array.from(text)).
type Highlight struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// FromSearchPage converts a page of store.Search.
func FromSearchPage(p store.SearchPage) SearchPage {
	out := SearchPage{Hits: make([]SearchHit, len(p.Hits)), NextCursor: p.NextCursor}
	for i, h := range p.Hits {
		marks := make([]Highlight, len(h.Highlights))
		for j, m := range h.Highlights {
			marks[j] = Highlight{Start: m.Start, End: m.End}
		}
		out.Hits[i] = SearchHit{
			ConversationID: h.ConversationID, ConversationTitle: h.ConversationTitle,
			MessageID: textOrNil(h.MessageID), Role: textOrNil(h.Role), CreatedAt: h.CreatedAt.UTC(),
			Snippet: Snippet{Text: h.Snippet, Highlights: marks},
		}
	}
	return out
}
