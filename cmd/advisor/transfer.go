package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"git.georgsen.dk/hwlab/internal/store"
)

func conversationsExport(ctx context.Context, e env, args []string) error {
	fs := newFlags("conversations export", e)
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	out := fs.String("out", "", "file to write (default: stdout)")
	force := fs.Bool("progress", false, "always show a progress bar on stderr")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("conversations export takes no arguments, got %q", pos)
	}
	s, err := openStore(ctx, e, *url)
	if err != nil {
		return err
	}
	defer s.Close()
	total, err := s.CountConversations(ctx)
	if err != nil {
		return err
	}
	w, commit, err := createOutput(e, *out)
	if err != nil {
		return err
	}
	defer commit(false) //nolint:errcheck // cleanup after a failure; the success path commits below
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw) // one record per line; Encode adds the newline
	bar := newProgress(e, total, "exporting", *force)
	n := 0
	err = s.ExportConversations(ctx, func(c *store.Conversation) error {
		n++
		bar.add()
		return enc.Encode(toJSONConversation(c))
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
	if *out != "" {
		fmt.Fprintf(e.stderr, "exported %d conversation(s) to %s\n", n, *out)
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

// maxLine bounds one JSON Lines record: a conversation of the default 4 MiB
// messages would need many of them to come close.
const maxLine = 1 << 30

// maxReported is how many bad lines import lists before it only counts.
const maxReported = 20

func conversationsImport(ctx context.Context, e env, args []string) error {
	fs := newFlags("conversations import", e)
	url := fs.String("url", "", "database URL (default $HWLAB_DATABASE_URL)")
	force := fs.Bool("progress", false, "always show a progress bar on stderr")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("conversations import needs exactly one FILE")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := openStore(ctx, e, *url)
	if err != nil {
		return err
	}
	defer s.Close()

	// Pass 1 validates every line, so a bad file imports nothing at all.
	total, err := checkImportFile(e, s, f, pos[0])
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// Pass 2 imports, one transaction per conversation.
	bar := newProgress(e, total, "importing", *force)
	var added, skipped int
	err = eachLine(f, func(no int, line []byte) error {
		c, err := decodeLine(line)
		if err != nil {
			return fmt.Errorf("%s:%d: %v", pos[0], no, err)
		}
		ok, err := s.ImportConversation(ctx, c)
		if err != nil {
			return fmt.Errorf("%s:%d: conversation %s: %w (it was not imported; %d before it were, and a rerun skips them)",
				pos[0], no, c.ID, err, added)
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
// by number on stderr, and returns how many records there are.
func checkImportFile(e env, s *store.Store, r io.Reader, name string) (int, error) {
	var (
		n, bad int
		ids    = map[string]int{}
	)
	err := eachLine(r, func(no int, line []byte) error {
		n++
		c, err := decodeLine(line)
		if err == nil {
			err = s.CheckImport(c)
		}
		if err == nil {
			if first, dup := ids[c.ID]; dup {
				err = fmt.Errorf("conversation %s already appears on line %d", c.ID, first)
			} else {
				ids[c.ID] = no
			}
		}
		if err != nil {
			bad++
			if bad <= maxReported {
				fmt.Fprintf(e.stderr, "%s:%d: %v\n", name, no, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if bad > 0 {
		return 0, fmt.Errorf("%s: %d bad line(s) of %d; nothing was imported", name, bad, n)
	}
	return n, nil
}

// eachLine calls fn with each non-blank line and its 1-based number.
func eachLine(r io.Reader, fn func(no int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for no := 1; ; no++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			if ferr := fn(no, line); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", no, err)
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			return nil, fmt.Errorf("longer than %d bytes", maxLine)
		}
		buf = append(buf, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}
