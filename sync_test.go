package redshiftsync_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestSyncThenIncremental: a first sync copies every table exactly; after
// updates, inserts and a late row at the bookmark, an incremental sync
// brings the destination equal to the source again. It has a database of its
// own, as it counts the rows the incremental sync re-reads.
func TestSyncThenIncremental(t *testing.T) {
	db, s, dsn := pgtest.OpenIsolated(t, `
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.orders SELECT i, 0, timestamp '2024-01-01' + (i / 10) * interval '1 second' FROM generate_series(1, 5000) i;
CREATE TABLE %[1]s.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text);
INSERT INTO %[1]s.events (kind) SELECT 'k' || i FROM generate_series(1, 2500) i;
CREATE TABLE %[1]s.codes (code char(2), name text, birth_date date);
INSERT INTO %[1]s.codes SELECT chr(65 + i / 26) || chr(65 + i %% 26), 'n' || i, date '2000-01-01' + i FROM generate_series(0, 299) i;
CREATE TABLE %[1]s.empty (id int PRIMARY KEY, updated_at timestamptz);`)
	cfg := configFor(t, dsn, s)
	cfg.MaxParallelWorkers = 2
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	rep := mustRun(t, cfg, sink, store)
	if rep.Rows != 5000+2500+300 {
		t.Errorf("report rows = %d, want %d", rep.Rows, 7800)
	}
	check := func(stage string) {
		t.Helper()
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.orders`), sink.column(s+".orders", "v")); d != "" {
			t.Errorf("%s: orders: %s", stage, d)
		}
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, kind FROM `+s+`.events`), sink.column(s+".events", "kind")); d != "" {
			t.Errorf("%s: events: %s", stage, d)
		}
		if got, want := len(sink.column(s+".codes", "name")), 300; got != want {
			t.Errorf("%s: codes: %d rows, want %d", stage, got, want)
		}
	}
	check("first sync")

	// Updates move rows forward; a row committed late with the bookmark's
	// own key value (the tie group at the bookmark) must be seen too.
	pgtest.Exec(t, db, fmt.Sprintf(`
UPDATE %[1]s.orders SET v = 1, updated_at = timestamp '2024-06-01' WHERE id %% 7 = 0;
INSERT INTO %[1]s.orders VALUES (100001, 2, timestamp '2024-01-01' + 500 * interval '1 second');
INSERT INTO %[1]s.events (kind) SELECT 'new' || i FROM generate_series(1, 100) i;
UPDATE %[1]s.codes SET name = 'renamed' WHERE code = 'AA';`, s))
	rep = mustRun(t, cfg, sink, store)
	check("incremental sync")
	for _, tr := range rep.Tables {
		switch tr.Table {
		case s + ".orders":
			if tr.Mode != redshiftsync.ModeIncremental || tr.Key != "updated_at" {
				t.Errorf("orders planned %s/%s, want incremental/updated_at", tr.Mode, tr.Key)
			}
			// the updated rows, the late row, and the tie group at the old bookmark
			if tr.Rows > 5000/7+1+20 {
				t.Errorf("incremental orders read %d rows: it re-read more than the changes", tr.Rows)
			}
		case s + ".events":
			if tr.Rows < 100 || tr.Rows > 101 {
				t.Errorf("incremental events read %d rows, want 100 (+1 at the bookmark)", tr.Rows)
			}
		case s + ".codes":
			if tr.Mode != redshiftsync.ModeFull || tr.Rows != 300 {
				t.Errorf("codes: %s with %d rows, want a full resync of 300", tr.Mode, tr.Rows)
			}
		}
	}
}

