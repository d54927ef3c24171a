package entdiff

// The search objects (issue 13) that ent/schema cannot express: the
// extension and the IMMUTABLE wrappers, the generated column, and the GIN
// indexes over it and over an expression. The search migration creates them.
func init() {
	Register(
		Object{Kind: KindExtension, Name: "unaccent"},
		Object{Kind: KindTextSearchConfig, Name: "hwlab_search"},
		Object{Kind: KindFunction, Name: "hwlab_search_text"},
		Object{Kind: KindFunction, Name: "hwlab_search_vector"},
		Object{Kind: KindColumn, Table: "messages", Name: "search_vector"},
		Object{Kind: KindIndex, Table: "messages", Name: "messages_search_vector_idx"},
		Object{Kind: KindIndex, Table: "conversations", Name: "conversations_title_search_idx"},
	)
}
