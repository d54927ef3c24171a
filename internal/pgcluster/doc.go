// Package pgcluster starts private PostgreSQL clusters from the local
// server binaries (initdb, pg_ctl, postgres).
//
// A cluster lives in its own directory: data/ (PGDATA), server.log, the
// password file and the unix socket. The server listens on 127.0.0.1 with
// scram-sha-256 password auth for the "postgres" superuser, so callers only
// need URL. Tests use throwaway clusters (Options.Dir == ""), the CLI uses a
// persistent one for development (Options.Dir set).
//
// This package is what the binary needs: the dev cluster of advisor serve
// --dev-db and the scratch cluster of migrate --baseline/diff/check. Its
// Close kills a server that will not stop, and Start of a throwaway cluster
// reaps the ones a dead process left behind. Faults on purpose (a hung
// server, a crash, a restart) live in package pgfault, which only tests
// import.
//
// PostgreSQL refuses to run as root, so when the process is root the
// binaries run as the "postgres" system user (or "nobody") and the cluster
// directory is chowned to that user.
package pgcluster