// TestTieGroupCrashResume: 20,000 rows share one updated_at; with 1,000-row
// batches a checkpoint falls inside the tie group, the run crashes there, and
// the resumed run still delivers every row. A strict key > bookmark resume
// would lose the rest of the group.
func TestTieGroupCrashResume(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.ties (id bigint PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.ties SELECT i, timestamp '2024-03-01 10:00:00.123456' FROM generate_series(1, 20000) i;
CREATE TABLE %[1]s.ties_nopk (id bigint, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.ties_nopk SELECT i, timestamp '2024-03-01' + (i / 5000) * interval '1 day' FROM generate_series(1, 20000) i;
CREATE INDEX ON %[1]s.ties (updated_at, id); CREATE INDEX ON %[1]s.ties_nopk (updated_at);`)
	for _, table := range []string{"ties", "ties_nopk"} {
		t.Run(table, func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.IncludeTables = []string{table}
			cfg.CheckpointEveryRows = 1000
			store := &redshiftsync.MemoryStore{}
			sink := newMemSink()
			sink.failAfter = 7500
			var checkpoints int
			_, err := runOnce(t, cfg, sink, store, redshiftsync.WithCheckpointHook(func(redshiftsync.Checkpoint) { checkpoints++ }))
			if !errors.Is(err, errCrash) {
				t.Fatalf("first run: err = %v, want the simulated crash", err)
			}
			if checkpoints == 0 {
				t.Fatal("no checkpoint before the crash: the test does not test a resume")
			}
			sink.failAfter = 0
			sink.written = 0
			mustRun(t, cfg, sink, store)
			src := sourceMap(t, db, `SELECT id::text, id::text FROM `+s+`.`+table)
			got := map[string]string{}
			for k := range sink.column(s+"."+table, "id") {
				got[k] = k
			}
			if table == "ties_nopk" {
				got = map[string]string{}
				for _, v := range sink.column(s+"."+table, "id") {
					got[v] = v
				}
			}
			if d := diffMaps(src, got); d != "" {
				t.Errorf("after resume: %s", d)
			}
			if table == "ties" && sink.written > 20000-7000+1000 {
				t.Errorf("resume delivered %d rows: more than one page before the crash point was re-read", sink.written)
			}
		})
	}
}

// TestNullKeysAndKeyChange: rows whose key is NULL are delivered (a plain
// key > x would drop them), and a bookmark is not reused when the key
// changes.
func TestNullKeysAndKeyChange(t *testing.T) {
	// Through the source (pgtest.OpenSourceSchema), in SQL Redshift runs.
	db, s := pgtest.OpenSourceSchema(t, `
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v int, updated_at timestamptz);
INSERT INTO %[1]s.t VALUES `+pgtest.Values(3000, func(i int) string {
		if i%3 == 0 {
			return fmt.Sprintf("(%d, 0, NULL)", i)
		}
		return fmt.Sprintf("(%d, 0, timestamptz '2024-01-01 00:00:00+00' + interval '%d minutes')", i, i)
	}))
	cfg := testConfig(t, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
		t.Fatalf("first sync: %s", d)
	}
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.t SET v = 1 WHERE id IN (3, 6, 9);`, s))
	mustRun(t, cfg, sink, store)
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
		t.Fatalf("NULL-key rows updated: %s", d)
	}

	// The key changes: a new update-tracking column outranks... rename the
	// key so the old bookmark no longer applies.
	pgtest.Exec(t, db, fmt.Sprintf(`
ALTER TABLE %[1]s.t RENAME COLUMN updated_at TO old_ts;
ALTER TABLE %[1]s.t ADD COLUMN modified_at timestamp NOT NULL DEFAULT timestamp '1999-01-01';
UPDATE %[1]s.t SET v = 2 WHERE id = 1;`, s))
	rep := mustRun(t, cfg, sink, store)
	if rep.Tables[0].Key != "modified_at" || rep.Tables[0].Rows != 3000 {
		t.Errorf("after the key changed: key %q read %d rows, want modified_at and a full 3000", rep.Tables[0].Key, rep.Tables[0].Rows)
	}
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
		t.Errorf("after the key changed: %s", d)
	}
}

