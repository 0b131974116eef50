package pgsink_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// env is a source schema on the test server and a fresh destination
// database on the same server.
type env struct {
	src    *sql.DB
	schema string
	dstDSN string
	dst    *sql.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	src := pgtest.Open(t)
	schema := pgtest.NewSchema(t, src)
	dsn := pgtest.NewDatabase(t)
	return &env{src: src, schema: schema, dstDSN: dsn, dst: pgtest.OpenDSN(t, dsn)}
}

// config returns the configuration that syncs the env's source schema.
func (e *env) config(t *testing.T) redshiftsync.Config {
	t.Helper()
	cfg, err := redshiftsync.ConfigFromURL(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = e.schema
	cfg.BatchSize = 1000
	cfg.CheckpointEveryRows = 2500
	cfg.MaxParallelWorkers = 4
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sync runs one sync of the env's source schema into sink, keeping the
// state in store.
func (e *env) sync(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore) *redshiftsync.Report {
	t.Helper()
	_, rep := e.syncWith(t, cfg, sink, store)
	return rep
}

// syncWith runs one sync like sync, with options, and also returns the
// (closed) extractor, for its Stats.
func (e *env) syncWith(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) (*redshiftsync.Extractor, *redshiftsync.Report) {
	t.Helper()
	ex, rep, err := synctest.Run(t, cfg, sink, store, opts...)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return ex, rep
}

// runSync runs one sync into sink and returns its report and error.
func runSync(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore) (*redshiftsync.Report, error) {
	t.Helper()
	_, rep, err := synctest.Run(t, cfg, sink, store)
	return rep, err
}

// tables returns the source tables as the extractor discovers them.
func (e *env) tables(t *testing.T, cfg redshiftsync.Config) []*redshiftsync.Table {
	t.Helper()
	ex := synctest.New(t, cfg, redshiftsync.SinkFuncs{WriteFunc: func(context.Context, redshiftsync.Batch) error { return nil }}, &redshiftsync.MemoryStore{})
	defer ex.Close() // on return, not at the test's end
	var out []*redshiftsync.Table
	for _, p := range synctest.Discover(t, ex).Plans {
		out = append(out, p.Table)
	}
	return out
}

// compareAll checks that every source table of cfg is in the destination
// exactly (see compareTable).
func (e *env) compareAll(t *testing.T, cfg redshiftsync.Config, stage string, nativeIntervals bool) {
	t.Helper()
	for _, tbl := range e.tables(t, cfg) {
		compareTable(t, e.src, e.dst, tbl, tbl.Schema, stage, nativeIntervals)
	}
}

// compareTable checks that the destination table dstSchema.<name> holds
// exactly the rows of the source table tbl: every row, every column, read
// with an independent query on each side. Each row is read as a JSON array
// of its columns (json_build_array), which keeps NULL apart from "", keeps
// char padding, prints numbers, floats (NaN, -0), dates (BC, infinity) and
// timestamps in full; JSON source columns are compared as jsonb (which the
// destination stores), text-like source types as their text.
func compareTable(t *testing.T, src, dst *sql.DB, tbl *redshiftsync.Table, dstSchema, stage string, nativeIntervals bool) {
	t.Helper()
	var srcCols, dstCols []string
	for _, c := range tbl.Columns {
		q := sqlident.Quote(c.Name)
		dstCols = append(dstCols, q)
		switch {
		case c.Type == redshiftsync.TypeJSON:
			q += "::jsonb"
		case c.Type == redshiftsync.TypeInterval && !nativeIntervals:
			q += "::text"
		case c.Type == redshiftsync.TypeString && !strings.HasPrefix(c.SourceType, "character(") && c.SourceType != "character":
			q += "::text"
		}
		srcCols = append(srcCols, q)
	}
	order := "1"
	if len(tbl.PrimaryKey) > 0 {
		order = sqlident.List(tbl.PrimaryKey)
	}
	// Fast path: the same number of rows and the same MD5 of all of them,
	// in key order, on both sides. Otherwise read them to show the rows
	// that differ.
	digest := func(db *sql.DB, schema string, cols []string) string {
		row := "json_build_array(" + strings.Join(cols, ", ") + ")::text"
		by := order
		if len(tbl.PrimaryKey) == 0 {
			by = row
		}
		q := "SELECT count(*) || ':' || coalesce(md5(string_agg(" + row + ", E'\\n' ORDER BY " + by + ")), '') FROM " + sqlident.Qualified(schema, tbl.Name)
		var d string
		if err := db.QueryRow(q).Scan(&d); err != nil {
			t.Fatalf("%s: %s: %v", stage, q, err)
		}
		return d
	}
	if digest(src, tbl.Schema, srcCols) == digest(dst, dstSchema, dstCols) {
		return
	}
	read := func(db *sql.DB, schema string, cols []string) []string {
		q := "SELECT json_build_array(" + strings.Join(cols, ", ") + ")::text FROM " + sqlident.Qualified(schema, tbl.Name) + " ORDER BY " + order
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %s: %v", stage, q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := read(src, tbl.Schema, srcCols)
	got := read(dst, dstSchema, dstCols)
	if len(want) != len(got) {
		t.Errorf("%s: table %s: destination has %d rows, source %d", stage, tbl.QualifiedName(), len(got), len(want))
	}
	bad := 0
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			if bad < 5 {
				t.Errorf("%s: table %s row %d:\n source %s\n   dest %s", stage, tbl.QualifiedName(), i, want[i], got[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: table %s: %d rows differ", stage, tbl.QualifiedName(), bad)
	}
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	return pgtest.QueryValue[sql.NullInt64](t, db, q, args...).Int64
}

// exists reports whether relation schema.name exists in db.
func exists(t *testing.T, db *sql.DB, schema, name string) bool {
	t.Helper()
	return pgtest.QueryValue[bool](t, db, `SELECT to_regclass($1) IS NOT NULL`, sqlident.Qualified(schema, name))
}

// stateDoc returns the state saved by sink's store.
func stateDoc(t *testing.T, store *pgsink.StateStore) *redshiftsync.StateView {
	t.Helper()
	return synctest.LoadState(t, store)
}

// flushState calls s.FlushState with doc and what doc records of tbl, as
// the extractor does; a doc that cannot be read has no entry (nil).
func flushState(ctx context.Context, s *pgsink.Sink, tbl *redshiftsync.Table, doc []byte) error {
	var entry *redshiftsync.TableView
	if st, err := redshiftsync.InspectState(doc); err == nil {
		entry = st.Tables[tbl.QualifiedName()]
	}
	return s.FlushState(ctx, tbl, entry, doc)
}

// newSink returns a sink on the env's destination, closed in Cleanup.
func (e *env) newSink(t *testing.T, opts ...pgsink.Option) *pgsink.Sink {
	t.Helper()
	s, err := pgsink.New(e.dst, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openSink returns a new sink (see newSink) on which tbl is open.
func (e *env) openSink(t *testing.T, tbl *redshiftsync.Table, opts ...pgsink.Option) *pgsink.Sink {
	t.Helper()
	s := e.newSink(t, opts...)
	if err := s.Open(context.Background(), tbl); err != nil {
		t.Fatal(err)
	}
	return s
}

// idValueTable is the table s.<name> of the sink tests that write by hand:
// columns id bigint and v text, with the primary key id when keyed.
func idValueTable(name string, keyed bool) *redshiftsync.Table {
	tbl := &redshiftsync.Table{Schema: "s", Name: name, Columns: []redshiftsync.Column{
		{Name: "id", Type: redshiftsync.TypeLong}, {Name: "v", Type: redshiftsync.TypeString}}}
	if keyed {
		tbl.PrimaryKey = []string{"id"}
	}
	return tbl
}

// mustExec runs statements on db.
func mustExec(t *testing.T, db *sql.DB, format string, args ...any) {
	t.Helper()
	pgtest.Exec(t, db, fmt.Sprintf(format, args...))
}

// newStateStore returns pgsink.NewStateStore(db, opts...), failing the test
// on error.
func newStateStore(t *testing.T, db *sql.DB, opts ...pgsink.Option) *pgsink.StateStore {
	t.Helper()
	s, err := pgsink.NewStateStore(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
