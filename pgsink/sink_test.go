package pgsink_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// typesTable creates schema.types: one column of every source type the
// destination maps, with edge values (NULLs, NaN and infinities, BC and far
// future dates, 38-digit decimals, bytes that need escaping, text with tabs,
// newlines, backslashes and quotes, JSON null, duplicate JSON keys) and a few
// thousand ordinary rows.
const typesTable = `
CREATE TABLE %[1]s.types (
	id int PRIMARY KEY,
	b boolean, sm smallint, i integer, l bigint,
	d numeric(38,10), dn numeric, r real, f double precision,
	dt date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
	by bytea, tx text, vc varchar(20), ch char(5), u uuid, arr int[], j json, jb jsonb
);
INSERT INTO %[1]s.types VALUES
(1, true, -32768, -2147483648, -9223372036854775808, '1234567890123456789012345678.1234567890', 'NaN', 'NaN', 'NaN',
 'infinity', '00:00:00', '00:00:00+00', 'infinity', 'infinity', '1 year 2 mons 3 days 04:05:06.789',
 '\x', '', '', '', '00000000-0000-0000-0000-000000000000', '{}', 'null', 'null'),
(2, false, 32767, 2147483647, 9223372036854775807, '-0.0000000001', '1e-50', 'Infinity', 'Infinity',
 '-infinity', '23:59:59.999999', '23:59:59.999999+14', '-infinity', '-infinity', '-1 days +02:03:04',
 '\x00ff0a0d095c', E'tab\there\nnew\\line "q" ''s'' \r end', 'ab', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '{1,NULL,3}', '{"b":1,"a":[1,2.50,"x"],"a":3}', '{"k":[1,{"z":null}],"n":1e400}'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, true, 0, 0, 0, 0, '123456789012345678901234567890123456789012345678901234567890.123456789', '-Infinity', '-Infinity',
 '0044-03-15 BC', '12:00:00.5', '12:34:56.789+05:30', '0044-03-15 12:34:56.789012 BC', '0044-03-15 12:34:56.789012+00 BC', '0',
 decode(repeat('ff00', 500), 'hex'), E'ünïcödé 🎉 \\ backslash \\N', 'x', 'x    ', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '{{1,2},{3,4}}', '"just a string"', '[]'),
(5, false, 1, 1, 1, 1, '-0', '-0', '-0',
 '294276-12-31', '24:00:00', '24:00:00-12', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', '178000000 years',
 '\x5c4e', 'text', repeat('z', 20), 'abcde', NULL, '{NULL}', '{"a":"\u00e9\n", "nested": {"deep": [true, false, null]}}', '{"a": "é"}'),
(6, true, 2, 2, 2, 0.1, 0.1, 3.4028235e38, 1.7976931348623157e308,
 '2024-02-29', '13:45:01.123456', '13:45:01+02', '2024-02-29 12:00:00.000001', '2024-03-31 01:30:00.5+02', '1 day 00:00:00.000001',
 '\x0a', '\N', 'NULL', 'N', NULL, '{-1}', '1e2', '0.1'),
(7, false, 3, 3, 3, -0.5, 12345.678, 1.4e-45, 5e-324,
 '4713-01-01 BC', '00:00:00.000001', '00:00:00.000001-01', '4713-01-01 00:00:00 BC', '4713-01-02 00:00:00+00 BC', '-178000000 years',
 '\x09', E'\t', E'\n', ' ', NULL, NULL, '{"x": 1.0000000000000000000001}', '{"x": 1.0000000000000000000001}');
INSERT INTO %[1]s.types
SELECT i, i %% 2 = 0, i %% 32000, i * 7919, i::bigint * 104729 * 1000003, (i * 1.0000000001)::numeric(38,10), i / 7.0,
       (i / 3.0)::real, i / 3.0::float8, date '2000-01-01' + i, time '00:00:00' + i * interval '1.000001 second',
       (time '00:00:00' + i * interval '1 second')::timetz, timestamp '2024-01-01' + i * interval '1.000001 second',
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1.5 second', i * interval '1 minute',
       decode(md5(i::text), 'hex'), 'row ' || i || repeat(E'\\', i %% 3), 'v' || i, 'c' || (i %% 100), md5(i::text)::uuid,
       ARRAY[i, i + 1], json_build_object('i', i, 's', 'x' || i), jsonb_build_object('i', i)
FROM generate_series(8, 3000) i;`

func TestSyncIncrementalResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.schema
	mustExec(t, e.src, typesTable, s)
	mustExec(t, e.src, `
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(18,4), updated_at timestamp NOT NULL);
INSERT INTO %[1]s.orders SELECT i, 'new', i * 1.25, timestamp '2024-01-01' + (i / 10) * interval '1 second' FROM generate_series(1, 20000) i;
CREATE INDEX ON %[1]s.orders (updated_at, id);
CREATE TABLE %[1]s.nokey (code text, n int);
INSERT INTO %[1]s.nokey SELECT 'c' || (i %% 50), i FROM generate_series(1, 500) i;
INSERT INTO %[1]s.nokey VALUES ('dup', 1), ('dup', 1), (NULL, NULL);
CREATE TABLE %[1]s."Mixed ""Quoted""; --" ("Key Col" int PRIMARY KEY, "Val ""x""" text, "select" text);
INSERT INTO %[1]s."Mixed ""Quoted""; --" SELECT i, 'v' || i, 's' || i FROM generate_series(1, 100) i;
ANALYZE;`, s)
	cfg := e.config(t)
	sink := e.newSink(t)
	store := sink.StateStore()

	rep := e.sync(t, cfg, sink, store)
	modes := map[string]redshiftsync.Mode{}
	for _, tr := range rep.Tables {
		modes[strings.TrimPrefix(tr.Table, s+".")] = tr.Mode
	}
	if modes["orders"] != redshiftsync.ModeIncremental || modes["types"] != redshiftsync.ModeFull || modes["nokey"] != redshiftsync.ModeFull {
		t.Fatalf("plans: %v; want orders incremental, types and nokey full", modes)
	}
	e.compareAll(t, cfg, "first sync", false)
	if st := stateDoc(t, store); st.Tables[s+".orders"] == nil || st.Tables[s+".orders"].Bookmark == nil {
		t.Errorf("state in the destination has no bookmark for orders: %+v", st.Tables[s+".orders"])
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, pgsink.ResyncSchema); got != 0 {
		t.Errorf("%d resync copies left after the sync", got)
	}
	// The destination's own DDL: the source's key, the documented types.
	if got := queryInt(t, e.dst, `SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, sqlident.Qualified(s, "types")); got != 1 {
		t.Errorf("types has %d primary keys in the destination", got)
	}
	var colTypes string
	if err := e.dst.QueryRow(`SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
		sqlident.Qualified(s, "types")).Scan(&colTypes); err != nil {
		t.Fatal(err)
	}
	wantTypes := "integer,boolean,smallint,integer,bigint,numeric(38,10),numeric,real,double precision,date,time without time zone,time with time zone," +
		"timestamp without time zone,timestamp with time zone,text,bytea,text,text,text,uuid,text,jsonb,jsonb,boolean" // the last one is pgsink.DeletedColumn
	if colTypes != wantTypes {
		t.Errorf("destination column types:\n got %s\nwant %s", colTypes, wantTypes)
	}

	// Changes: updates and inserts for the incremental table; updates,
	// deletes, inserts and a new column for the tables resynced in full.
	mustExec(t, e.src, `
UPDATE %[1]s.orders SET status = 'shipped', amount = amount + 0.0001, updated_at = timestamp '2025-01-01' + id * interval '1 ms' WHERE id %% 7 = 0;
INSERT INTO %[1]s.orders SELECT i, 'late', i, timestamp '2025-06-01' FROM generate_series(20001, 20500) i;
UPDATE %[1]s.types SET tx = 'changed ' || id, jb = '{"changed": true}' WHERE id %% 11 = 0;
DELETE FROM %[1]s.types WHERE id %% 5 = 0 OR id = 2;
INSERT INTO %[1]s.types (id, tx) VALUES (100000, 'added');
ALTER TABLE %[1]s.types ADD COLUMN added_later numeric(10,2) DEFAULT 1.5;
DELETE FROM %[1]s.nokey WHERE n %% 3 = 0 OR code = 'dup';
INSERT INTO %[1]s.nokey VALUES ('new', -1);
DELETE FROM %[1]s."Mixed ""Quoted""; --" WHERE "Key Col" > 50;
UPDATE %[1]s."Mixed ""Quoted""; --" SET "select" = 'updated' WHERE "Key Col" = 1;`, s)
	rep = e.sync(t, cfg, sink, store)
	e.compareAll(t, cfg, "second sync", false)
	for _, tr := range rep.Tables {
		if tr.Table == s+".orders" && tr.Rows > 20000/7+500+20 {
			t.Errorf("incremental sync of orders read %d rows", tr.Rows)
		}
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, pgsink.ResyncSchema); got != 0 {
		t.Errorf("%d resync copies left after the sync", got)
	}

	// A third run, with nothing changed, leaves everything equal; a new
	// sink (a new process) finds the state in the destination.
	sink2 := e.newSink(t)
	e.sync(t, cfg, sink2, sink2.StateStore())
	e.compareAll(t, cfg, "third sync", false)
}