// TestResyncSinkIsTold: a full table tells a ResyncSink when it begins and
// ends, once per sync.
func TestResyncSinkIsTold(t *testing.T) {
	db, s := pgtest.OpenSourceSchema(t, `CREATE TABLE %[1]s.f (id int PRIMARY KEY, name varchar(8));
INSERT INTO %[1]s.f VALUES `+pgtest.Values(2500, func(i int) string { return fmt.Sprintf("(%d, 'x')", i) }))
	cfg := testConfig(t, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	pgtest.Exec(t, db, fmt.Sprintf(`DELETE FROM %[1]s.f WHERE id > 2000`, s))
	mustRun(t, cfg, sink, store)
	if got := fmt.Sprint(sink.events); got != "[begin f end f 2500 begin f end f 2000]" {
		t.Errorf("resync events %s", got)
	}
}

// TestProgressAndLogs: the progress hook sees the rows grow to the total,
// and the structured log carries the fixed keys.
func TestProgressAndLogs(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.p (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.p SELECT i, timestamp '2024-01-01' + i * interval '1 s' FROM generate_series(1, 20000) i; ANALYZE %[1]s.p;
CREATE INDEX ON %[1]s.p (updated_at, id); -- keyset pages: batches of exactly 1,000 rows`)
	cfg := testConfig(t, s)
	var mu sync.Mutex
	var last redshiftsync.Stats
	logs := &logBuffer{}
	mustRun(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)),
		redshiftsync.WithProgressHook(time.Millisecond, func(st redshiftsync.Stats) { mu.Lock(); last = st; mu.Unlock() }))
	mu.Lock()
	defer mu.Unlock()
	if last.Rows != 20000 || len(last.Tables) != 1 || last.Tables[0].State != "done" || last.Tables[0].EstimatedRows != 20000 || last.Tables[0].Batches != 20 {
		t.Errorf("last progress report: %+v", last)
	}
	for _, want := range []string{`"msg":"table started"`, `"msg":"table finished"`, `"msg":"batch delivered"`, `"table":"` + s + `.p"`, `"replication_key":"updated_at"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

// TestUnindexedKeyBlockRanges: a replication key without an index would make
// every keyset page scan the table; such a table is read in block order
// (PostgreSQL 14+, resumable) bounded by the high-water mark, with the same
// rows.
func TestUnindexedKeyBlockRanges(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.u (id bigint PRIMARY KEY, v int, updated_at timestamptz);
INSERT INTO %[1]s.u SELECT i, 0, CASE WHEN i %% 9 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + (i / 4) * interval '1 s' END FROM generate_series(1, 12000) i;`)
	cfg := testConfig(t, s)
	logs := &logBuffer{}
	logger := newLogger(logs)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store, redshiftsync.WithLogger(logger))
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.u SET v = 1, updated_at = timestamptz '2025-01-01 00:00:00+00' WHERE id %% 5 = 0`, s))
	rep := mustRun(t, cfg, sink, store, redshiftsync.WithLogger(logger))
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.u`), sink.column(s+".u", "v")); d != "" {
		t.Errorf("%s", d)
	}
	// The second sync reads the updated rows, the bookmark's tie group and
	// the NULL-key rows again: not the table.
	if rep.Rows > 12000/5+4+12000/9+1 {
		t.Errorf("incremental sync read %d rows", rep.Rows)
	}
	if !strings.Contains(logs.String(), `"msg":"table read in block order","table":"`+s+`.u"`) {
		t.Errorf("unexpected plan:\n%s", logs.String())
	}
}

// TestPageOrderIsTheColumnsOrder: dates and timestamps are selected as text,
// but pages must be ordered by the columns themselves. Ordered by the text,
// years of five digits and BC dates sort wrongly, and a page's last row is no
// longer its largest, and the rows between it and the true largest would be
// skipped.
func TestPageOrderIsTheColumnsOrder(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.o (id int PRIMARY KEY, updated_at timestamp NOT NULL);
CREATE INDEX ON %[1]s.o (updated_at, id);
INSERT INTO %[1]s.o SELECT i, CASE i %% 3 WHEN 0 THEN make_timestamp(10000 + i, 1, 1, 0, 0, 0)
	WHEN 1 THEN make_timestamp(1900 + i, 1, 1, 0, 0, 0.5) ELSE make_timestamp(-(100 + i), 3, 15, 0, 0, 0) END
FROM generate_series(1, 90) i;`)
	cfg := testConfig(t, s)
	cfg.BatchSize = 1
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, id::text FROM `+s+`.o`), sink.column(s+".o", "id")); d != "" {
		t.Errorf("%s", d)
	}
}
