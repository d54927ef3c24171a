package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseQuery: the query parser never panics and never loops; each term
// is non-blank text taken from the query, in order, holding no quote when
// it was quoted. Seeds: f.Add below.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`zfs scrub`, `"quoted phrase"`, `word*`, `-word`, `--force`, `-"not this"`, `"unbalanced`,
		`a"b"c`, `- * " "" -"" **`, `nvme0n1 /etc/fstab 192.168.1.10 zfs-2.2.6 CVE-2024-3094`,
		`'; DROP TABLE messages; --`, "größe\u00a0GRÖSSE", "\xff\xfe", `-`, `"`, `*`, `-"`, `""*`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms := parseQuery(q)
		if len(terms) > len(q) {
			t.Fatalf("%d terms from %d bytes", len(terms), len(q))
		}
		rest := q
		for _, term := range terms {
			if strings.TrimSpace(term.text) == "" {
				t.Fatalf("blank term %+v from %q", term, q)
			}
			i := strings.Index(rest, term.text)
			if i < 0 {
				t.Fatalf("term %q is not text of %q (in order)", term.text, q)
			}
			rest = rest[i+len(term.text):]
			if term.phrase && strings.Contains(term.text, `"`) {
				t.Fatalf("quoted term holds a quote: %+v", term)
			}
			if utf8.ValidString(q) && !utf8.ValidString(term.text) {
				t.Fatalf("term %q of valid %q is not valid UTF-8", term.text, q)
			}
		}
	})
}