// TestResyncKeepsGrantsAndComment: the table swapped in by a resync keeps the
// table's privileges, comment and primary key name.
func TestResyncKeepsGrantsAndComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %[1]s.plain (id int PRIMARY KEY, v text); INSERT INTO %[1]s.plain SELECT i, 'v' || i FROM generate_series(1, 100) i;`, e.schema)
	cfg := e.config(t)
	sink := e.newSink(t)
	e.sync(t, cfg, sink, sink.StateStore())
	q := sqlident.Qualified(e.schema, "plain")
	role := "r_" + e.schema[len(e.schema)-8:]
	pgtest.Exec(t, e.dst, "CREATE ROLE "+role)
	t.Cleanup(func() {
		e.dst.Exec("DROP OWNED BY " + role)
		e.dst.Exec("DROP ROLE " + role)
	})
	pgtest.Exec(t, e.dst, "GRANT SELECT, UPDATE ON "+q+" TO "+role)
	pgtest.Exec(t, e.dst, "COMMENT ON TABLE "+q+" IS 'the ''plain'' table'")
	pkName := func() string {
		var n string
		if err := e.dst.QueryRow(`SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := pkName()
	oid := queryInt(t, e.dst, `SELECT $1::regclass::oid::bigint`, q)
	mustExec(t, e.src, `DELETE FROM %[1]s.plain WHERE id > 90`, e.schema)
	e.sync(t, cfg, sink, sink.StateStore())
	e.compareAll(t, cfg, "resync", false)
	if queryInt(t, e.dst, `SELECT $1::regclass::oid::bigint`, q) == oid {
		t.Error("the table was not replaced by the resync")
	}
	if !pgtest.QueryValue[bool](t, e.dst, `SELECT has_table_privilege($1, $2, 'SELECT') AND has_table_privilege($1, $2, 'UPDATE') AND NOT has_table_privilege($1, $2, 'DELETE')`, role, q) {
		t.Error("the resynced table lost its grants")
	}
	var comment string
	if err := e.dst.QueryRow(`SELECT obj_description($1::regclass, 'pg_class')`, q).Scan(&comment); err != nil || comment != "the 'plain' table" {
		t.Errorf("comment = %q, %v", comment, err)
	}
	if after := pkName(); after != before {
		t.Errorf("primary key constraint renamed from %s to %s", before, after)
	}
}

