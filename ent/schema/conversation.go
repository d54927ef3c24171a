package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Conversation is one advisor chat thread.
type Conversation struct {
	ent.Schema
}

// Fields of the Conversation. Defaults live in the database, so rows written
// by raw SQL (or by the original schema's code, v1) get the same values.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).
			Immutable().
			Annotations(entsql.DefaultExpr("gen_random_uuid()")),
		field.Time("started_at").
			Immutable().
			SchemaType(timestamptz).
			Annotations(entsql.DefaultExpr("now()")),
		field.Text("model").
			Default(""),
		// title defaults to '' and is filled in from the first user message
		// by the append statement (internal/store), or set by the user.
		field.Text("title").
			Default(""),
		// message_count is maintained by the append statement, so listing
		// never aggregates the messages table.
		field.Int64("message_count").
			Default(0).
			NonNegative(),
		// active_seq is the seq of the active leaf: the thread is the path
		// from the root to it. Every append makes the new message active;
		// NULL for a conversation without messages. The CHECK keeps it
		// within the conversation's seqs, 1..message_count, which the
		// append statement keeps gapless; a foreign key to messages would
		// cost every append a trigger and a row lock (docs/performance.md).
		field.Int64("active_seq").
			Optional().
			Nillable().
			Positive(),
		// forked says that the conversation has a branch: a message other
		// than the first whose parent is not the message before it. The
		// append statements set it (it never goes back: messages are only
		// deleted with their conversation), import computes it, and a
		// thread read of a conversation without it is a plain range of
		// the (conversation_id, seq) index, with no probe of the branch
		// starts to find that out (docs/performance.md).
		field.Bool("forked").
			Default(false),
	}
}

// Annotations of the Conversation.
func (Conversation) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{
			"conversations_active_seq_check": "(active_seq IS NULL) = (message_count = 0) AND active_seq BETWEEN 1 AND message_count",
		}),
	}
}

// Indexes of the Conversation: the listing and its keyset pagination walk
// (started_at DESC, id DESC).
func (Conversation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("started_at", "id").
			StorageKey("conversations_started_at_id_idx").
			Annotations(entsql.DescColumns("started_at", "id")),
	}
}

// Edges of the Conversation.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{
		// The cascade is declared on this side although the FK column lives in
		// messages; the symbol is the name PostgreSQL gives the original DDL, so a
		// database created by the original CREATE TABLE code equals migration version 1.
		edge.To("messages", Message.Type).
			StorageKey(edge.Symbol("messages_conversation_id_fkey")).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("generation", Generation.Type).
			Unique().
			StorageKey(edge.Symbol("generations_conversation_id_fkey")).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}
