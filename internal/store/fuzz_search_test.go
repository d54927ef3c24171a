//go:build integration

package store_test

import (
	"context"
	"errors"
	"testing"

	"git.georgsen.dk/hwlab/internal/store"
)

// FuzzSearch feeds the query parser and the statements it drives with
// arbitrary text: the result is hits or ErrInvalidQuery, never another
// error (which the API would answer with 500).
func FuzzSearch(f *testing.F) {
	s := newStore(f)
	conv := mustCreate(f, s, "m")
	mustAdd(f, s, conv, store.RoleUser, "The ZFS scrub on /dev/nvme0n1 found CVE-2024-3094 in zfs-2.2.6 --force")
	for _, q := range []string{
		`zfs scrub`, `"quoted phrase"`, `word*`, `-word`, `--force`, `"unbalanced`, `- * " ""`,
		`'; DROP TABLE messages; --`, `\' & | ! <-> :* ( )`, `'a':* & !b`, "größe", `the`, `-zfs`,
		`"scrub`, `a*b*`, `:*`, `'`, `''`, `\`, `!`, `<2>`, "\x01\x02", `"nvme0n1"*`, `-"-"`,
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		page, err := s.Search(context.Background(), q, "", 5)
		if err != nil && !errors.Is(err, store.ErrInvalidQuery) {
			t.Fatalf("Search(%q) = %v", q, err)
		}
		for _, h := range page.Hits {
			n := len([]rune(h.Snippet))
			for _, m := range h.Highlights {
				if m.Start < 0 || m.End > n || m.Start >= m.End {
					t.Fatalf("Search(%q): highlight %+v outside the snippet of %d characters", q, m, n)
				}
			}
		}
	})
}