// TestNativeIntervalsAndSchema: WithNativeIntervals makes intervals
// interval columns, WithSchema loads into another schema, and long table
// names get a resync copy name within 63 bytes.
func TestNativeIntervalsAndSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("ä", 28) + "_long" // 61 bytes
	mustExec(t, e.src, `CREATE TABLE %[1]s.%[2]s (id int PRIMARY KEY, iv interval);
INSERT INTO %[1]s.%[2]s SELECT i, i * interval '1 year 1 mon 1 day 01:01:01.000001' - interval '5 years' FROM generate_series(1, 300) i;`, e.schema, sqlident.Quote(long))
	cfg := e.config(t)
	sink := e.newSink(t, pgsink.WithNativeIntervals(), pgsink.WithSchema("elsewhere"))
	for run := range 2 {
		e.sync(t, cfg, sink, sink.StateStore())
		for _, tbl := range e.tables(t, cfg) {
			compareTable(t, e.src, e.dst, tbl, "elsewhere", fmt.Sprintf("run %d", run), true)
		}
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'iv' AND atttypid = 'interval'::regtype`, sqlident.Qualified("elsewhere", long)); got != 1 {
		t.Error("iv is not an interval column")
	}
	if exists(t, e.dst, e.schema, long) {
		t.Error("WithSchema: the source's schema was used")
	}
}

// resyncDoc returns a state document whose entry for table records a
// resync in progress (after is the position, "" for none), or, with
// done, a finished sync.
func resyncDoc(table string, after string, rows int64, done bool) []byte {
	entry := `{"mode":"full","in_progress":{"phase":"rows","resync":true,"rows":` + fmt.Sprint(rows)
	if after != "" {
		entry += `,"after":["` + after + `"]`
	}
	entry += `}}`
	if done {
		entry = `{"mode":"full","last_synced_at":"2024-01-01T00:00:00Z"}`
	}
	return []byte(`{"version":1,"source":"db/s","tables":{"` + table + `":` + entry + `}}`)
}

func rowsOf(from, to int64, tag string) [][]any {
	var rows [][]any
	for i := from; i <= to; i++ {
		rows = append(rows, []any{i, fmt.Sprintf("%s %d", tag, i)})
	}
	return rows
}

// TestResyncCrashes drives the sink by hand through a resync and crashes it
// (closes it without flushing) at each step: before the first flush, between
// checkpoints, and between EndResync and the FlushState that swaps the copy
// in. The table never changes before that FlushState commits, the copy holds
// exactly the checkpointed rows, and the resumed resync ends with exactly
// the source's rows.
func TestResyncCrashes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tbl := &redshiftsync.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, Columns: []redshiftsync.Column{
		{Name: "id", Type: redshiftsync.TypeLong}, {Name: "v", Type: redshiftsync.TypeString, Nullable: true}}}
	open := func() *pgsink.Sink { return e.openSink(t, tbl) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) int64 { return queryInt(t, e.dst, `SELECT count(*) FROM s.`+sqlident.Quote(name)) }

	// The table as a previous sync left it: rows 1..100, "old".
	s := open()
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 100, "old")}))
	must(flushState(ctx, s, tbl, resyncDoc("s.t", "", 0, true)))
	s.Close()

	// Crash before the first flush of the resync: nothing of it is kept.
	s = open()
	must(s.BeginResync(ctx, tbl))
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 10, "new")}))
	s.Close()
	if exists(t, e.dst, pgsink.ResyncSchema, pgsink.ResyncName("s", "t")) {
		t.Fatal("the copy of an unflushed resync exists")
	}

	// Again, with a checkpoint at row 40, then a crash at row 60.
	s = open()
	must(s.BeginResync(ctx, tbl))
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 40, "new")}))
	must(flushState(ctx, s, tbl, resyncDoc("s.t", "40", 40, false)))
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(41, 60, "new")}))
	s.Close()
	if got := queryInt(t, e.dst, `SELECT count(*) FROM `+sqlident.Qualified(pgsink.ResyncSchema, pgsink.ResyncName("s", "t"))); got != 40 {
		t.Fatalf("copy holds %d rows after the crash, want the 40 checkpointed", got)
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM s.t WHERE v LIKE 'old%'`); got != 100 {
		t.Fatalf("the table changed during the resync: %d old rows", got)
	}

	// Resumed (no BeginResync): rows 41..90 (the source lost 91..100),
	// EndResync, then a crash before the FlushState that would swap.
	s = open()
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(41, 90, "new")}))
	must(s.EndResync(ctx, tbl))
	s.Close()
	if got := queryInt(t, e.dst, `SELECT count(*) FROM `+sqlident.Qualified(pgsink.ResyncSchema, pgsink.ResyncName("s", "t"))); got != 40 {
		t.Fatalf("copy holds %d rows after a crash before the final flush, want 40", got)
	}
	if got := count("t"); got != 100 {
		t.Fatalf("the table has %d rows, want the old 100", got)
	}

	// Resumed again, to the end.
	s = open()
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(41, 90, "new")}))
	must(s.EndResync(ctx, tbl))
	must(flushState(ctx, s, tbl, resyncDoc("s.t", "", 90, true)))
	if got := queryInt(t, e.dst, `SELECT count(*) FROM s.t WHERE v = 'new ' || id`); got != 90 || count("t") != 90 {
		t.Fatalf("after the resync: %d new rows of %d, want 90 of 90", got, count("t"))
	}
	if exists(t, e.dst, pgsink.ResyncSchema, pgsink.ResyncName("s", "t")) {
		t.Error("the copy is still there after the swap")
	}
	st := stateDoc(t, s.StateStore())
	if ts := st.Tables["s.t"]; ts == nil || ts.InProgress != nil {
		t.Errorf("saved state = %+v, want the finished sync", ts)
	}

	// A state that records a resync the sink has no copy of: refused.
	s = open()
	must(s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 1, "x")}))
	if err := flushState(ctx, s, tbl, resyncDoc("s.t", "1", 1, false)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("FlushState for a resync without a copy: %v", err)
	}
}

