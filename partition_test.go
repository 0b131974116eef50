package redshiftsync_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestPartitionsMatchUnpartitioned: a table split into key-range partitions
// read concurrently delivers exactly the rows of an unpartitioned read, for
// an incremental table (timestamp key with ties and NULLs) and a full one
// (integer primary key), and a crash mid-way resumes each partition.
func TestPartitionsMatchUnpartitioned(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.inc (id bigint PRIMARY KEY, v int, updated_at timestamptz);
INSERT INTO %[1]s.inc SELECT i, i %% 97, CASE WHEN i %% 101 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + (i / 3) * interval '1 second' END FROM generate_series(1, 40000) i;
CREATE TABLE %[1]s.full (id bigint PRIMARY KEY, v int);
INSERT INTO %[1]s.full SELECT i * 13 - 200000, i FROM generate_series(1, 30000) i;
CREATE INDEX ON %[1]s.inc (updated_at, id);
ANALYZE %[1]s.inc; ANALYZE %[1]s.full;`)
	for _, parts := range []int{1, 4} {
		t.Run(fmt.Sprintf("partitions=%d", parts), func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.Partitions, cfg.PartitionThreshold, cfg.MaxParallelWorkers = parts, 1000, 3
			cfg.CheckpointEveryRows = 3000
			sink, store := newMemSink(), &redshiftsync.MemoryStore{}
			sink.failAfter = 25000
			if _, err := runOnce(t, cfg, sink, store); err == nil {
				t.Fatal("the simulated crash did not fail the run")
			}
			sink.failAfter, sink.written = 0, 0
			var last redshiftsync.Stats
			mustRun(t, cfg, sink, store, redshiftsync.WithProgressHook(time.Hour, func(st redshiftsync.Stats) { last = st }))
			for _, ts := range last.Tables {
				if want := map[int]int{1: 0, 4: 4}[parts]; ts.Table == s+".full" && (ts.Partitions != want || ts.PartitionsDone != want) {
					t.Errorf("%s: stats show %d/%d partitions done, want %d/%d", ts.Table, ts.PartitionsDone, ts.Partitions, want, want)
				}
			}
			for _, table := range []string{"inc", "full"} {
				if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
					t.Errorf("%s: %s", table, d)
				}
			}
			if sink.written >= 70000 {
				t.Errorf("the resume re-read %d rows: partitions did not resume", sink.written)
			}
		})
	}
}

// TestWorkerBudget: however many tables and partitions, at most
// MaxParallelWorkers queries of the extractor run on the server at once,
// counted in pg_stat_activity; beside them, at most MaxParallelWorkers
// sessions hold the snapshots of the tables' full resyncs.
func TestWorkerBudget(t *testing.T) {
	// A database of its own: the sessions counted are those of this
	// test's extractor, not of other packages' tests running beside it.
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	s := pgtest.NewSchema(t, db)
	for i := range 5 {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.t%[2]d (id bigint PRIMARY KEY, pad text);
INSERT INTO %[1]s.t%[2]d SELECT i, repeat('x', 200) FROM generate_series(1, 30000) i; ANALYZE %[1]s.t%[2]d;`, s, i))
	}
	cfg := configFor(t, dsn, s)
	cfg.MaxParallelWorkers, cfg.Partitions, cfg.PartitionThreshold, cfg.BatchSize = 2, 4, 1000, 500
	var most, exporters atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var n int64
			// Sessions of the extractor that are not idle: running a
			// query or holding one's results. A snapshot exporter (outside
			// the budget, counted below) is named only by the statement
			// that opens its transaction: while that runs, it is told
			// apart by its text. Statements that read nothing are not
			// counted either: the setup of a new connection, and COMMIT
			// (an exporter's, which takes no unit of the budget, runs
			// under the plain name once SET LOCAL is undone at commit).
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'redshiftsync' AND state <> 'idle' AND pid <> pg_backend_pid()
	AND query NOT LIKE '%redshiftsync snapshot%' AND query NOT LIKE 'SET TIME ZONE%' AND query NOT LIKE 'SET idle_in_transaction_session_timeout%' AND query <> 'COMMIT'`).Scan(&n)
			if err == nil && n > most.Load() {
				most.Store(n)
			}
			err = db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'redshiftsync snapshot'`).Scan(&n)
			if err == nil && n > exporters.Load() {
				exporters.Store(n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	cancel()
	<-done
	if most.Load() > 2 {
		t.Errorf("%d extractor queries ran at once, budget 2", most.Load())
	}
	if most.Load() == 0 {
		t.Errorf("never saw an extractor query running: the sampling proves nothing")
	}
	if n := exporters.Load(); n > 2 || n == 0 {
		t.Errorf("%d sessions held a resync's snapshot at once, want 1 or 2", n)
	}
	for i := range 5 {
		if got := len(sink.column(fmt.Sprintf("%s.t%d", s, i), "id")); got != 30000 {
			t.Errorf("t%d: %d rows, want 30000", i, got)
		}
	}
}

// TestSnapshotsInASmallPool: a caller's pool with the documented minimum of
// MaxParallelWorkers+1 connections, and more tables in full resync than
// that: the sessions that hold the resyncs' snapshots (outside the worker
// budget) must leave the readers a connection, or the run would hang.
func TestSnapshotsInASmallPool(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	for i := range 5 {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.t%[2]d (id bigint PRIMARY KEY, pad text);
INSERT INTO %[1]s.t%[2]d SELECT i, 'x' FROM generate_series(1, 5000) i;`, s, i))
	}
	cfg := testConfig(t, s)
	cfg.MaxParallelWorkers, cfg.BatchSize = 2, 500
	pool := pgtest.Open(t)
	pool.SetMaxOpenConns(cfg.MaxParallelWorkers + 1)
	sink := newMemSink()
	ex, err := redshiftsync.NewFromDB(pool, cfg, sink, &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := ex.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	for i := range 5 {
		if got := len(sink.column(fmt.Sprintf("%s.t%d", s, i), "id")); got != 5000 {
			t.Errorf("t%d: %d rows, want 5000", i, got)
		}
	}
}
