// This file holds the connection helpers of package pgtest: DSN, Open,
// OpenDSN, Exec, QueryValue, QueryColumn, NewSchema, OpenSchema and
// NewDatabase, and the environment variables they read (cluster.go holds
// the cluster mode's).

// Package pgtest gives integration tests a real PostgreSQL server: the one
// that scripts/test (through scripts/lib/pg.sh) starts and describes in the
// REDSHIFTSYNC_TEST_* environment variables.
//
// Without a server the helpers skip the test, so that a plain `go test ./...`
// passes on a machine without PostgreSQL; with REDSHIFTSYNC_REQUIRE_DB set
// (scripts/test and CI set it) they fail it instead, so that a broken setup
// cannot pass as a green run of skipped tests.
//
// Every object a helper creates (schema, database, connection pool) is
// removed in the test's Cleanup.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync/internal/redact"
)

// Environment variables read by this package; scripts/lib/pg.sh sets all but
// EnvRequireDB, which scripts/test sets.
const (
	// EnvDSN names the variable holding the URL of the test server, like
	// postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable. The user
	// must be allowed to create schemas and databases.
	EnvDSN = "REDSHIFTSYNC_TEST_DSN"

	// EnvRequireDB names the variable that, when non-empty, turns a missing
	// server (or a missing EnvPGCtl) into a test failure instead of a skip.
	EnvRequireDB = "REDSHIFTSYNC_REQUIRE_DB"

	// EnvPGCtl names the variable holding the path of an executable that
	// runs pg_ctl on the test server with its data directory, log and OS
	// user filled in: "$REDSHIFTSYNC_TEST_PGCTL stop -m fast" and so on.
	EnvPGCtl = "REDSHIFTSYNC_TEST_PGCTL"

	// EnvPGData names the variable holding the test server's data directory.
	EnvPGData = "REDSHIFTSYNC_TEST_PGDATA"
)

// skipMessage is the reason given when a test is skipped for want of a server.
const skipMessage = "integration test needs PostgreSQL: run ./scripts/test, or set " + EnvDSN

// opTimeout bounds the setup and cleanup statements of this package, so that
// a hung server fails the test instead of hanging it until go test's timeout.
const opTimeout = 2 * time.Minute

// DSN returns the URL of the test server, from REDSHIFTSYNC_TEST_DSN. When
// that is unset, it skips the test, or fails it when REDSHIFTSYNC_REQUIRE_DB
// is set. Call it from the test's goroutine.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequireDB) != "" {
			tb.Fatalf("%s is set, but %s is empty: no PostgreSQL for this integration test "+
				"(run ./scripts/test, which starts one, or set %s)", EnvRequireDB, EnvDSN, EnvDSN)
		}
		tb.Skip(skipMessage)
	}
	return dsn
}

// URL returns the test server's URL (see DSN), parsed: a copy the test may
// change, to connect as another role or with other parameters.
func URL(tb testing.TB) *url.URL {
	tb.Helper()
	u, err := url.Parse(DSN(tb))
	if err != nil {
		tb.Fatalf("pgtest: %s is not a URL: %v", EnvDSN, redact.Error(err, DSN(tb)))
	}
	return u
}

// Open connects to the test server (see DSN) with the lib/pq "postgres"
// driver, checks the connection with a ping, and closes the pool in the
// test's Cleanup.
func Open(tb testing.TB) *sql.DB {
	tb.Helper()
	return OpenDSN(tb, DSN(tb))
}

// OpenDSN is Open for a given URL, such as one returned by NewDatabase.
func OpenDSN(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatalf("pgtest: open %q: %v", redact.DSN(dsn), redact.Error(err, dsn))
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		tb.Fatalf("pgtest: ping %q: %v", redact.DSN(dsn), redact.Error(err, dsn))
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// Exec runs query with args on db and fails the test on error. Call it from
// the test's goroutine.
func Exec(tb testing.TB, db *sql.DB, query string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, query, args...); err != nil {
		tb.Fatalf("pgtest: exec %s: %v", abbreviate(query), err)
	}
}

