package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// insertImportedConversationSQL keeps an existing conversation as it is, so
// importing the same file twice changes nothing.
const insertImportedConversationSQL = `
INSERT INTO conversations (id, started_at, model, title, message_count, active_seq, forked)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO NOTHING`

// insertImportedMessagesSQL inserts a whole tree in one statement, seq and
// parent_seq as given.
const insertImportedMessagesSQL = `
INSERT INTO messages (id, conversation_id, seq, parent_seq, role, content, created_at, status, ` + replyColumns + `)
SELECT u.id, $1, u.seq, u.parent_seq, u.role, u.content, u.created_at, u.status, ` + replyColumns + `
FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
	$9::text[], $10::text[], $11::int[], $12::int[], $13::int[], $14::int[])
	AS u(id, seq, parent_seq, role, content, created_at, status, ` + replyColumns + `)`

// CheckImport validates c as ImportConversation would, without touching the
// database, so a tool can reject a bad file before importing any of it.
// Errors wrap ErrInvalidRecord, ErrInvalidModel, ErrInvalidTitle, ErrInvalidRole,
// ErrInvalidContent or ErrContentTooLarge.
func (s *Store) CheckImport(c Conversation) error {
	if _, err := s.checkImport(c); err != nil {
		return opError("check import", err)
	}
	return nil
}

func (s *Store) checkImport(c Conversation) (uuid.UUID, error) {
	id, _, err := s.checkImportTree(c)
	return id, err
}

// importTree is where an imported conversation's messages go: order lists
// c.Messages' indexes in the order they are stored (seq = position + 1),
// parents before their children; parent[i] is message i's parent's index
// (-1 for a root), active the active leaf's.
type importTree struct {
	order  []int
	parent []int
	active int
}

func (s *Store) checkImportTree(c Conversation) (uuid.UUID, importTree, error) {
	id, err := s.checkImportFields(c)
	if err != nil {
		return id, importTree{}, err
	}
	t, err := importedTree(c)
	return id, t, err
}

// importedTree checks and orders an imported conversation's tree. A file
// written before messages had parents (no parent_id and no
// active_message_id anywhere) is a chain in file order, ending at its last
// message. Otherwise a parent must be a message of the same conversation,
// and no message may be its own ancestor; a parent listed after its child
// is moved before it, the file's order kept otherwise. With no active leaf
// named, it is the last message stored, which is a leaf.
func importedTree(c Conversation) (importTree, error) {
	n := len(c.Messages)
	t := importTree{order: make([]int, 0, n), parent: make([]int, n), active: n - 1}
	tree := c.ActiveID != ""
	at := make(map[string]int, n)
	for i, m := range c.Messages {
		at[uuid.MustParse(m.ID).String()] = i
		tree = tree || m.ParentID != ""
	}
	for i, m := range c.Messages {
		t.parent[i] = i - 1
		if !tree {
			continue
		}
		t.parent[i] = -1
		if m.ParentID == "" {
			continue
		}
		pid, err := parseID(m.ParentID)
		if err != nil {
			return t, fmt.Errorf("%w: message %d: parent_id %q is not a UUID", ErrInvalidRecord, i+1, truncate(m.ParentID, 40))
		}
		p, ok := at[pid.String()]
		if !ok {
			return t, fmt.Errorf("%w: message %d: parent %s is not a message of this conversation", ErrInvalidRecord, i+1, pid)
		}
		t.parent[i] = p
	}
	// Depth-first from each message up to its first placed ancestor, then
	// placed root side first; meeting a message still on the walk is a
	// cycle.
	const (
		unplaced = iota
		walking
		placed
	)
	state := make([]int, n)
	for i := range c.Messages {
		var walk []int
		for j := i; j >= 0 && state[j] != placed; j = t.parent[j] {
			if state[j] == walking {
				return t, fmt.Errorf("%w: message %d: its parents form a cycle", ErrInvalidRecord, j+1)
			}
			state[j] = walking
			walk = append(walk, j)
		}
		for k := len(walk) - 1; k >= 0; k-- {
			state[walk[k]] = placed
			t.order = append(t.order, walk[k])
		}
	}
	if c.ActiveID != "" {
		aid, err := parseID(c.ActiveID)
		a, ok := at[aid.String()]
		if err != nil || !ok {
			return t, fmt.Errorf("%w: active_message_id %q is not a message of this conversation", ErrInvalidRecord, truncate(c.ActiveID, 40))
		}
		t.active = a
	} else if n > 0 {
		t.active = t.order[n-1]
	}
	return t, nil
}

func (s *Store) checkImportFields(c Conversation) (uuid.UUID, error) {
	id, err := parseID(c.ID)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%w: conversation id %q is not a UUID", ErrInvalidRecord, truncate(c.ID, 40))
	}
	if c.StartedAt.IsZero() {
		return id, fmt.Errorf("%w: conversation %s has no started_at", ErrInvalidRecord, id)
	}
	if err := validModel(c.Model); err != nil {
		return id, err
	}
	if err := validTitle(c.Title); err != nil {
		return id, err
	}
	seen := make(map[uuid.UUID]bool, len(c.Messages))
	for i, m := range c.Messages {
		mid, err := parseID(m.ID)
		if err != nil {
			return id, fmt.Errorf("%w: message %d: id %q is not a UUID", ErrInvalidRecord, i+1, truncate(m.ID, 40))
		}
		if seen[mid] {
			return id, fmt.Errorf("%w: message %d: id %s appears twice", ErrInvalidRecord, i+1, mid)
		}
		seen[mid] = true
		if m.ConversationID != "" {
			if cid, err := parseID(m.ConversationID); err != nil || cid != id {
				return id, fmt.Errorf("%w: message %d belongs to conversation %q, not %s", ErrInvalidRecord, i+1, truncate(m.ConversationID, 40), id)
			}
		}
		if m.CreatedAt.IsZero() {
			return id, fmt.Errorf("%w: message %d has no created_at", ErrInvalidRecord, i+1)
		}
		if err := validRole(m.Role); err != nil {
			return id, fmt.Errorf("message %d: %w", i+1, err)
		}
		if err := s.validContent(m.Content); err != nil {
			return id, fmt.Errorf("message %d: %w", i+1, err)
		}
		if _, err := importedStatus(m); err != nil {
			return id, fmt.Errorf("message %d: %w", i+1, err)
		}
		if err := validReply(m.Reply); err != nil {
			return id, fmt.Errorf("message %d: %w", i+1, err)
		}
	}
	return id, nil
}