// TestAbandonedResync: a resync copy left by a resync that the next run does
// not resume (the state records none) is dropped, and the rows go to the
// table.
func TestAbandonedResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tbl := idValueTable("t", true)
	s := e.openSink(t, tbl)
	s.BeginResync(ctx, tbl)
	s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 10, "a")})
	if err := flushState(ctx, s, tbl, resyncDoc("s.t", "10", 10, false)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = e.newSink(t)
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(5, 6, "b")})
	incremental := []byte(`{"version":1,"tables":{"s.t":{"mode":"incremental","in_progress":{"phase":"rows","rows":2,"after":["6"]}}}}`)
	if err := flushState(ctx, s, tbl, incremental); err != nil {
		t.Fatal(err)
	}
	if exists(t, e.dst, pgsink.ResyncSchema, pgsink.ResyncName("s", "t")) {
		t.Error("the abandoned copy is still there")
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM s.t`); got != 2 {
		t.Errorf("table has %d rows, want 2", got)
	}

	// Without FlushState (no state to tell), the rows of a run that does
	// not resume the resync go into the table as well as into the copy.
	ps := e.newSink(t)
	p := ps.WithoutState()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Open(ctx, tbl))
	must(p.BeginResync(ctx, tbl))
	must(p.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 10, "c")}))
	must(p.Flush(ctx, tbl))
	ps.Close()
	p = e.newSink(t).WithoutState()
	must(p.Open(ctx, tbl))
	must(p.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(5, 6, "d")}))
	must(p.Flush(ctx, tbl))
	if got := queryInt(t, e.dst, `SELECT count(*) FROM s.t WHERE v LIKE 'd%'`); got != 2 {
		t.Errorf("plain sink, abandoned copy: table has %d of the 2 new rows", got)
	}
	// A resumed resync still ends with the copy's rows.
	must(p.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(7, 10, "e")}))
	must(p.Flush(ctx, tbl))
	must(p.EndResync(ctx, tbl))
	var got string
	if err := e.dst.QueryRow(`SELECT string_agg(v, ',' ORDER BY id) FROM s.t`).Scan(&got); err != nil ||
		got != "c 1,c 2,c 3,c 4,d 5,d 6,e 7,e 8,e 9,e 10" {
		t.Errorf("plain sink, resumed resync: table = %q, %v", got, err)
	}
}

// TestFailureDiscardsAndSticks: after a failed flush, the staged rows are
// gone, and a later flush of the table (as the extractor's save on stop
// would try) fails instead of saving a state that claims them.
func TestFailureDiscardsAndSticks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tbl := idValueTable("t", true)
	s := e.openSink(t, tbl)
	if err := s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 10, "a")}); err != nil {
		t.Fatal(err)
	}
	if err := flushState(ctx, s, tbl, []byte(`not json`)); err == nil {
		t.Fatal("FlushState with a document that is not JSON succeeded")
	}
	if err := flushState(ctx, s, tbl, []byte(`{"version":1,"tables":{}}`)); err == nil {
		t.Fatal("FlushState after a failed one succeeded")
	}
	if err := s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(11, 11, "a")}); err == nil {
		t.Fatal("Write after a failed flush succeeded")
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM s.t`); got != 0 {
		t.Errorf("%d rows of a failed flush are in the table", got)
	}
	if _, err := s.StateStore().Load(ctx); !errors.Is(err, redshiftsync.ErrNoCheckpoint) {
		t.Errorf("a state was saved: %v", err)
	}
	// A value of the wrong Go type fails the Write, naming the column.
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: [][]any{{int64(1), struct{}{}}}})
	if err == nil || !strings.Contains(err.Error(), `column "v"`) {
		t.Errorf("Write of a struct{}: %v", err)
	}
	// Duplicate keys within one flush: the row written last wins.
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: [][]any{{int64(1), "first"}, {int64(2), "x"}}})
	s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: [][]any{{int64(1), "second"}}})
	if err := flushState(ctx, s, tbl, []byte(`{"version":1,"tables":{}}`)); err != nil {
		t.Fatal(err)
	}
	s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: [][]any{{int64(1), "third"}, {int64(1), "fourth"}, {int64(3), "y"}}})
	if err := s.Flush(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := e.dst.QueryRow(`SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM s.t`).Scan(&v); err != nil || v != "1=fourth,2=x,3=y" {
		t.Errorf("rows = %q, %v; want 1=fourth,2=x,3=y", v, err)
	}
}