// QueryValue returns the one value that query (run with args on db)
// selects, scanned into a T, and fails the test on error (no row included).
// Call it from the test's goroutine.
func QueryValue[T any](tb testing.TB, db *sql.DB, query string, args ...any) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var v T
	if err := db.QueryRowContext(ctx, query, args...).Scan(&v); err != nil {
		tb.Fatalf("pgtest: query %s: %v", abbreviate(query), err)
	}
	return v
}

// QueryColumn returns the values, in order, of the one column that query
// (run with args on db) selects, and fails the test on error. Call it from
// the test's goroutine.
func QueryColumn[T any](tb testing.TB, db *sql.DB, query string, args ...any) []T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		tb.Fatalf("pgtest: query %s: %v", abbreviate(query), err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			tb.Fatalf("pgtest: query %s: %v", abbreviate(query), err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("pgtest: query %s: %v", abbreviate(query), err)
	}
	return out
}

// NewSchema creates a schema with a unique name in db's database and drops it,
// with everything in it, in the test's Cleanup. The name is "t_", the test's
// name in lower case with anything but letters and digits turned into "_",
// and a random suffix: a plain identifier of at most 63 bytes, which needs no
// quoting (quoting it does no harm either).
func NewSchema(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	name := uniqueName("t_", tb.Name())
	Exec(tb, db, "CREATE SCHEMA "+pq.QuoteIdentifier(name))
	dropAtCleanup(tb, db, "DROP SCHEMA IF EXISTS "+pq.QuoteIdentifier(name)+" CASCADE")
	return name
}

// OpenSchema is the usual start of a test: Open, NewSchema, and Exec of
// setup, the statements that create the test's tables, formatted with
// fmt.Sprintf(setup, schema) so that %[1]s names the schema (a literal %
// is written %%). An empty setup runs nothing.
func OpenSchema(tb testing.TB, setup string) (db *sql.DB, schema string) {
	tb.Helper()
	db = Open(tb)
	return db, setUp(tb, db, setup)
}

// setUp creates a schema in db's database (NewSchema) and runs setup in it,
// as OpenSchema describes.
func setUp(tb testing.TB, db *sql.DB, setup string) (schema string) {
	tb.Helper()
	schema = NewSchema(tb, db)
	if setup != "" {
		Exec(tb, db, fmt.Sprintf(setup, schema))
	}
	return schema
}

// dropAtCleanup runs the statement drop in the test's Cleanup, failing the
// test when it cannot. A test that restarted the server leaves dead
// connections in the pool: each failed attempt discards one, so it tries a
// few times.
func dropAtCleanup(tb testing.TB, db *sql.DB, drop string) {
	tb.Cleanup(func() {
		err := retry(func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, drop)
			return err
		})
		if err != nil {
			tb.Errorf("pgtest: %s: %v", drop, err)
		}
	})
}

// NewDatabase creates a database with a unique name (see NewSchema for its
// shape, with "d_" in front) on the test server, and returns a URL for it: the
// test server's URL with the database replaced. The database is dropped in the
// test's Cleanup, with WITH (FORCE) so that connections still open to it do
// not keep it alive.
func NewDatabase(tb testing.TB) (dsn string) {
	tb.Helper()
	return inDatabase(tb, DSN(tb), newDatabase(tb))
}

