//go:build integration

package store_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"git.georgsen.dk/hwlab/internal/pgtest"
	"git.georgsen.dk/hwlab/internal/store"
)

func pgtestURL(t testing.TB) string { return pgtest.Migrated(t) }

// TestNewStoreErrorHidesPassword: whatever goes wrong, the error text does
// not carry the password.
func TestNewStoreErrorHidesPassword(t *testing.T) {
	t.Parallel()
	const secret = "Sup3r-s3cret_pw"
	good, err := url.Parse(pgtest.Migrated(t))
	if err != nil {
		t.Fatal(err)
	}
	wrongPW := *good
	wrongPW.User = url.UserPassword(good.User.Username(), secret)
	closedPort := wrongPW
	closedPort.Host = "127.0.0.1:1"
	noUser := wrongPW
	noUser.User = url.UserPassword("no_such_user", secret)
	dsns := map[string]string{
		"wrong password":   wrongPW.String(),
		"closed port":      closedPort.String(),
		"unknown user":     noUser.String(),
		"bad port syntax":  "postgres://u:" + secret + "@127.0.0.1:notaport/db",
		"broken URL":       "postgres://u:" + secret + "@[::1/db",
		"key=value":        "host=127.0.0.1 port=1 user=u password=" + secret + " dbname=x connect_timeout=2",
		"quoted key=value": "host=127.0.0.1 port=1 user=u password='" + secret + " x' dbname=x",
		"bad option":       "host=127.0.0.1 user=u password=" + secret + " sslmode=bogus",
	}
	for name, dsn := range dsns {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := store.NewStore(ctx, dsn)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("%s: NewStore succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), url.QueryEscape(secret)) {
			t.Errorf("%s: error leaks the password: %v", name, err)
		}
	}
}