// TestPrimaryKeyMismatch: a destination table with another key is refused,
// also once it is registered by hand as the sink's, as the error of the
// first Open says to.
func TestPrimaryKeyMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pgtest.Exec(t, e.dst, `CREATE SCHEMA s; CREATE TABLE s.t (id bigint, v text PRIMARY KEY)`)
	tbl := idValueTable("t", true)
	sink := e.newSink(t)
	err := sink.Open(context.Background(), tbl)
	if !errors.Is(err, pgsink.ErrNotOwned) {
		t.Fatalf("Open of a table the sink did not create: %v", err)
	}
	register := err.Error()[strings.Index(err.Error(), "INSERT INTO"):]
	pgtest.Exec(t, e.dst, register)
	err = sink.Open(context.Background(), tbl)
	if err == nil || !strings.Contains(err.Error(), "primary key") {
		t.Errorf("Open with another key: %v", err)
	}
}

// TestStateStore: the store alone, as a plain PostgreSQL state store.
func TestStateStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := newStateStore(t, e.dst, pgsink.WithStateName("a"), pgsink.WithStateTable("meta", "sync_state"))
	b := newStateStore(t, e.dst, pgsink.WithStateName("b"), pgsink.WithStateTable("meta", "sync_state"))
	if _, err := a.Load(ctx); !errors.Is(err, redshiftsync.ErrNoCheckpoint) {
		t.Fatalf("Load without a table: %v, want ErrNoCheckpoint", err)
	}
	if err := a.Save(ctx, []byte(`{"version":1,"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx); !errors.Is(err, redshiftsync.ErrNoCheckpoint) {
		t.Fatalf("Load of another name: %v, want ErrNoCheckpoint", err)
	}
	if err := a.Save(ctx, []byte(`{"version":1,"n":2}`)); err != nil {
		t.Fatal(err)
	}
	doc, err := a.Load(ctx)
	if err != nil || string(doc) != `{"n": 2, "version": 1}` {
		t.Fatalf("Load = %s, %v", doc, err)
	}
	if err := a.Save(ctx, []byte(`{"version":`)); err == nil {
		t.Fatal("Save of a torn document succeeded")
	}
	if doc, _ := a.Load(ctx); string(doc) != `{"n": 2, "version": 1}` {
		t.Fatalf("a failed Save changed the document: %s", doc)
	}

	// As the store of a sync with another sink (JSONL here, via SinkFuncs).
	mustExec(t, e.src, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL); INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 10) i`, e.schema)
	var n int
	sink := redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error { n += len(b.Rows); return nil }}
	store := newStateStore(t, e.dst)
	e.sync(t, e.config(t), sink, store)
	e.sync(t, e.config(t), sink, store)
	if n > 11 {
		t.Errorf("the second run read %d rows again: the state was not kept", n-10)
	}
	if st := stateDoc(t, store); st.Tables[e.schema+".t"] == nil {
		t.Errorf("state: %+v", st)
	}
}

