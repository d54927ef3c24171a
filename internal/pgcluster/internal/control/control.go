// Package control hands the operations that only fault injection and
// failover tests need from pgcluster to pgfault and pgstandby without
// exporting them from pgcluster. Being
// internal to pgcluster, it can be imported by pgcluster's own packages
// only, so pgcluster.Cluster's API stays what the binary uses (Start, Stop,
// Close, URL), and the binary, which imports neither, cannot reach
// Freeze, Kill, Restart or Standby.
package control

import (
	"context"
	"syscall"
)

// Cluster is a pgcluster.Cluster seen by pgfault. Each method holds the
// cluster's lock.
type Cluster interface {
	// Signal sends sig to the running postmaster and its children (see
	// proc.SignalTree) and returns their pids; none when no server runs.
	Signal(sig syscall.Signal) ([]int, error)
	// Kill SIGKILLs the server and waits until it is gone, leaving the data
	// for Restart to recover.
	Kill() error
	// Restart stops the server if it runs and starts it on the same port.
	Restart(ctx context.Context) error
	// Standby starts a throwaway streaming standby of the running cluster,
	// made by pg_basebackup. opts is a pgcluster.Options (Dir empty), the
	// result a *pgcluster.Cluster.
	Standby(ctx context.Context, opts any) (any, error)
}

// Of returns the Cluster view of a *pgcluster.Cluster. pgcluster sets it
// when it is initialised; any other argument panics.
var Of func(cluster any) Cluster
