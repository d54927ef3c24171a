//go:build integration

package webtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTimeout bounds one browser's whole life in the test. It is a safety
// net against a hung browser, not synchronisation: every step waits for a
// condition in the page. TestBrowser takes 8 s alone and took 128 s inside
// `make test` on the 2-core machine, with a dozen browsers and every other
// package's PostgreSQL running at once, so the net is far above that.
const browserTimeout = 8 * time.Minute

// chromiumPath finds Debian's chromium. Without it the test skips loudly on
// a workstation and fails in CI (CI is set by .ci/run), where it must run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: the advisor's real-browser test needs Debian's chromium (apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so this test must run and may not skip")
	}
	// A skipped browser test should not go unnoticed, but go test keeps a
	// passing package's output to itself unless -v is given; so the
	// warning also goes to the terminal, when there is one.
	banner := fmt.Sprintf("\n*** SKIPPING THE BROWSER TEST: %s ***\n\n", msg)
	fmt.Fprint(os.Stderr, banner)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprint(tty, banner)
		tty.Close()
	}
	t.Skip(msg)
	return ""
}

// browser is one running chromium with one tab.
type browser struct {
	ctx     context.Context // the tab's
	close   func()          // closes the browser and waits for it to exit
	errors  *pageErrors
	profile string // its user-data-dir, which names its processes
}

// newBrowser starts a headless chromium with a fresh profile (its own
// user-data-dir) and opens a tab. The flags keep it off the network,
// which on CI machines is closed: no QUIC, no component updates, no sync,
// no background requests.
func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(profile),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1280, 800),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout)
	closed := false
	closeBrowser := func() {
		if closed {
			return
		}
		closed = true
		cancelTimeout()
		cancelTab()
		cancelAlloc() // kills the process and waits for it
	}
	// Registered after t.TempDir, so it runs first: the browser is gone
	// before its profile directory is removed.
	t.Cleanup(closeBrowser)
	// Start it now, so a browser that cannot start fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", execPath, err)
	}
	return &browser{ctx: ctx, close: closeBrowser, errors: watchConsole(t, ctx), profile: profile}
}
