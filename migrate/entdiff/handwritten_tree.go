package entdiff

// The message tree's composite foreign key (issue 12): ent's edges are
// single-column, so the migration that adds parent_seq writes it by hand.
func init() {
	// (conversation_id, parent_seq) -> messages (conversation_id, seq): a
	// parent is in the same conversation.
	Register(Object{Kind: KindForeignKey, Table: "messages", Name: "messages_parent_fkey"})
}
