package redshiftsync_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// TestStatsWaiting: with one worker, while one table is read the other has
// no worker yet and is "waiting", not "running".
func TestStatsWaiting(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.a (v int); CREATE TABLE %[1]s.b (v int);
INSERT INTO %[1]s.a SELECT generate_series(1, 50); INSERT INTO %[1]s.b SELECT generate_series(1, 50);`)
	cfg := testConfig(t, s)
	cfg.MaxParallelWorkers = 1
	var (
		ex    *redshiftsync.Extractor
		once  sync.Once
		first redshiftsync.Stats
		by    string
	)
	sink := redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
		once.Do(func() { first, by = ex.Stats(), b.Table.QualifiedName() })
		return nil
	}}
	ex = synctest.New(t, cfg, sink, &redshiftsync.MemoryStore{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(first.Tables) != 2 {
		t.Fatalf("stats during the run: %+v", first)
	}
	for _, ts := range first.Tables {
		want := "waiting"
		if ts.Table == by {
			want = "running"
		}
		if ts.State != want {
			t.Errorf("while %s was written, %s was %q, want %q", by, ts.Table, ts.State, want)
		}
		if want == "waiting" && (!ts.Started.IsZero() || ts.Elapsed != 0) {
			t.Errorf("waiting %s has started %v, elapsed %v", ts.Table, ts.Started, ts.Elapsed)
		}
	}
	for _, ts := range ex.Stats().Tables {
		if ts.State != "done" || ts.Rows != 50 || ts.Started.IsZero() {
			t.Errorf("after the run: %+v", ts)
		}
	}
}

// TestStatsPhaseEstimate: the estimate is the table's for a sync that reads
// all of it, and unknown (-1) for an incremental sync from a bookmark, which
// reads only the rows changed since.
func TestStatsPhaseEstimate(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.t SELECT i, now() - interval '1 hour' FROM generate_series(1, 400) i;
ANALYZE %[1]s.t;`)
	ex := synctest.New(t, testConfig(t, s), newMemSink(), &redshiftsync.MemoryStore{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	estimate := func() int64 {
		t.Helper()
		rep, err := ex.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Tables[0].Mode != redshiftsync.ModeIncremental {
			t.Fatalf("mode %s", rep.Tables[0].Mode)
		}
		return ex.Stats().Tables[0].EstimatedRows
	}
	if got := estimate(); got != 400 {
		t.Errorf("first sync (the whole table): estimate %d, want 400", got)
	}
	pgtest.Exec(t, db, `UPDATE `+s+`.t SET updated_at = now() WHERE id <= 5`)
	if got := estimate(); got != -1 {
		t.Errorf("incremental sync from a bookmark: estimate %d, want -1 (unknown)", got)
	}
}