// newDatabase creates the database of NewDatabase and returns its name.
func newDatabase(tb testing.TB) string {
	tb.Helper()
	admin := OpenDSN(tb, DSN(tb))
	name := uniqueName("d_", tb.Name())
	// template0 is never connected to, so concurrent tests cannot make
	// CREATE DATABASE fail with "source database is being accessed".
	Exec(tb, admin, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE template0 ENCODING 'UTF8'")
	dropAtCleanup(tb, admin, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	return name
}

// inDatabase returns dsn with its database replaced by name, failing the
// test when dsn cannot be read.
func inDatabase(tb testing.TB, dsn, name string) string {
	tb.Helper()
	out, err := withDatabase(dsn, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return out
}

// OpenIsolated is OpenSchema in a database of the test's own (NewDatabase),
// for a test whose assertions no other test's session may disturb: one
// that counts the rows an incremental sync re-reads, which a transaction in
// progress in the same database (another package's test holding one open)
// rightly makes the watermark hold back. It returns the database (opened on
// the test server itself), the schema, and the URL a source-side test reads
// that database through (see SourceDSN: the stand-in's when the source is
// Redshift).
func OpenIsolated(tb testing.TB, setup string) (db *sql.DB, schema, sourceDSN string) {
	tb.Helper()
	name := newDatabase(tb)
	db = OpenDSN(tb, inDatabase(tb, DSN(tb), name))
	return db, setUp(tb, db, setup), inDatabase(tb, SourceDSN(tb), name)
}

// withDatabase returns dsn with its database replaced by name. dsn is a
// postgres:// or postgresql:// URL, or a libpq key=value string.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// key=value form: a later key overrides an earlier one.
	return strings.TrimSpace(dsn) + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(name) + "'", nil
}

// retry runs f up to 5 times, each with its own timeout, until it succeeds.
func retry(f func(ctx context.Context) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err = f(ctx)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// maxIdentifier is PostgreSQL's limit on identifier length, in bytes
// (NAMEDATALEN-1).
const maxIdentifier = 63

// uniqueName returns prefix + sanitize(testName) + "_" + 8 random hex digits,
// cut to at most maxIdentifier bytes.
func uniqueName(prefix, testName string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("pgtest: crypto/rand: " + err.Error())
	}
	suffix := "_" + hex.EncodeToString(b[:])
	room := maxIdentifier - len(prefix) - len(suffix)
	base := sanitize(testName)
	if len(base) > room {
		base = strings.TrimRight(base[:room], "_")
	}
	if base == "" {
		base = "test"
	}
	return prefix + base + suffix
}

// sanitize lower-cases s and turns each run of characters other than a-z and
// 0-9 into one "_", trimming "_" at both ends. The result is ASCII only.
func sanitize(s string) string {
	var b strings.Builder
	pendingUnderscore := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pendingUnderscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingUnderscore = false
			b.WriteRune(r)
			continue
		}
		pendingUnderscore = true
	}
	return b.String()
}

// abbreviate shortens a statement for an error message.
func abbreviate(query string) string {
	q := strings.Join(strings.Fields(query), " ")
	if len(q) > 200 {
		q = q[:200] + "..."
	}
	return q
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago: a place for a private server to listen, or one where a
// connection is refused.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// EnvRedshiftDSN names the variable holding the URL of a Redshift stand-in
// (internal/cmd/redshift-standin) in front of the test server; scripts/test
// starts one (scripts/lib/standin.sh) and sets it.
const EnvRedshiftDSN = "REDSHIFTSYNC_TEST_REDSHIFT_DSN"

// EnvSource names the variable that picks the source SourceDSN returns:
// "redshift" for the stand-in, anything else for the test server itself.
// scripts/test sets it for its second run of the source-side tests.
const EnvSource = "REDSHIFTSYNC_TEST_SOURCE"

// RedshiftDSN returns the URL of the Redshift stand-in, from
// REDSHIFTSYNC_TEST_REDSHIFT_DSN, skipping the test without it (failing it
// when REDSHIFTSYNC_REQUIRE_DB is set). Its user and database are the test
// server's.
func RedshiftDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvRedshiftDSN)
	if dsn == "" {
		if os.Getenv(EnvRequireDB) != "" {
			tb.Fatalf("%s is set, but %s is empty: no Redshift stand-in for this test (run ./scripts/test, which starts one)", EnvRequireDB, EnvRedshiftDSN)
		}
		tb.Skip("integration test needs the Redshift stand-in: run ./scripts/test, or set " + EnvRedshiftDSN)
	}
	return dsn
}

// SourceDSN returns the URL a source-side test reads from: the stand-in's
// (RedshiftDSN) when REDSHIFTSYNC_TEST_SOURCE is "redshift", else the test
// server's (DSN). Setup and checks keep using Open, the server itself, or
// OpenSource. In cluster mode (REDSHIFTSYNC_REDSHIFT_DSN, see Cluster) it
// returns the cluster's URL to a test that made its fixtures through
// OpenSource, and skips any other test, saying why.
func SourceDSN(tb testing.TB) string {
	tb.Helper()
	if Cluster() {
		if !registered(tb) {
			tb.Skip(clusterSkip)
		}
		return os.Getenv(EnvRedshiftCluster)
	}
	if os.Getenv(EnvSource) == "redshift" {
		return RedshiftDSN(tb)
	}
	return DSN(tb)
}
