package pgtest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// MainLeakChecked is Main plus a goroutine leak check: after every test has
// run and the throwaway server is stopped, any goroutine still alive (other
// than those opts ignore) fails the run with its stack. Use it in packages
// whose code must clean up after itself, e.g. a store whose Close must stop
// every pool goroutine.
//
//	func TestMain(m *testing.M) { pgtest.MainLeakChecked(m) }
func MainLeakChecked(m *testing.M, opts ...goleak.Option) {
	code := run(m)
	if code == 0 {
		// goleak.Find retries for a while, so goroutines that are already
		// on their way out (a closing connection, say) are not reported.
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
