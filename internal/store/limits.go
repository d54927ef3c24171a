package store

// MaxContentBytes is the largest message content this store accepts
// (WithMaxContentBytes, else DefaultMaxContentBytes). A server sizes its
// request body limit from it.
func (s *Store) MaxContentBytes() int { return s.cfg.maxContentBytes }
