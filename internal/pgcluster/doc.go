// Package pgcluster starts private PostgreSQL clusters from the local
// server binaries (initdb, pg_ctl, postgres).
//
// A cluster lives in its own directory: data/ (PGDATA), server.log, the
// password file and the unix socket. The server listens on 127.0.0.1 with
// scram-sha-256 password auth for the "postgres" superuser, so callers only
// need URL; the unix socket trusts local users (the directory is 0700, so
// only its owner and root reach it). Tests use throwaway clusters
// (Options.Dir == ""), the CLI uses a persistent one for development
// (Options.Dir set).
//
// The server's settings (port, sockets, listen address, Options.Settings)
// live in the cluster's own configuration, data/pgcluster.conf, which
// postgresql.conf includes; a persistent cluster keeps its port. So a
// server started by hand (pg_ctl -D dir/data start) is the same server.
//
// A persistent cluster may be shared by several processes: each holds a
// lease (a flock'd file) while it uses it, and the last one to Close stops
// the server, and only a server pgcluster started (lease.go).
//
// This package is what the binary needs: the dev cluster of advisor serve
// --dev-db and the scratch cluster of migrate --baseline/diff/check. Its
// Close kills a server that will not stop, and Start of a throwaway cluster
// reaps the ones a dead process left behind. Faults on purpose (a hung
// server, a crash, a restart) live in package pgfault, and streaming
// standbys for failover tests in package pgstandby (made by pg_basebackup,
// standby.go); only tests import either.
//
// StartBouncer puts a PgBouncer (the local pgbouncer binary, Debian's
// package) in transaction mode in front of a server, with a wildcard
// database entry and auth_query for every role: how tests run the store
// through a transaction pooler (package pgtest, HWLAB_TEST_POOLER). The
// binary does not use it. KillDB lets go of a database's server
// connections, so that it can be dropped.
//
// PostgreSQL refuses to run as root, so when the process is root the
// binaries run as the "postgres" system user (or "nobody") and the cluster
// directory is chowned to that user; so does pgbouncer, which refuses too.
package pgcluster
