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

// MessageChunk is a piece of a reply that is still streaming, one row per
// flush. A flush INSERTs only its new text, so the WAL a reply writes is
// linear in its size (an UPDATE of messages.content would rewrite the whole
// TOASTed value on every flush). When the reply ends the chunks are moved
// into messages.content and deleted.
type MessageChunk struct {
	ent.Schema
}

// Annotations of the MessageChunk.
func (MessageChunk) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Table("message_chunks"),
		entsql.Checks(map[string]string{"message_chunks_n_check": "n >= 0"}),
	}
}

// Fields of the MessageChunk. ent needs a single-column id; (message_id, n)
// is the natural key, a unique index that a retried flush conflicts on.
func (MessageChunk) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable(),
		field.UUID("message_id", uuid.UUID{}).Immutable(),
		field.Int32("n").Immutable(),
		field.Text("content").Immutable(),
	}
}

// Indexes of the MessageChunk.
func (MessageChunk) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("message_id", "n").Unique().StorageKey("message_chunks_message_id_n_key"),
	}
}

// Edges of the MessageChunk.
func (MessageChunk) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("message", Message.Type).Ref("chunks").Field("message_id").
			Unique().Required().Immutable(),
	}
}

// Generation is a reply in flight. Its unique conversation_id makes the
// database, not process memory, allow one generation per conversation across
// instances; heartbeat_at is the lease a sweep reads with the database clock.
type Generation struct {
	ent.Schema
}

// Annotations of the Generation.
func (Generation) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Table("generations")}
}

// Fields of the Generation.
func (Generation) Fields() []ent.Field {
	return []ent.Field{
		// ent cannot put an edge on the id column, so the id is a surrogate
		// and message_id is a unique foreign key.
		field.Int64("id").Immutable(),
		field.UUID("message_id", uuid.UUID{}).Immutable().Unique(),
		field.UUID("conversation_id", uuid.UUID{}).Immutable().Unique(),
		field.Text("instance").Immutable(),
		field.Time("started_at").Immutable().SchemaType(timestamptz).
			Annotations(entsql.DefaultExpr("now()")),
		field.Time("heartbeat_at").SchemaType(timestamptz).
			Annotations(entsql.DefaultExpr("now()")),
		field.Bool("stop_requested").Default(false),
	}
}

// Edges of the Generation.
func (Generation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("message", Message.Type).Ref("generation").Field("message_id").
			Unique().Required().Immutable(),
		edge.From("conversation", Conversation.Type).Ref("generation").Field("conversation_id").
			Unique().Required().Immutable(),
	}
}
