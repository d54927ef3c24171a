package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The matching rule (docs/api.md "Search"), one normalisation for the text
// and the query, both in the database (the search migration):
//
//   - / . _ : - separate words (hwlab_search_text), so a path, host,
//     version or CVE id is a sequence of parts; a term is a phrase of its
//     parts, so `CVE-2024-3094` matches that string wherever it occurs, and
//     `2024` matches it too;
//   - then the hwlab_search configuration: PostgreSQL's default parser,
//     unaccent (ß→ss, ö→o), lower case, the english stemmer and its stop
//     words ("the" alone matches nothing); numbers and words with digits
//     (nvme0n1, sda1, 0x7f) are kept whole;
//   - only the first 200000 characters of a message are indexed, and word
//     positions stop at 16383, so a phrase after about the 16000th word is
//     not found as a phrase (its words still are).

// searchWindow is how many of the newest matching messages (and titles) a
// search ranks; relevance orders hits within them. Ranking every match of
// a word in 10 % of a million messages would read 100000 rows. The window
// is found in two steps that no estimate can lead astray (searchSQL): the
// newest searchWalk messages are read in recency order and tested, which
// finds the window for any query matching about one message in
// searchWalk/searchWindow or more; only when that walk finds fewer are
// older matches taken from the GIN index, which for such a query holds
// few. The planner alone would choose between the two by its estimate,
// which for words that occur together (its estimate multiplies their
// frequencies) can be off by a hundred times.
const (
	searchWindow = 200
	searchWalk   = 2000
)

// snippetChars is the window of a message's text its snippet is cut from:
// ts_headline parses its whole input, and a message may hold 4 MiB.
const snippetChars = 4096

// SearchHit is one search result: a message, or a conversation's title
// (MessageID and Role "").
type SearchHit struct {
	ConversationID    string
	ConversationTitle string
	MessageID, Role   string
	CreatedAt         time.Time // the message's, or the conversation's started_at; UTC
	// Snippet is plain text from the message or title; Highlights are
	// the matched ranges in it.
	Snippet    string
	Highlights []Highlight
}

// Highlight is a range [Start, End) of a snippet, in characters (Unicode
// code points), not bytes.
type Highlight struct{ Start, End int }

// SearchPage is one page of Search.
type SearchPage struct {
	Hits []SearchHit
	// NextCursor fetches the following page; "" when this is the last one.
	NextCursor string
}

// searchTermsSQL turns the parsed terms into one tsquery, as text, and
// says whether any term is positive. Each term goes through the same
// normalisation as the text (phraseto_tsquery over hwlab_search_text); a
// prefix term whose words are all stop words ("the*") falls back to the
// simple configuration, so it still means "words starting with the". The
// tsquery is assembled from tsquery output, which is quoted, never from the
// user's text.
const searchTermsSQL = `
WITH t AS (
	SELECT u.ord, u.prefix, u.negate,
		CASE WHEN u.prefix AND numnode(e.q) = 0
			THEN phraseto_tsquery('simple', public.hwlab_search_text(u.text)) ELSE e.q END AS q
	FROM unnest($1::text[], $2::bool[], $3::bool[]) WITH ORDINALITY AS u(text, prefix, negate, ord),
	LATERAL (SELECT phraseto_tsquery('public.hwlab_search', public.hwlab_search_text(u.text)) AS q) e
)
SELECT coalesce(string_agg(CASE WHEN negate THEN '!(' ELSE '(' END || q::text
		|| CASE WHEN prefix THEN ':*' ELSE '' END || ')', ' & ' ORDER BY ord)::tsquery::text, ''),
	coalesce(bool_or(NOT negate), false), clock_timestamp()
FROM t WHERE numnode(q) > 0`

