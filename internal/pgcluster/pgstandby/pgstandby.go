// Package pgstandby makes a streaming standby of a pgcluster.Cluster, for
// tests of what a client does when the primary dies and a standby takes
// over. Only tests import it, like pgfault (whose Kill is the primary's
// death): the advisor binary starts single clusters and never replicates
// one, and TestNotInTheBinary proves it does not depend on this package.
//
// Making the standby synchronous, and what must happen on promotion, is
// the caller's business, in SQL, as it is an operator's (README, "HA"):
// this package only copies and starts.
package pgstandby

import (
	"context"

	"git.georgsen.dk/hwlab/internal/pgcluster"
	"git.georgsen.dk/hwlab/internal/pgcluster/internal/control"
)

// Start makes a throwaway hot standby of the running cluster primary with
// pg_basebackup -R -X stream and starts it on a port of its own; it
// streams the primary's WAL from then on. opts is as for pgcluster.Start,
// except that Dir must be empty. The standby's superuser password is the
// primary's (the catalog is copied), so URL works on it as on any cluster;
// Close stops and removes it.
func Start(ctx context.Context, primary *pgcluster.Cluster, opts pgcluster.Options) (*pgcluster.Cluster, error) {
	s, err := control.Of(primary).Standby(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s.(*pgcluster.Cluster), nil
}
