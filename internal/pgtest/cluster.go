// This file holds the cluster mode of package pgtest: with
// REDSHIFTSYNC_REDSHIFT_DSN set, the source-side tests that create their
// fixtures through the source (OpenSource, OpenRedshiftSource) read a real
// Redshift cluster, and the others say why they cannot (NotOnCluster, or
// SourceDSN's skip).

package pgtest

import (
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"
)

// EnvRedshiftCluster names the variable holding the postgres:// URL of a
// real Redshift cluster (or of anything that answers as one: scripts/test
// points it at the stand-in to prove the mode). When it is set, the
// source-side tests run in cluster mode: those whose fixtures go through
// the source (OpenSource, OpenRedshiftSource) create schemas and tables on
// it, with Redshift's DDL and DML only, read them, and drop the schemas in
// their Cleanup; the others are skipped, each with its reason.
const EnvRedshiftCluster = "REDSHIFTSYNC_REDSHIFT_DSN"

// Cluster reports whether the tests run in cluster mode (see
// EnvRedshiftCluster).
func Cluster() bool { return os.Getenv(EnvRedshiftCluster) != "" }

// throughSource holds the names of the tests that create their fixtures
// through the source (OpenSource and OpenRedshiftSource register them):
// in cluster mode SourceDSN gives the cluster to these only.
var throughSource sync.Map

func register(tb testing.TB) {
	throughSource.Store(tb.Name(), true)
	tb.Cleanup(func() { throughSource.Delete(tb.Name()) })
}

// registered reports whether tb, or the test it is a subtest of, creates
// its fixtures through the source.
func registered(tb testing.TB) bool {
	name := tb.Name()
	for {
		if _, ok := throughSource.Load(name); ok {
			return true
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return false
		}
		name = name[:i]
	}
}

// clusterSkip is the reason SourceDSN gives in cluster mode to a test whose
// fixtures are on the test server.
const clusterSkip = "cluster mode (" + EnvRedshiftCluster + "): this test creates its fixtures on the test PostgreSQL " +
	"(pgtest.Open), which the cluster cannot read; pgtest.OpenSource with Redshift-compatible SQL would let it run there"

// OpenSource returns the database a source-side test creates its fixtures
// on, so that the source it reads (SourceDSN) holds them: the cluster in
// cluster mode, else the test server itself (Open; SourceDSN may then be
// the stand-in in front of it). Its fixtures must then be SQL that Redshift
// accepts: no generate_series in an INSERT (Values builds the rows), no
// index, no PostgreSQL-only type or function.
func OpenSource(tb testing.TB) *sql.DB {
	tb.Helper()
	register(tb)
	if Cluster() {
		return OpenDSN(tb, os.Getenv(EnvRedshiftCluster))
	}
	return Open(tb)
}

// OpenSourceSchema is OpenSchema on OpenSource's database: a new schema
// (dropped with everything in it in the test's Cleanup) and setup run in
// it, formatted with the schema as %[1]s.
func OpenSourceSchema(tb testing.TB, setup string) (db *sql.DB, schema string) {
	tb.Helper()
	db = OpenSource(tb)
	return db, setUp(tb, db, setup)
}

// OpenRedshiftSource is OpenSource for the tests that always read a
// Redshift source (the TestRedshiftStandin* tests): the database their
// fixtures go to, and the URL they read (RedshiftSourceDSN). Outside
// cluster mode the fixtures go to the test server directly (with the
// stand-in's schema and domains installed in its database first, which the
// stand-in does at a client's first connection), the reads through the
// stand-in.
func OpenRedshiftSource(tb testing.TB) (db *sql.DB, dsn string) {
	tb.Helper()
	register(tb)
	if Cluster() {
		dsn = os.Getenv(EnvRedshiftCluster)
		return OpenDSN(tb, dsn), dsn
	}
	dsn = RedshiftDSN(tb)
	Exec(tb, OpenDSN(tb, dsn), "SELECT 1")
	return Open(tb), dsn
}

// NotOnCluster skips the test in cluster mode, giving reason: what it needs
// of a PostgreSQL source that a cluster does not offer (pg_sleep to hold a
// transaction, pg_terminate_backend, roles and grants made by the test,
// the stand-in's own fixtures). Outside cluster mode it does nothing.
func NotOnCluster(tb testing.TB, reason string) {
	tb.Helper()
	if Cluster() {
		tb.Skip("skipped in cluster mode (" + EnvRedshiftCluster + "): " + reason)
	}
}

// Values returns n rows for an INSERT … VALUES, row(i) giving the
// parenthesised list of row i (1 to n), separated by commas: the
// Redshift-compatible form of INSERT … SELECT … FROM generate_series, which
// Redshift runs on its leader node only and so refuses to insert from.
func Values(n int, row func(i int) string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(",\n")
		}
		b.WriteString(row(i))
	}
	return b.String()
}
