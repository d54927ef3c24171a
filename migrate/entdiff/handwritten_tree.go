package entdiff

// The message tree's composite foreign keys (issue 12): ent's edges are
// single-column, so the migration that adds parent_seq and active_seq
// writes them by hand.
func init() {
	Register(
		// (conversation_id, parent_seq) -> messages (conversation_id, seq):
		// a parent is in the same conversation.
		Object{Kind: KindForeignKey, Table: "messages", Name: "messages_parent_fkey"},
		// (id, active_seq) -> messages (conversation_id, seq), deferrable:
		// the active leaf is a message of the conversation; import inserts
		// the conversation before its messages.
		Object{Kind: KindForeignKey, Table: "conversations", Name: "conversations_active_fkey"},
	)
}
