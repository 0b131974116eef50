// This file holds the integration tests of package pgtest; they need the
// server that scripts/test starts (they skip without it, or fail under
// REDSHIFTSYNC_REQUIRE_DB).

package pgtest

import (
	"database/sql"
	"os"
	"slices"
	"testing"

	"github.com/lib/pq"
)

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
		if n := QueryValue[int](t, db, "SELECT count(*) FROM "+pq.QuoteIdentifier(schema)+".t"); n != 10 {
			t.Errorf("count = %d, want 10", n)
		}
	})
	if QueryValue[bool](t, db, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema) {
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
	if QueryValue[bool](t, db, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database) {
		t.Errorf("database %s is still there after its test's Cleanup", database)
	}
}

// TestFailsOnError: each helper that runs a statement fails the test when
// the statement fails (or, for QueryValue, selects no row).
func TestFailsOnError(t *testing.T) {
	db := Open(t)
	for name, call := range map[string]func(tb testing.TB){
		"Exec":        func(tb testing.TB) { Exec(tb, db, "SELECT * FROM no_such_table_pgtest") },
		"QueryValue":  func(tb testing.TB) { QueryValue[int](tb, db, "SELECT * FROM no_such_table_pgtest") },
		"QueryValue0": func(tb testing.TB) { QueryValue[int](tb, db, "SELECT 1 WHERE false") },
		"QueryColumn": func(tb testing.TB) { QueryColumn[int](tb, db, "SELECT * FROM no_such_table_pgtest") },
	} {
		ft := &fakeTB{TB: t}
		func() {
			defer func() { _ = recover() }() // fakeTB.Fatalf panics to stop like FailNow
			call(ft)
		}()
		if !ft.failed {
			t.Errorf("%s did not fail the test on a bad statement", name)
		}
	}
}

func TestQuery(t *testing.T) {
	db := Open(t)
	if got := QueryValue[string](t, db, "SELECT $1::text || 'b'", "a"); got != "ab" {
		t.Errorf("QueryValue = %q, want \"ab\"", got)
	}
	if got := QueryColumn[int64](t, db, "SELECT generate_series(1, $1::int)", 3); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("QueryColumn = %v, want [1 2 3]", got)
	}
	if got := QueryColumn[string](t, db, "SELECT 'x' WHERE false"); len(got) != 0 {
		t.Errorf("QueryColumn of no rows = %v", got)
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
	if n := QueryValue[int](t, fresh, "SELECT count(*) FROM "+s+".t"); n != 2 {
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
