package store

import "git.georgsen.dk/hwlab/ent"

// The only place where ent types become plan types. Times leave in UTC.

func toMessage(m *ent.Message) Message {
	return Message{
		ID:             m.ID.String(),
		ConversationID: m.ConversationID.String(),
		Role:           m.Role,
		Content:        m.Content,
		CreatedAt:      m.CreatedAt.UTC(),
	}
}

func toConversation(c *ent.Conversation) *Conversation {
	msgs := make([]Message, len(c.Edges.Messages))
	for i, m := range c.Edges.Messages {
		msgs[i] = toMessage(m)
	}
	return &Conversation{
		ID:        c.ID.String(),
		Model:     c.Model,
		Title:     c.Title,
		StartedAt: c.StartedAt.UTC(),
		Messages:  msgs,
	}
}

func toSummary(c *ent.Conversation) ConversationSummary {
	return ConversationSummary{
		ID:           c.ID.String(),
		Model:        c.Model,
		Title:        c.Title,
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