// importedStatus is the status an imported message is stored with: none
// (a file written before replies had one) is complete, and a reply that
// was streaming when it was exported is interrupted, since no generation
// here will ever finish it.
func importedStatus(m Message) (string, error) {
	switch m.Status {
	case "", StatusComplete:
		return StatusComplete, nil
	case StatusStreaming, StatusInterrupted:
		if m.Role == RoleAssistant {
			return StatusInterrupted, nil
		}
	case StatusStopped, StatusFailed:
		if m.Role == RoleAssistant {
			return m.Status, nil
		}
	default:
		return "", fmt.Errorf("%w: status %q (want streaming, complete, stopped, failed or interrupted)", ErrInvalidRecord, truncate(m.Status, 32))
	}
	return "", fmt.Errorf("%w: a %s message has status %q: only replies have a status other than complete", ErrInvalidRecord, m.Role, m.Status)
}

// validReply checks a reply's metadata as the database's CHECKs would.
func validReply(r Reply) error {
	if err := validModel(r.Model); err != nil {
		return err
	}
	if len(r.FinishReason) > MaxModelBytes {
		return fmt.Errorf("%w: finish_reason of %d bytes, limit %d", ErrInvalidRecord, len(r.FinishReason), MaxModelBytes)
	}
	if err := validText(ErrInvalidRecord, r.FinishReason); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"prompt_tokens", r.PromptTokens}, {"completion_tokens", r.CompletionTokens}, {"first_token_ms", r.FirstTokenMS}, {"duration_ms", r.DurationMS}} {
		if f.v != nil && (*f.v < 0 || *f.v > 1<<31-1) {
			return fmt.Errorf("%w: %s %d (want 0 to 2147483647)", ErrInvalidRecord, f.name, *f.v)
		}
	}
	return nil
}

// ImportConversation stores c as it is — its id, started_at, model, title,
// active leaf and its messages' ids, parents, roles, contents and
// created_at — in one transaction, with seq numbered in the order of
// c.Messages (a parent listed after its child moves before it; see
// importedTree) and message_count set to their number. It reports false,
// and changes nothing, if a conversation with c's id already exists, so
// importing twice is harmless. A rejected import
// stores nothing. Errors: see CheckImport, plus ErrIDConflict.
func (s *Store) ImportConversation(ctx context.Context, c Conversation) (bool, error) {
	id, tree, err := s.checkImportTree(c)
	if err != nil {
		return false, opError("import conversation", err)
	}
	n := len(c.Messages)
	var (
		ids      = make([]pgtype.UUID, n) // see uuidArg
		seqs     = make([]int64, n)
		parents  = make([]pgtype.Int8, n)
		seqOf    = make([]int64, n) // c.Messages index → seq
		active   pgtype.Int8
		roles    = make([]string, n)
		contents = make([]string, n)
		created  = make([]time.Time, n)
		statuses = make([]string, n)
		models   = make([]pgtype.Text, n)
		finishes = make([]pgtype.Text, n)
		counts   [4][]pgtype.Int4
	)
	for k := range counts {
		counts[k] = make([]pgtype.Int4, n)
	}
	for i, k := range tree.order {
		seqOf[k] = int64(i + 1)
	}
	if n > 0 {
		active = pgtype.Int8{Int64: seqOf[tree.active], Valid: true}
	}
	for i, k := range tree.order {
		m := c.Messages[k]
		ids[i] = uuidArg(uuid.MustParse(m.ID))
		seqs[i] = int64(i + 1)
		if p := tree.parent[k]; p >= 0 {
			parents[i] = pgtype.Int8{Int64: seqOf[p], Valid: true}
		}
		roles[i], contents[i], created[i] = m.Role, m.Content, m.CreatedAt
		statuses[i], _ = importedStatus(m)
		models[i] = textArg(m.Model)
		finishes[i] = textArg(m.FinishReason)
		for k, v := range []*int{m.PromptTokens, m.CompletionTokens, m.FirstTokenMS, m.DurationMS} {
			counts[k][i] = intArg(v)
		}
	}
	forked := false // as the append statements keep it (conversations.forked)
	for i := 1; i < n; i++ {
		forked = forked || !parents[i].Valid || parents[i].Int64 != seqs[i]-1
	}
	ctx, cancel := s.opCtx(ctx, "import conversation")
	defer cancel()
	var added bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertImportedConversationSQL, uuidArg(id), c.StartedAt, c.Model, c.Title, int64(n), active, forked)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if n > 0 {
			if _, err := tx.Exec(ctx, insertImportedMessagesSQL, uuidArg(id), ids, seqs, parents, roles, contents, created,
				statuses, models, finishes, counts[0], counts[1], counts[2], counts[3]); err != nil {
				return err
			}
		}
		added = true
		return nil
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation {
		return false, fmt.Errorf("store: import conversation: a message id: %w", ErrIDConflict)
	}
	if err != nil {
		return false, dbError(ctx, "import conversation", err)
	}
	return added, nil
}
