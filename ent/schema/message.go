package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// timestamptz pins the column type of the original schema (v1).
var timestamptz = map[string]string{dialect.Postgres: "timestamptz"}

// Message is one turn of a Conversation.
type Message struct {
	ent.Schema
}

// Annotations of the Message. The CHECK carries the name PostgreSQL gives the
// original schema's inline constraint.
func (Message) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{
			"messages_role_check": "role IN ('user','assistant','system')",
			// Only replies have a life cycle; rows stored before it read as complete.
			"messages_status_check":            "status IN ('streaming','complete','stopped','failed','interrupted')",
			"messages_status_role_check":       "role = 'assistant' OR status = 'complete'",
			"messages_prompt_tokens_check":     "prompt_tokens >= 0",
			"messages_completion_tokens_check": "completion_tokens >= 0",
			"messages_first_token_ms_check":    "first_token_ms >= 0",
			"messages_duration_ms_check":       "duration_ms >= 0",
			// A parent comes before its children, so the tree has no cycle.
			"messages_parent_seq_check": "parent_seq < seq",
		}),
	}
}

// Fields of the Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).
			Immutable().
			Annotations(entsql.DefaultExpr("gen_random_uuid()")),
		field.UUID("conversation_id", uuid.UUID{}).
			Immutable(),
		// seq is the message's 1-based position in its conversation and
		// defines message order. It has no default: a raw INSERT that omits
		// it fails instead of silently breaking order and counts.
		field.Int64("seq").
			Immutable().
			Positive(),
		// parent_seq is the seq of the message this one follows in the
		// tree; NULL for a root (the first message, or an edit of it). Its
		// foreign key, (conversation_id, parent_seq) -> (conversation_id,
		// seq), keeps a parent in the same conversation; it is composite,
		// which ent cannot express, so the migration writes it by hand
		// (migrate/entdiff/handwritten_tree.go). With the CHECK that a parent
		// has a smaller seq, a cycle cannot exist.
		field.Int64("parent_seq").
			Optional().
			Nillable().
			Immutable(),
		field.Text("role").
			Immutable(),
		// content is written once more when a reply ends: the text streamed
		// so far lives in message_chunks until then.
		field.Text("content"),
		field.Time("created_at").
			Immutable().
			SchemaType(timestamptz).
			Annotations(entsql.DefaultExpr("now()")),
		// status and the metadata below describe a reply; NULL is unknown.
		field.Text("status").
			Default("complete"),
		field.Text("model").Optional().Nillable(),
		field.Text("finish_reason").Optional().Nillable(),
		field.Int32("prompt_tokens").Optional().Nillable(),
		field.Int32("completion_tokens").Optional().Nillable(),
		field.Int32("first_token_ms").Optional().Nillable(),
		field.Int32("duration_ms").Optional().Nillable(),
	}
}

// Indexes of the Message. The unique key also serves reading a thread in
// order and the foreign key's lookups.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "seq").
			Unique().
			StorageKey("messages_conversation_id_seq_key"),
		// A message's children: switching branch walks down by them, and
		// the parent key's cascade finds them.
		index.Fields("conversation_id", "parent_seq").
			StorageKey("messages_conversation_id_parent_seq_idx"),
		// The branch starts: the messages whose parent is not the message
		// before them (every root among them). The active path is the runs
		// of seq between them (internal/store/threads.go), so reading it
		// walks these few index entries, not every message. A chain has one,
		// its root.
		index.Fields("conversation_id", "seq", "parent_seq").
			StorageKey("messages_branch_starts_idx").
			Annotations(entsql.IndexWhere("parent_seq IS DISTINCT FROM seq - 1")),
	}
}

// Edges of the Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("conversation", Conversation.Type).
			Ref("messages").
			Field("conversation_id").
			Unique().
			Required().
			Immutable(),
		edge.To("chunks", MessageChunk.Type).
			StorageKey(edge.Symbol("message_chunks_message_id_fkey")).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("generation", Generation.Type).
			Unique().
			StorageKey(edge.Symbol("generations_message_id_fkey")).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}