// TestPlainSink: used through Flush with a state file, the sink still ends
// equal to the source, resyncs included.
func TestPlainSink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, typesTable, e.schema)
	mustExec(t, e.src, `CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, v int, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.orders SELECT i, i, timestamptz '2024-01-01' + i * interval '1 ms' FROM generate_series(1, 5000) i;`, e.schema)
	cfg := e.config(t)
	store := redshiftsync.NewFileStore(filepath.Join(t.TempDir(), "state.json"))
	sink := e.newSink(t).WithoutState()
	e.sync(t, cfg, sink, store)
	e.compareAll(t, cfg, "first sync", false)
	mustExec(t, e.src, `DELETE FROM %[1]s.types WHERE id %% 3 = 0; UPDATE %[1]s.orders SET v = -v, updated_at = now() WHERE id %% 10 = 0;`, e.schema)
	e.sync(t, cfg, sink, store)
	e.compareAll(t, cfg, "second sync", false)
	if exists(t, e.dst, pgsink.ResyncSchema, pgsink.ResyncName(e.schema, "types")) {
		t.Error("resync copy left behind")
	}
}

// TestCancelMidSync: a sync canceled part way resumes and ends equal.
func TestCancelMidSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.big SELECT i, md5(i::text) FROM generate_series(1, 60000) i;`, e.schema)
	cfg := e.config(t)
	sink := e.newSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	ex := synctest.New(t, cfg, sink, sink.StateStore(), redshiftsync.WithCheckpointHook(func(c redshiftsync.Checkpoint) {
		if c.Rows >= 20000 {
			cancel()
		}
	}))
	if _, err := ex.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run: %v", err)
	}
	st := stateDoc(t, sink.StateStore())
	ip := st.Tables[e.schema+".big"].InProgress
	if ip == nil || !ip.Resync {
		t.Fatalf("state after cancel: %+v", st.Tables[e.schema+".big"])
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM `+sqlident.Qualified(pgsink.ResyncSchema, pgsink.ResyncName(e.schema, "big"))); got != ip.Rows {
		t.Errorf("the copy holds %d rows, the state claims %d", got, ip.Rows)
	}
	if got := queryInt(t, e.dst, `SELECT count(*) FROM `+sqlident.Qualified(e.schema, "big")); got != 0 {
		t.Errorf("the table shows %d rows of the unfinished resync", got)
	}
	start := time.Now()
	e.sync(t, cfg, sink, sink.StateStore())
	e.compareAll(t, cfg, "resumed", false)
	t.Logf("resumed in %v", time.Since(start))
}

// cancelingSink cancels the run once it has been given after rows.
type cancelingSink struct {
	*pgsink.Sink
	after  int
	rows   int
	cancel func()
}

func (c *cancelingSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	err := c.Sink.Write(ctx, b)
	if c.rows += len(b.Rows); c.rows >= c.after {
		c.cancel()
	}
	return err
}

