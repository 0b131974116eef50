package pgsink_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
)

// columnType returns the destination type of column col of schema.table.
func columnType(t *testing.T, e *env, schema, table, col string) string {
	t.Helper()
	var typ string
	err := e.dst.QueryRow(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`, sqlident.Qualified(schema, table), col).Scan(&typ)
	if err != nil {
		t.Fatalf("type of %s.%s: %v", table, col, err)
	}
	return typ
}

// syncLogged runs one sync with the env's sink and returns its log.
func (e *env) syncLogged(t *testing.T, cfg redshiftsync.Config) string {
	t.Helper()
	sink := e.newSink(t)
	var buf testlog.Buffer
	e.syncWith(t, cfg, sink, sink.StateStore(), redshiftsync.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	return buf.String()
}

// TestWidenTypes: the source widens columns between two incremental syncs
// (numeric precision and scale, integer widths, real to double precision,
// date to timestamp, boolean to text, numeric(p,s) to numeric). The
// destination kept its types, so the new rows landed rounded (1.2345 as
// 1.23, 0.1234567890123 as 0.12345679, the time of day dropped) or failed.
// Now each destination column is widened in place, and every row, old and
// new, equals the source's.
func TestWidenTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tbl := sqlident.Qualified(e.schema, "widen")
	mustExec(t, e.src, `CREATE TABLE %s (id int PRIMARY KEY, updated_at timestamp NOT NULL,
	num numeric(10,2), flt real, day date, small smallint, mid integer, flag boolean, free numeric(8,3), v varchar(5));
INSERT INTO %[1]s VALUES (1, '2024-01-01', 1.23, 0.5, '2024-01-02', 7, 70, true, 1.5, 'abc');
CREATE INDEX ON %[1]s (updated_at, id);`, tbl)
	cfg := e.config(t)
	e.syncLogged(t, cfg)

	mustExec(t, e.src, `ALTER TABLE %s ALTER num TYPE numeric(12,4), ALTER flt TYPE double precision, ALTER day TYPE timestamp,
	ALTER small TYPE integer, ALTER mid TYPE bigint, ALTER flag TYPE text, ALTER free TYPE numeric, ALTER v TYPE varchar(50);
INSERT INTO %[1]s VALUES (2, '2024-02-01', 1.2345, 0.1234567890123, '2024-05-06 07:08:09.123456', 40000, 5000000000, 'maybe', 1.23456789012345678901, 'a longer text value');`, tbl)
	e.syncLogged(t, cfg)

	for col, want := range map[string]string{
		"num": "numeric(12,4)", "flt": "double precision", "day": "timestamp without time zone",
		"small": "integer", "mid": "bigint", "flag": "text", "free": "numeric", "v": "text",
	} {
		if got := columnType(t, e, e.schema, "widen", col); got != want {
			t.Errorf("column %s: destination type %s, want %s", col, got, want)
		}
	}
	e.compareAll(t, cfg, "after the source widened its columns", false)
}

// TestUUIDColumn: a uuid source column is created as uuid (it was text).
func TestUUIDColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %s.ids (id uuid PRIMARY KEY, other uuid);
INSERT INTO %[1]s.ids VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL), ('00000000-0000-0000-0000-000000000000', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12');`, e.schema)
	cfg := e.config(t)
	e.syncLogged(t, cfg)
	for _, col := range []string{"id", "other"} {
		if got := columnType(t, e, e.schema, "ids", col); got != "uuid" {
			t.Errorf("column %s: destination type %s, want uuid", col, got)
		}
	}
	e.compareAll(t, cfg, "uuid", false)
}

// TestNarrowingResyncs: the source changes column types in ways that cannot
// be widened (numeric(12,4) to numeric(10,2), which rounds the rows it
// holds; timestamp to date; text to integer) between two incremental
// syncs. The destination kept its types and the old rows their old values
// (1.2345 where the source now holds 1.23). Now the sink asks for a full
// resync (ErrResyncRequired), logged as a warning, into a copy of the new
// shape: the destination columns take the new types and every row equals
// the source's; the next sync is incremental again.
func TestNarrowingResyncs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tbl, full := sqlident.Qualified(e.schema, "narrow"), sqlident.Qualified(e.schema, "narrow_full")
	mustExec(t, e.src, `CREATE TABLE %s (id int PRIMARY KEY, updated_at timestamp NOT NULL, num numeric(12,4), at timestamp, code text);
INSERT INTO %[1]s SELECT i, '2024-01-01'::timestamp + i * interval '1 minute', i + 0.2345, '2024-01-01 10:11:12', (i * 7)::text FROM generate_series(1, 50) i;
CREATE INDEX ON %[1]s (updated_at, id);
CREATE TABLE %[2]s (num numeric(12,4));
INSERT INTO %[2]s SELECT i + 0.2345 FROM generate_series(1, 50) i;`, tbl, full)
	cfg := e.config(t)
	e.syncLogged(t, cfg)

	mustExec(t, e.src, `ALTER TABLE %s ALTER num TYPE numeric(10,2), ALTER at TYPE date, ALTER code TYPE integer USING code::integer;
INSERT INTO %[1]s VALUES (100, '2024-03-01', 9.87, '2024-03-02', 42);
ALTER TABLE %[2]s ALTER num TYPE numeric(10,2);`, tbl, full)
	log := e.syncLogged(t, cfg)
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "full resync") || !strings.Contains(log, `column \"num\"`) {
		t.Errorf("no warning naming the column that forced the resync:\n%s", log)
	}
	for col, want := range map[string]string{"num": "numeric(10,2)", "at": "date", "code": "integer"} {
		if got := columnType(t, e, e.schema, "narrow", col); got != want {
			t.Errorf("column %s: destination type %s, want %s", col, got, want)
		}
	}
	// A table synced in full is resynced anyway: its copy takes the new shape.
	if got := columnType(t, e, e.schema, "narrow_full", "num"); got != "numeric(10,2)" {
		t.Errorf("narrow_full.num: destination type %s, want numeric(10,2)", got)
	}
	e.compareAll(t, cfg, "after the resync", false)

	// The table is incremental again: the next sync reads the row at the
	// bookmark (read again by design) and the new one, not the 52 rows.
	mustExec(t, e.src, `INSERT INTO %s VALUES (101, '2024-04-01', 1.5, '2024-04-02', 43); DROP TABLE %[2]s`, tbl, full)
	if log := e.syncLogged(t, cfg); strings.Contains(log, "level=WARN") || !strings.Contains(log, `msg="table finished"`) || !strings.Contains(log, "rows=2\n") {
		t.Errorf("the sync after the resync is not an incremental one of 2 rows:\n%s", log)
	}
	e.compareAll(t, cfg, "after the next sync", false)
}
