package store

import "git.georgsen.dk/hwlab/ent"

// The only place where ent types become plan types. Times leave in UTC.
// (GetConversation scans rows straight into plan types: read_conversation.go.)

func toSummary(c *ent.Conversation) ConversationSummary {
	return ConversationSummary{
		ID:           c.ID.String(),
		Model:        c.Model,
		StartedAt:    c.StartedAt.UTC(),
		MessageCount: int(c.MessageCount),
	}
}

func toSummaries(cs []*ent.Conversation) []ConversationSummary {
	out := make([]ConversationSummary, len(cs))
	for i, c := range cs {
		out[i] = toSummary(c)
	}
	return out
}
