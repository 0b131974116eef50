// This file holds the integration tests of package pgtest; they need the
// server that scripts/test starts (they skip without it, or fail under
// REDSHIFTSYNC_REQUIRE_DB).

package pgtest

import (
	"database/sql"
	"os"
	"testing"

	"github.com/lib/pq"
)

// exists reports whether query (which selects one boolean) is true.
func exists(t *testing.T, db *sql.DB, query string, args ...any) bool {
	t.Helper()
	var ok bool
	if err := db.QueryRow(query, args...).Scan(&ok); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return ok
}

func TestOpenSchemaDatabase(t *testing.T) {
	db := Open(t)
	var schema, database string

	t.Run("schema", func(t *testing.T) {
		schema = NewSchema(t, db)
		if !plainIdentifier.MatchString(schema) {
			t.Errorf("schema name %q is not a plain identifier", schema)
		}
		Exec(t, db, "CREATE TABLE "+schema+".t (id bigint primary key, v text)")
		Exec(t, db, "INSERT INTO "+schema+".t SELECT i, 'v' || i FROM generate_series(1, $1::int) i", 10)
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + pq.QuoteIdentifier(schema) + ".t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 10 {
			t.Errorf("count = %d, want 10", n)
		}
	})
	if exists(t, db, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema) {
		t.Errorf("schema %s is still there after its test's Cleanup", schema)
	}

	t.Run("database", func(t *testing.T) {
		dsn := NewDatabase(t)
		other := OpenDSN(t, dsn)
		if err := other.QueryRow("SELECT current_database()").Scan(&database); err != nil {
			t.Fatal(err)
		}
		if !plainIdentifier.MatchString(database) {
			t.Errorf("database name %q is not a plain identifier", database)
		}
		// A schema in the new database, dropped before the database is.
		s := NewSchema(t, other)
		Exec(t, other, "CREATE TABLE "+s+".t (id int)")
		// An extra connection left open: DROP DATABASE ... WITH (FORCE) ends it.
		conn, err := sql.Open("postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Ping(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
	})
	if database == "" {
		t.Fatal("no database name")
	}
	if exists(t, db, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database) {
		t.Errorf("database %s is still there after its test's Cleanup", database)
	}
}

func TestExecFailsOnError(t *testing.T) {
	db := Open(t)
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }() // fakeTB.Fatalf panics to stop like FailNow
		Exec(ft, db, "SELECT * FROM no_such_table_pgtest")
	}()
	if !ft.failed {
		t.Error("Exec did not fail the test on a bad statement")
	}
}

// fakeTB records Fatalf instead of failing the real test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

// TestRestartServer stops and starts the shared server, which ends the
// sessions of every test running at the time, in any package. So it only runs
// when asked for: REDSHIFTSYNC_PGTEST_RESTART=1 scripts/test -run TestRestartServer ./internal/pgtest/
func TestRestartServer(t *testing.T) {
	if os.Getenv("REDSHIFTSYNC_PGTEST_RESTART") == "" {
		t.Skip("restarts the shared server: set REDSHIFTSYNC_PGTEST_RESTART=1 to run it")
	}
	db := Open(t)
	s := NewSchema(t, db)
	Exec(t, db, "CREATE TABLE "+s+".t (id int)")
	Exec(t, db, "INSERT INTO "+s+".t VALUES (1), (2)")

	RestartServer(t)
	fresh := Open(t)
	var n int
	if err := fresh.QueryRow("SELECT count(*) FROM " + s + ".t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("after restart: count = %d, want 2", n)
	}

	StopServer(t)
	if err := fresh.Ping(); err == nil {
		t.Error("ping succeeded while the server was stopped")
	}
	StartServer(t)
	if err := OpenDSN(t, DSN(t)).Ping(); err != nil {
		t.Errorf("ping after StartServer: %v", err)
	}

	t.Run("stop without start", func(t *testing.T) {
		StopServer(t) // its Cleanup must start the server again
	})
	if err := OpenDSN(t, DSN(t)).Ping(); err != nil {
		t.Errorf("the server is not running after StopServer's Cleanup: %v", err)
	}
	// NewSchema's Cleanup then drops the schema through db, whose pooled
	// connection died in the restarts: its retries must cope.
}
