package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxQueryBytes is the longest search query accepted, in bytes.
const MaxQueryBytes = 1024

// queryTerm is one term of a search query: a word, a "quoted phrase", a
// word* prefix, each possibly -negated. The database turns each into a
// tsquery (searchTermsSQL); the parser only splits the text, so nothing the
// user types is ever read as tsquery syntax.
type queryTerm struct {
	text   string
	phrase bool // quoted; the database treats every term as a phrase of its parts anyway
	prefix bool
	negate bool
}

// validQuery is what Search refuses with ErrInvalidQuery: a blank query,
// one over MaxQueryBytes, NUL bytes, invalid UTF-8.
func validQuery(q string) error {
	switch {
	case len(q) > MaxQueryBytes:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidQuery, len(q), MaxQueryBytes)
	case strings.IndexByte(q, 0) >= 0:
		return fmt.Errorf("%w: NUL byte", ErrInvalidQuery)
	case !utf8.ValidString(q):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidQuery)
	case strings.TrimSpace(q) == "":
		return fmt.Errorf("%w: empty", ErrInvalidQuery)
	}
	return nil
}

// parseQuery splits a query into terms. The syntax is websearch's, plus
// prefixes:
//
//	words        each word must occur (AND), in any order
//	"a phrase"   the words adjacent, in order
//	word*        a word that starts with word
//	-word        excludes word (also -"a phrase"); "--force" is the text --force
//
// Whatever does not fit is text: an unbalanced quote is dropped, a lone -
// or * is no term. parseQuery never fails.
func parseQuery(q string) []queryTerm {
	var terms []queryTerm
	for i := 0; i < len(q); {
		r, n := utf8.DecodeRuneInString(q[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		var t queryTerm
		// A single - right before a word or quote negates; "--x" and "- x" do not.
		if r == '-' && i+1 < len(q) && q[i+1] != '-' && !startsWithSpace(q[i+1:]) {
			t.negate = true
			i++
		}
		if q[i] == '"' {
			if end := strings.IndexByte(q[i+1:], '"'); end >= 0 {
				t.text, t.phrase = q[i+1:i+1+end], true
				i += end + 2
				terms = appendTerm(terms, t)
				continue
			}
			i++ // an unbalanced quote is no operator
			if i >= len(q) || startsWithSpace(q[i:]) {
				continue
			}
		}
		end := i
		for end < len(q) {
			r, n := utf8.DecodeRuneInString(q[end:])
			if unicode.IsSpace(r) || r == '"' {
				break
			}
			end += n
		}
		word := q[i:end]
		if end == i { // a quote right after the word's start
			end++
		}
		i = end
		if trimmed := strings.TrimRight(word, "*"); trimmed != word {
			word, t.prefix = trimmed, true
		}
		t.text = word
		terms = appendTerm(terms, t)
	}
	return terms
}

func appendTerm(terms []queryTerm, t queryTerm) []queryTerm {
	if strings.TrimSpace(t.text) == "" {
		return terms
	}
	return append(terms, t)
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}
