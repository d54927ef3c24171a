package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/uuid"

	"git.georgsen.dk/hwlab/internal/store"
	"git.georgsen.dk/hwlab/internal/wire"
)

func conversationsExport(ctx context.Context, e env, db *dbFlags, out string, force bool) error {
	s, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	total, err := s.CountConversations(ctx)
	if err != nil {
		return err
	}
	w, commit, err := createOutput(e, out)
	if err != nil {
		return err
	}
	defer commit(false) //nolint:errcheck // cleanup after a failure; the success path commits below
	bw := bufio.NewWriterSize(w, 64<<10)
	bar := newProgress(e, total, "exporting", force)
	n := 0
	err = s.ExportConversations(ctx, func(c *store.Conversation) error {
		n++
		bar.add()
		return wire.Write(bw, wire.FromTree(c)) // one record per line, the whole tree
	})
	if err != nil {
		return err
	}
	bar.finish()
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := commit(true); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintf(e.stderr, "exported %d conversation(s) to %s\n", n, out)
	}
	return nil
}

// createOutput opens where an export goes. A file is written under a
// temporary name and renamed into place only when the export is complete,
// so a failed export never leaves a truncated file that looks whole.
func createOutput(e env, path string) (io.Writer, func(ok bool) error, error) {
	if path == "" {
		return e.stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, nil, err
	}
	done := false
	return f, func(ok bool) error {
		if done {
			return nil
		}
		done = true
		if !ok {
			f.Close()
			return os.Remove(f.Name())
		}
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(f.Name())
			return err
		}
		if err := f.Close(); err != nil {
			os.Remove(f.Name())
			return err
		}
		return os.Rename(f.Name(), path)
	}, nil
}

// maxReported is how many bad lines import lists before it only counts.
const maxReported = 20

func conversationsImport(ctx context.Context, e env, db *dbFlags, name string, force bool) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	s, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()

	// Pass 1 validates every line, so a bad file imports nothing at all.
	total, err := checkImportFile(ctx, e, s, f, name)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Pass 2 imports, one transaction per conversation.
	bar := newProgress(e, total, "importing", force)
	var added, skipped int
	err = eachRecord(f, s, func(no int, c store.Conversation, err error) error {
		if err != nil {
			return fmt.Errorf("%s:%d: %v", name, no, err)
		}
		ok, err := s.ImportConversation(ctx, c)
		if err != nil {
			return fmt.Errorf("%s:%d: conversation %s: %w (it was not imported; %d before it were, and a rerun skips them)",
				name, no, c.ID, err, added)
		}
		if ok {
			added++
		} else {
			skipped++
		}
		bar.add()
		return nil
	})
	if err != nil {
		return err
	}
	bar.finish()
	fmt.Fprintf(e.stdout, "Imported %d conversation(s); %d already present, skipped\n", added, skipped)
	return nil
}

// checkImportFile decodes and validates every record, reports each bad line
// by number on stderr, and returns how many records there are. Besides each
// record on its own, it checks the file as a whole: a conversation id or a
// message id used twice in it, and a message id the database already holds
// under another conversation. Either would make the import fail half-way,
// after the lines before had been imported. It keeps every id of the file
// in memory (about 50 bytes per message): the price of refusing up front.
func checkImportFile(ctx context.Context, e env, s *store.Store, r io.Reader, name string) (int, error) {
	var (
		n, bad int
		convs  = map[uuid.UUID]int{} // conversation id → line
		msgs   = map[uuid.UUID]int{} // message id → line
		convOf = map[int]uuid.UUID{} // line → conversation id
	)
	report := func(no int, err error) {
		bad++
		if bad <= maxReported {
			fmt.Fprintf(e.stderr, "%s:%d: %v\n", name, no, err)
		}
	}
	err := eachRecord(r, s, func(no int, c store.Conversation, err error) error {
		n++
		if err == nil {
			err = s.CheckImport(c)
		}
		if err == nil {
			err = fileWideIDs(no, c, convs, msgs)
		}
		if err != nil {
			report(no, err)
			return nil
		}
		convOf[no] = uuid.MustParse(c.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if bad == 0 {
		conflicts, err := storedElsewhere(ctx, s, msgs, convOf)
		if err != nil {
			return 0, err
		}
		for _, c := range conflicts {
			report(c.line, c.err)
		}
	}
	if bad > 0 {
		return 0, fmt.Errorf("%s: %d bad line(s) of %d; nothing was imported", name, bad, n)
	}
	return n, nil
}

// fileWideIDs records c's ids, or says which earlier line already used one.
// CheckImport has validated them, so they parse.
func fileWideIDs(no int, c store.Conversation, convs, msgs map[uuid.UUID]int) error {
	id := uuid.MustParse(c.ID)
	if first, dup := convs[id]; dup {
		return fmt.Errorf("conversation %s already appears on line %d", c.ID, first)
	}
	for _, m := range c.Messages {
		if first, dup := msgs[uuid.MustParse(m.ID)]; dup {
			return fmt.Errorf("message %s already appears on line %d", m.ID, first)
		}
	}
	convs[id] = no
	for _, m := range c.Messages {
		msgs[uuid.MustParse(m.ID)] = no
	}
	return nil
}

// ownerBatch is how many message ids one lookup sends (16 bytes each).
const ownerBatch = 10000

type lineError struct {
	line int
	err  error
}

// storedElsewhere asks the database, a batch at a time, which message ids
// of the file it already holds under a different conversation. The same
// conversation is fine: importing it again skips it. A message added by
// someone else between this check and the import still fails that line
// with ErrIDConflict; nothing can rule that out short of one transaction
// for the whole file.
func storedElsewhere(ctx context.Context, s *store.Store, msgs map[uuid.UUID]int, convOf map[int]uuid.UUID) ([]lineError, error) {
	var out []lineError
	batch := make([]string, 0, ownerBatch)
	flush := func() error {
		owners, err := s.MessageOwners(ctx, batch)
		if err != nil {
			return err
		}
		for mid, owner := range owners {
			line := msgs[uuid.MustParse(mid)]
			if want := convOf[line].String(); owner != want {
				out = append(out, lineError{line, fmt.Errorf("message %s already exists in the database, in conversation %s (here it is in %s)", mid, owner, want)})
			}
		}
		batch = batch[:0]
		return nil
	}
	for mid := range msgs {
		batch = append(batch, mid.String())
		if len(batch) == ownerBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b lineError) int { return a.line - b.line })
	return out, nil
}

// eachRecord calls fn with each record of the JSON Lines in r and its
// 1-based line number, or with the line's *wire.Error, which leaves the
// next line to be read. No value of a line may be longer than the JSON the
// store's largest message needs, so a hostile line costs about that much
// memory, however long it is. It stops at fn's first error, and at a read
// error.
func eachRecord(r io.Reader, s *store.Store, fn func(no int, c store.Conversation, err error) error) error {
	rs := wire.NewRecords(r, wire.MaxMessageJSON(s.MaxContentBytes()))
	for {
		no, c, err := rs.Next()
		var bad *wire.Error
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &bad):
			err = fn(no, store.Conversation{}, bad)
		case err != nil:
			return err
		default:
			err = fn(no, c.Store(), nil)
		}
		if err != nil {
			return err
		}
	}
}
