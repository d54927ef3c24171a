// Package store is the advisor's chat history in PostgreSQL: conversations
// and their messages. It is the only package that speaks SQL at run time;
// callers get the store's types (types.go) and the sentinel errors of
// errors.go, which they match with errors.Is. ErrUnavailable says the
// database could not be reached or did not answer in time, so callers never
// inspect driver errors; Health asks the same question without a query.
//
// The access rule: every statement is a constant next to the method that
// runs it, executed on pgx through one helper (sql.go: withConn), and each
// type is scanned one way (sql.go: summaryRow for a conversation's own
// columns, threadRow for a conversation joined with its messages). ent
// defines the schema (ent/schema), from which the migrations are written;
// the generated client is not used here. The builders cost 8x the
// allocations of a constant statement (CreateConversation: 82 against 10)
// for statements that never change shape, and the two that must be one
// round trip (the append, the thread read) were already beyond them
// (docs/performance.md). No statement is built from input: the parameters
// carry the values (TestNoSQLBuiltFromInput).
//
// Every operation is timed once, under the name its errors carry, for the
// hook WithObserver installs (store.go: opCtx; stall.go for the streaming
// reads); the store knows no metrics library.
//
// Where things are: options.go every Option and limit, errors.go every
// sentinel and SQLSTATE code, conversations.go the conversation rows,
// messages.go the append, threads.go the reads of whole threads (get, the
// row-at-a-time read for streaming, and export), import.go the import. Masking is internal/secret's: no error
// from NewStore carries the DSN's password.
package store
