package pgsink_test

// This file tests that the sink never harms a table it did not create: a
// destination that is the source is refused before any DDL, an existing
// table is written only when the sink created it or the state names it, and
// a resync copy cannot take the name of a real table.

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// TestDestinationIsSource: a sink whose destination is the source database
// refuses the run before any DDL: the source tables keep their oids, their
// triggers and their rows, and nothing is created in that database. Loading
// into another schema of the same database is allowed. The source is a
// database of the test's own, so that nothing is left in a shared one.
func TestDestinationIsSource(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	mustExec(t, db, `CREATE SCHEMA src;
CREATE TABLE src.k (code text, n int); INSERT INTO src.k SELECT 'c' || i, i FROM generate_series(1, 50) i;
CREATE TABLE src.p (id int PRIMARY KEY, v text); INSERT INTO src.p SELECT i, 'v' || i FROM generate_series(1, 50) i;
CREATE FUNCTION src.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER keep_me BEFORE INSERT ON src.k FOR EACH ROW EXECUTE FUNCTION src.f();`)
	// Every relation and schema of the database, with its oid and
	// triggers.
	catalog := func() string {
		t.Helper()
		var s string
		err := db.QueryRow(`SELECT string_agg(n.nspname || '.' || c.relname || ' oid ' || c.oid || ' triggers ' ||
	(SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = c.oid), ', ' ORDER BY n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := catalog()
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = "src"
	cfg.EnableCompleteResync = true

	sink, err := pgsink.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	rep, err := runSync(t, cfg, sink, sink.StateStore())
	if !errors.Is(err, redshiftsync.ErrDestinationIsSource) {
		t.Fatalf("dest = source: err = %v, report %+v", err, rep)
	}
	if !strings.Contains(err.Error(), `"src"`) || !strings.Contains(err.Error(), "another database") {
		t.Errorf("the error does not name the schema and what to do: %v", err)
	}
	if after := catalog(); after != before {
		t.Errorf("the database changed:\n before %s\n  after %s", before, after)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM src.k`); n != 50 {
		t.Errorf("the source table holds %d rows, want 50", n)
	}

	// Another schema of the same database: the source is not touched.
	sink2, err := pgsink.Open(dsn, pgsink.WithSchema("copy"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink2.Close()
	if _, err := runSync(t, cfg, sink2, sink2.StateStore()); err != nil {
		t.Fatalf("into schema copy of the source database: %v", err)
	}
	if n := queryInt(t, db, `SELECT (SELECT count(*) FROM copy.k) + (SELECT count(*) FROM copy.p)`); n != 100 {
		t.Errorf("the copies hold %d rows, want 100", n)
	}
	if n := queryInt(t, db, `SELECT count(*) FROM pg_trigger WHERE tgrelid = 'src.k'::regclass AND tgname = 'keep_me'`); n != 1 {
		t.Error("the source table's trigger is gone")
	}
	after := catalog()
	for _, rel := range strings.Split(before, ", ") {
		if !strings.Contains(after, rel) {
			t.Errorf("%s changed: %s", rel, after)
		}
	}
}

// TestTableNotCreatedBySink: an existing destination table that the sink did
// not create and the state does not name is refused, and left as it was;
// tables that a state names (loaded by a version without the registry) are
// adopted and registered, and a resync then replaces them as before.
func TestTableNotCreatedBySink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text); INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 30) i;
CREATE TABLE %[1]s.k (code text, n int); INSERT INTO %[1]s.k SELECT 'c' || i, i FROM generate_series(1, 30) i;`, e.schema)
	mustExec(t, e.dst, `CREATE SCHEMA %[1]s; CREATE TABLE %[1]s.k (code text, n int, mine text); INSERT INTO %[1]s.k VALUES ('keep', 1, 'of the user');`, e.schema)
	cfg := e.config(t)
	cfg.MaxParallelWorkers = 1 // k fails, t is never reached or finishes: either way the refusal is k's

	sink := e.newSink(t)
	_, err := runSync(t, cfg, sink, sink.StateStore())
	if !errors.Is(err, pgsink.ErrNotOwned) || !strings.Contains(err.Error(), sqlident.Qualified(e.schema, "k")) {
		t.Fatalf("a table the sink did not create: err = %v, want ErrNotOwned naming it", err)
	}
	var rows string
	if err := e.dst.QueryRow(`SELECT string_agg(code || n || mine, ',') FROM ` + sqlident.Qualified(e.schema, "k")).Scan(&rows); err != nil || rows != "keep1of the user" {
		t.Errorf("the user's table changed: %q, %v", rows, err)
	}

	// A destination loaded before the registry existed: the state names
	// its tables, the registry is empty.
	mustExec(t, e.dst, `DROP TABLE %s.k`, e.schema)
	e.sync(t, cfg, sink, sink.StateStore())
	mustExec(t, e.dst, `DELETE FROM public.redshiftsync_tables`)
	oldOID := queryInt(t, e.dst, `SELECT $1::regclass::oid`, e.schema+".k")
	mustExec(t, e.src, `INSERT INTO %s.k VALUES ('new', 31)`, e.schema)
	e.sync(t, cfg, e.newSink(t), sink.StateStore())
	e.compareAll(t, cfg, "adopted", false)
	for _, name := range []string{"t", "k"} {
		if !pgtest.QueryValue[bool](t, e.dst, `SELECT EXISTS (SELECT 1 FROM public.redshiftsync_tables WHERE relid = $1::regclass)`, e.schema+"."+name) {
			t.Errorf("the adopted table %s is not registered", name)
		}
	}
	if queryInt(t, e.dst, `SELECT $1::regclass::oid`, e.schema+".k") == oldOID {
		t.Error("the keyless table was not resynced (replaced)")
	}
	if n := queryInt(t, e.dst, `SELECT count(*) FROM public.redshiftsync_tables`); n != 2 {
		t.Errorf("the registry holds %d tables, want 2 (the replaced table's entry moved to its successor)", n)
	}
}

// TestResyncCopyCannotClash: source tables t and t__rs_resync (the name
// older versions gave t's resync copy), synced in full twice: both land,
// equal to the source, and no copy is left.
func TestResyncCopyCannotClash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text); INSERT INTO %[1]s.t SELECT i, 't' || i FROM generate_series(1, 40) i;
CREATE TABLE %[1]s.t__rs_resync (id int PRIMARY KEY, w text); INSERT INTO %[1]s.t__rs_resync SELECT i, 'r' || i FROM generate_series(1, 25) i;
CREATE TABLE %[1]s.k (code text); INSERT INTO %[1]s.k SELECT 'k' || i FROM generate_series(1, 10) i;
CREATE TABLE %[1]s.k__rs_resync (code text); INSERT INTO %[1]s.k__rs_resync SELECT 'r' || i FROM generate_series(1, 5) i;`, e.schema)
	cfg := e.config(t)
	cfg.EnableCompleteResync = true
	sink := e.newSink(t)
	for run := range 2 {
		rep, err := runSync(t, cfg, sink, sink.StateStore())
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if len(rep.Tables) != 4 {
			t.Fatalf("run %d synced %d tables, want 4", run+1, len(rep.Tables))
		}
		e.compareAll(t, cfg, "run "+string(rune('1'+run)), false)
		mustExec(t, e.src, `UPDATE %[1]s.t__rs_resync SET w = w || '+'; INSERT INTO %[1]s.k__rs_resync VALUES ('more')`, e.schema)
	}
	if n := queryInt(t, e.dst, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, pgsink.ResyncSchema); n != 0 {
		t.Errorf("%d resync copies left", n)
	}
}
