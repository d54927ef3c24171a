package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/peterldowns/pgtestdb"

	"git.georgsen.dk/hwlab/internal/pgcluster"
)

// clusterConfig is the pgtestdb admin config of a pgcluster.
func clusterConfig(c *pgcluster.Cluster) pgtestdb.Config {
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       "127.0.0.1",
		Port:       strconv.Itoa(c.Port()),
		User:       "postgres",
		Password:   c.Password(),
		Database:   "postgres",
		Options:    "sslmode=disable",
	}
}

// configFromURL turns HWLAB_TEST_DATABASE_URL into a pgtestdb admin config.
// pgconn fills in defaults (port, user, .pgpass) the way every pgx client
// would; the URL's query (sslmode etc.) is kept as pgtestdb's Options.
func configFromURL(raw string) (pgtestdb.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Never echo raw: it holds the password.
		return pgtestdb.Config{}, errors.New("not a postgres:// URL")
	}
	pc, err := pgconn.ParseConfig(raw)
	if err != nil {
		return pgtestdb.Config{}, err // pgconn redacts the password
	}
	q := u.Query()
	host := pc.Host
	if strings.HasPrefix(host, "/") {
		// A unix socket directory cannot be the host part of the URL
		// pgtestdb formats, so pass it as a query parameter.
		q.Set("host", host)
		host = ""
	}
	if !q.Has("sslmode") && pc.TLSConfig == nil {
		q.Set("sslmode", "disable")
	}
	// pgtestdb formats user:password@ without escaping, so escape here.
	user, pass, _ := strings.Cut(url.UserPassword(pc.User, pc.Password).String(), ":")
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       host,
		Port:       strconv.Itoa(int(pc.Port)),
		User:       user,
		Password:   pass,
		Database:   pc.Database,
		Options:    q.Encode(),
	}, nil
}

// checkServer connects and verifies the user may create databases, so that a
// misconfigured URL fails once with a clear message instead of in every test.
func checkServer(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var user string
	var canCreate bool
	err = conn.QueryRow(ctx,
		"SELECT rolname, rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user").
		Scan(&user, &canCreate)
	if err != nil {
		return err
	}
	if !canCreate {
		return fmt.Errorf("user %s may not CREATE DATABASE (needs CREATEDB, and CREATEROLE unless role %s exists)",
			user, pgtestdb.DefaultRoleUsername)
	}
	return nil
}
