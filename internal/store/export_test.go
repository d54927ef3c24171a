package store

// WithSearchWindow shrinks Search's window and walk, so a test can reach
// past them with a few messages.
func WithSearchWindow(window, walk int) Option {
	return func(c *config) { c.searchWindow, c.searchWalk = window, walk }
}
