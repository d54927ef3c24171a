package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestUnavailable: the driver's and the network's ways of saying "the
// database cannot be reached or did not answer in time" all become
// ErrUnavailable, so callers match one sentinel; a cancelled context and
// other database errors do not.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w (timeout)", context.DeadlineExceeded), true},
		{&pgconn.ConnectError{Config: &pgconn.Config{}}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{driver.ErrBadConn, true},
		{io.ErrUnexpectedEOF, true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		// The client went away during a connect: not the database's fault.
		{fmt.Errorf("%w: %w", context.Canceled, &pgconn.ConnectError{Config: &pgconn.Config{}}), false},
		{&pgconn.PgError{Code: "23505"}, false},
		{errors.New("pq: password=hunter2 failed"), false},
	} {
		err := dbError(ctx, "list", tc.err)
		if got := errors.Is(err, ErrUnavailable); got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%v: ErrUnavailable %v, want %v (%v)", tc.err, got, tc.want, err)
		}
	}
	// The caller's context expiring counts, whatever the driver made of it.
	expired, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	if err := dbError(expired, "list", errors.New("conn closed")); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
}
