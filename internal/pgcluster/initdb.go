package pgcluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
)

const passwordAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newPassword is a variable so tests can plant a known password and check it
// never leaks into errors.
var newPassword = randomPassword

// randomPassword returns 24 random alphanumerics: about 143 bits, and safe to
// put into a URL without escaping.
func randomPassword() (string, error) {
	b := make([]byte, 24)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b[i] = passwordAlphabet[n.Int64()]
	}
	return string(b), nil
}

// initdb creates the cluster in l.data. The password must already be in
// l.pwFile, readable by the user initdb runs as.
func initdb(ctx context.Context, r *runner, l layout, logf func(string, ...any)) error {
	var errs []error
	// C.UTF-8 sorts like C but understands UTF-8 characters; not every libc
	// has it, so fall back to plain C.
	for _, locale := range []string{"C.UTF-8", "C"} {
		logf("pgcluster: initdb %s (locale %s)", l.data, locale)
		out, err := r.command(ctx, l.base, "initdb",
			"-D", l.data,
			"-U", "postgres",
			"--auth-local=trust",
			"--auth-host=scram-sha-256",
			"--pwfile="+l.pwFile,
			"-E", "UTF8",
			"--locale="+locale,
			"--no-sync", // a lost cluster is recreated, not recovered; saves seconds
		).CombinedOutput()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("initdb --locale=%s: %w\n%s", locale, err, lastLines(out, 15)))
		// initdb removes what it made on failure, but be sure before retrying.
		_ = os.RemoveAll(l.data)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("pgcluster: initdb failed: %w", errors.Join(errs...))
}