// searchSQL ranks the newest searchWindow ($7) matching messages (the walk
// of the newest searchWalk ($9), then older ones from the index) and titles
// created up to $2 (the first page's time, kept in the cursor, so pages do
// not shift as messages arrive), keeps the page after the cursor ($3..$5),
// and only for that page reads the text its snippets are cut from. $1 is a
// tsquery constant, not a subquery, so the planner estimates how many rows
// match and picks the walk of the recency index or the GIN index per query.
const searchSQL = `
WITH walk AS MATERIALIZED (
	SELECT m.id, m.conversation_id, m.role, m.created_at, m.search_vector
	FROM messages m
	WHERE m.created_at <= $2
	ORDER BY m.created_at DESC, m.id DESC
	LIMIT $9
), recent AS MATERIALIZED (
	SELECT * FROM walk WHERE search_vector @@ $1::tsquery
	ORDER BY created_at DESC, id DESC
	LIMIT $7
), edge AS (
	SELECT created_at, id FROM walk ORDER BY created_at, id LIMIT 1
), older AS MATERIALIZED (
	SELECT m.id, m.conversation_id, m.role, m.created_at, m.search_vector
	FROM messages m, edge
	WHERE (SELECT count(*) FROM recent) < $7
		AND m.search_vector @@ $1::tsquery AND (m.created_at, m.id) < (edge.created_at, edge.id)
	ORDER BY m.created_at DESC, m.id DESC
	LIMIT $7
), cand AS (
	SELECT * FROM recent
	UNION ALL
	(SELECT * FROM older ORDER BY created_at DESC, id DESC LIMIT greatest($7 - (SELECT count(*) FROM recent), 0))
), tcand AS MATERIALIZED (
	SELECT c.id, c.title, c.started_at
	FROM conversations c
	WHERE public.hwlab_search_vector(c.title) @@ $1::tsquery AND c.started_at <= $2
	ORDER BY c.started_at DESC, c.id DESC
	LIMIT $7
), hits AS (
	SELECT ts_rank(search_vector, $1::tsquery) AS rank, created_at AS at, id AS hit_id, conversation_id, id AS message_id, role
	FROM cand
	UNION ALL
	SELECT ts_rank(setweight(public.hwlab_search_vector(title), 'A'), $1::tsquery), started_at, id, id, NULL::uuid, NULL::text
	FROM tcand
), page AS (
	SELECT * FROM hits
	WHERE $3::real IS NULL OR (rank, at, hit_id) < ($3::real, $4::timestamptz, $5::uuid)
	ORDER BY rank DESC, at DESC, hit_id DESC
	LIMIT $6
)
SELECT p.rank, p.at, p.hit_id, p.conversation_id, c.title, p.message_id, coalesce(p.role, ''), s.text,
	ts_headline('public.hwlab_search', public.hwlab_search_text(s.text), $1::tsquery,
		'StartSel=` + "\x01" + `, StopSel=` + "\x02" + `, HighlightAll=true')
FROM page p
JOIN conversations c ON c.id = p.conversation_id
LEFT JOIN messages m ON m.id = p.message_id
CROSS JOIN LATERAL (SELECT translate(left(coalesce(m.content, c.title), $8), ` + "E'\\x01\\x02'" + `, '  ') AS text) s
ORDER BY p.rank DESC, p.at DESC, p.hit_id DESC`

// Search returns up to limit (1..MaxPageSize) hits for query, best first:
// by relevance (ts_rank; a title counts ten times a message), then newest
// first. All messages of all conversations are searched, complete or not
// (a reply being streamed has no text until it ends). cur is "" for the
// first page, else a NextCursor of the same query. Errors: ErrInvalidQuery
// (blank, over MaxQueryBytes, NUL, invalid UTF-8), ErrInvalidLimit,
// ErrInvalidCursor. A query of stop words or operators only, or of
// exclusions only, has no hits.
func (s *Store) Search(ctx context.Context, query, cur string, limit int) (SearchPage, error) {
	const op = "search"
	if err := validQuery(query); err != nil {
		return SearchPage{}, opError(op, err)
	}
	if limit < 1 || limit > MaxPageSize {
		return SearchPage{}, opError(op, fmt.Errorf("%w: %d (want 1..%d)", ErrInvalidLimit, limit, MaxPageSize))
	}
	var after searchCursor
	if cur != "" {
		var err error
		if after, err = decodeSearchCursor(cur, query); err != nil {
			return SearchPage{}, opError(op, err)
		}
	}
	terms := parseQuery(query)
	page := SearchPage{Hits: []SearchHit{}}
	if len(terms) == 0 {
		return page, nil
	}
	texts, prefix, negate := make([]string, len(terms)), make([]bool, len(terms)), make([]bool, len(terms))
	for i, t := range terms {
		texts[i], prefix[i], negate[i] = t.text, t.prefix, t.negate
	}
	ctx, cancel := s.opCtx(ctx, op)
	defer cancel()
	var (
		tsq      string
		positive bool
		now      time.Time
	)
	if err := s.queryRow(ctx, searchTermsSQL, []any{texts, prefix, negate}, &tsq, &positive, &now); err != nil {
		return SearchPage{}, dbError(ctx, op, err)
	}
	if !positive {
		return page, nil
	}
	// The database's clock, which also dates the messages.
	asOf := now
	if cur != "" {
		asOf = after.asOf
	}
	var rank, afterID any // NULL on the first page
	if cur != "" {
		rank, afterID = after.rank, uuidArg(after.id)
	}
	// QueryExecModeExec: an unnamed statement is planned with $1's value
	// every time; a cached generic plan would not know how common the
	// words are.
	args := []any{pgx.QueryExecModeExec, tsq, asOf, rank, after.at, afterID, limit + 1, s.cfg.searchWindow, snippetChars, s.cfg.searchWalk}
	var last searchCursor
	err := s.queryRows(ctx, searchSQL, args, func(rows pgx.Rows) error {
		var (
			r                    float32
			at                   time.Time
			hitID, convID, msgID pgtype.UUID
			h                    SearchHit
			window, headline     string
		)
		_, err := pgx.ForEachRow(rows, []any{&r, &at, &hitID, &convID, &h.ConversationTitle, &msgID, &h.Role, &window, &headline}, func() error {
			if len(page.Hits) == limit {
				page.NextCursor = last.encode(query)
				return nil
			}
			h.ConversationID = uuid.UUID(convID.Bytes).String()
			h.MessageID = ""
			if msgID.Valid {
				h.MessageID = uuid.UUID(msgID.Bytes).String()
			}
			h.CreatedAt = at.UTC()
			h.Snippet, h.Highlights = snippet(window, headline)
			page.Hits = append(page.Hits, h)
			last = searchCursor{asOf: asOf, rank: r, at: at, id: uuid.UUID(hitID.Bytes)}
			return nil
		})
		return err
	})
	if err != nil {
		return SearchPage{}, dbError(ctx, op, err)
	}
	return page, nil
}

