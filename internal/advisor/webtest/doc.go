// Package webtest holds the advisor page's real-browser test: headless
// Debian chromium, driven with chromedp, against the real handler on a fresh
// database and the model stub. It has no code of its own outside tests; the
// test lives in its own package so it has its own TestMain and can be run
// alone (go test -tags integration ./internal/advisor/webtest).
package webtest