// TestCancelMidStream: a keyless table is read in one stream, which has no
// position to resume from: the resumed resync reads it from the start again
// without a new BeginResync. The rows a stopped run committed to the copy
// must not stay there twice.
func TestCancelMidStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg, sink := e.keylessCanceled(t, redshiftsync.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if exists(t, e.dst, pgsink.ResyncSchema, pgsink.ResyncName(e.schema, "keyless")) {
		t.Logf("the stopped run committed %d rows of the stream to the copy",
			queryInt(t, e.dst, `SELECT count(*) FROM `+sqlident.Qualified(pgsink.ResyncSchema, pgsink.ResyncName(e.schema, "keyless"))))
	}
	e.sync(t, cfg, sink, sink.StateStore())
	e.compareAll(t, cfg, "resumed", false)
}

// keylessCanceled creates the keyless table of 30,000 rows and runs a sync
// of it that is canceled after 10,000 rows, failing the test unless the run
// stops with context.Canceled. It returns the configuration and the sink,
// for the run that resumes.
func (e *env) keylessCanceled(t *testing.T, opts ...redshiftsync.Option) (redshiftsync.Config, *pgsink.Sink) {
	t.Helper()
	mustExec(t, e.src, `CREATE TABLE %[1]s.keyless (n int, v text);
INSERT INTO %[1]s.keyless SELECT i, md5(i::text) FROM generate_series(1, 30000) i;`, e.schema)
	cfg := e.config(t)
	sink := e.newSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs := &cancelingSink{Sink: sink, after: 10000, cancel: cancel}
	ex := synctest.New(t, cfg, cs, sink.StateStore(), opts...)
	_, err := ex.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run: %v", err)
	}
	t.Logf("stopped: %v", err)
	return cfg, sink
}

// TestCancelMidStreamOlderTransaction is TestCancelMidStream while an older
// transaction of another session holds an xid for the whole first run, as a
// busy server always has: the snapshot's xmin then lies below the xid that
// inserted the table's rows, though those rows were visible to it. A resumed
// pass must read again only the rows its first snapshot could not see, not
// every row whose xmin is above that snapshot's xmin: for a keyless table
// each row read again is a duplicate in the destination.
func TestCancelMidStreamOlderTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	older, err := e.src.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback()
	if _, err := older.Exec(`SELECT txid_current()`); err != nil { // takes an xid
		t.Fatal(err)
	}
	cfg, sink := e.keylessCanceled(t)
	if err := older.Rollback(); err != nil {
		t.Fatal(err)
	}
	e.sync(t, cfg, sink, sink.StateStore())
	e.compareAll(t, cfg, "resumed", false)
}

// TestBeginResyncAgain: BeginResync called again in a resync starts the
// copy over, whether the rows so far went straight into the copy or were
// staged (a resumed resync).
func TestBeginResyncAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, keyed := range []bool{true, false} {
		tbl := idValueTable(fmt.Sprintf("t%v", keyed), keyed)
		name := "s." + tbl.Name
		s := e.openSink(t, tbl)
		// A resync with a checkpoint, then a crash: the next run resumes
		// it with a copy it did not begin (rows are staged).
		s.BeginResync(ctx, tbl)
		s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 5, "a")})
		if err := flushState(ctx, s, tbl, resyncDoc(name, "5", 5, false)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = e.openSink(t, tbl)
		steps := []error{
			s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(6, 8, "b")}), // staged
			s.BeginResync(ctx, tbl),
			s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(1, 3, "c")}), // straight into the copy
			s.BeginResync(ctx, tbl),
			s.Write(ctx, redshiftsync.Batch{Table: tbl, Rows: rowsOf(2, 4, "d")}),
			s.EndResync(ctx, tbl),
			flushState(ctx, s, tbl, resyncDoc(name, "", 3, true)),
		}
		for i, err := range steps {
			if err != nil {
				t.Fatalf("keyed %v: step %d: %v", keyed, i, err)
			}
		}
		var got string
		if err := e.dst.QueryRow(`SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM ` + sqlident.Qualified("s", tbl.Name)).Scan(&got); err != nil || got != "2=d 2,3=d 3,4=d 4" {
			t.Errorf("keyed %v: table = %q, %v; want 2=d 2,3=d 3,4=d 4", keyed, got, err)
		}
	}
}
