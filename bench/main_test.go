//go:build bench

package bench

import (
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

// TestMain starts (or finds, via HWLAB_TEST_DATABASE_URL) a PostgreSQL
// server the way the database tests do.
func TestMain(m *testing.M) { pgtest.Main(m) }
