//go:build integration

package webtest

import (
	"testing"

	"git.georgsen.dk/hwlab/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