// Marks ts_headline puts around matches; searchSQL blanks them in the text
// first, so any found in its output are its own.
const (
	markStart = "\x01"
	markStop  = "\x02"
)

// Snippet size, in characters: the excerpt starts up to snippetBefore
// characters before the first match and is about snippetLen long.
const (
	snippetBefore = 60
	snippetLen    = 240
)

// snippet cuts the excerpt of a hit from window, the start of the text as
// stored, and marks in it the words that ts_headline marked in headline.
// ts_headline is the one that knows which words match (stemming, accents,
// phrases), but its output is not the text: it drops what its parser takes
// for HTML tags. So only the marked words are taken from it and found again
// in the text, whole words only.
func snippet(window, headline string) (string, []Highlight) {
	words := map[string]bool{}
	for _, part := range strings.Split(headline, markStart)[1:] {
		if w, _, ok := strings.Cut(part, markStop); ok && w != "" {
			words[w] = true
		}
	}
	var ranges [][2]int // byte offsets in window
	for w := range words {
		for at := 0; ; {
			i := strings.Index(window[at:], w)
			if i < 0 {
				break
			}
			start, end := at+i, at+i+len(w)
			if wordBoundary(window, start) && wordBoundary(window, end) {
				ranges = append(ranges, [2]int{start, end})
			}
			at = end
		}
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	from := 0
	if len(ranges) > 0 {
		from = backChars(window, ranges[0][0], snippetBefore)
	}
	to := forwardChars(window, from, snippetLen)
	excerpt := window[from:to]
	var marks []Highlight
	last := from
	for _, r := range ranges {
		if r[0] < last || r[1] > to {
			continue // overlaps the previous mark, or outside the excerpt
		}
		start := utf8.RuneCountInString(window[from:r[0]])
		marks = append(marks, Highlight{Start: start, End: start + utf8.RuneCountInString(window[r[0]:r[1]])})
		last = r[1]
	}
	return excerpt, marks
}

// wordBoundary reports whether byte offset i of s is not inside a word.
func wordBoundary(s string, i int) bool {
	if i == 0 || i == len(s) {
		return true
	}
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[i:])
	return !wordRune(before) || !wordRune(after)
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// backChars moves from byte offset i back by up to n characters, to the
// start of a word.
func backChars(s string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// forwardChars moves from byte offset i forward by up to n characters, to
// the end of a word.
func forwardChars(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

// searchCursor is the position after which a search page starts, and the
// time the first page was read at, which bounds every page's candidates.
type searchCursor struct {
	asOf, at time.Time
	rank     float32
	id       uuid.UUID
}

const searchCursorVersion = "s1"

// encode binds the cursor to the query (a hash of it), so a cursor handed
// to another query is ErrInvalidCursor instead of a page of nonsense.
func (c searchCursor) encode(query string) string {
	raw := strings.Join([]string{searchCursorVersion,
		strconv.FormatInt(c.asOf.UnixMicro(), 10),
		strconv.FormatUint(uint64(math.Float32bits(c.rank)), 16),
		strconv.FormatInt(c.at.UnixMicro(), 10),
		c.id.String(),
		strconv.FormatUint(uint64(queryHash(query)), 16),
	}, ":")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeSearchCursor(s, query string) (searchCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return searchCursor{}, fmt.Errorf("%w: not base64url", ErrInvalidCursor)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 6 || parts[0] != searchCursorVersion {
		return searchCursor{}, fmt.Errorf("%w: unknown format", ErrInvalidCursor)
	}
	asOf, err1 := strconv.ParseInt(parts[1], 10, 64)
	bits, err2 := strconv.ParseUint(parts[2], 16, 32)
	at, err3 := strconv.ParseInt(parts[3], 10, 64)
	id, err4 := uuid.Parse(parts[4])
	hash, err5 := strconv.ParseUint(parts[5], 16, 32)
	rank := math.Float32frombits(uint32(bits))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || len(parts[4]) != 36 ||
		math.IsNaN(float64(rank)) || math.IsInf(float64(rank), 0) {
		return searchCursor{}, fmt.Errorf("%w: malformed", ErrInvalidCursor)
	}
	if uint32(hash) != queryHash(query) {
		return searchCursor{}, fmt.Errorf("%w: issued for another query", ErrInvalidCursor)
	}
	return searchCursor{asOf: time.UnixMicro(asOf).UTC(), rank: rank, at: time.UnixMicro(at).UTC(), id: id}, nil
}

func queryHash(q string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(q))
	return h.Sum32()
}
