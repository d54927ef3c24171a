package entdiff

// The message tree's objects that ent/schema cannot express (issue 12);
// the migration that adds parent_seq writes them by hand.
func init() {
	Register(
		// (conversation_id, parent_seq) -> messages (conversation_id, seq):
		// ent's edges are single-column. A parent is in the same
		// conversation.
		Object{Kind: KindForeignKey, Table: "messages", Name: "messages_parent_fkey"},
		// The walks of a branched conversation's tree (internal/store/threads.go).
		Object{Kind: KindFunction, Name: "hwlab_active_path"},
		Object{Kind: KindFunction, Name: "hwlab_forks"},
	)
}
