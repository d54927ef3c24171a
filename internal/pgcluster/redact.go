package pgcluster

import (
	"bytes"
	"io"
	"os"
	"strings"

	"git.georgsen.dk/hwlab/internal/secret"
)

// redact masks the password in err's message. The server log and pg_ctl
// output quoted in errors echo settings and command lines, so anything that
// reaches the caller goes through here.
func redact(err error, password string) error {
	s := &secret.Set{}
	s.AddPassword(password)
	return s.Error(err)
}

// lastLines returns at most n trailing lines of b, indented for embedding in
// an error message.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// logSize returns the current size of the log, so that logSince can quote
// only what one server start wrote.
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns the log written after offset, at most the last 16 KiB.
func logSince(path string, offset int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const max = 16 << 10
	if size := logSize(path); size-offset > max {
		offset = size - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, max))
	return bytes.TrimSpace(b)
}
