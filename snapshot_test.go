package redshiftsync_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// sinkIDs returns the sorted keys of the rows the sink holds for table.
func sinkIDs(h *hookSink, table string) []string {
	var out []string
	for k := range h.column(table, "id") {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestFullResyncIsOneSnapshot: while a full resync of a table with a primary
// key pages through it, another session moves a row from ahead of the cursor
// to behind it (UPDATE of its key) and replaces one with a row behind it
// (DELETE + INSERT). The resync must deliver the table as it was when it
// began: read page by page in fresh snapshots, the moved rows were in
// neither place when the cursor passed, and a ResyncSink's swap dropped them.
// The next resync sees the moves.
func TestFullResyncIsOneSnapshot(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 5000) i;
ANALYZE %[1]s.t;`)
	for _, parts := range []int{1, 4} {
		t.Run(fmt.Sprintf("partitions=%d", parts), func(t *testing.T) {
			pgtest.Exec(t, db, fmt.Sprintf(`DELETE FROM %[1]s.t; INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 5000) i;`, s))
			cfg := testConfig(t, s)
			cfg.BatchSize = 50 // pages of 500 rows
			cfg.Partitions, cfg.PartitionThreshold = parts, 1
			sink := onceAfter(1, func() {
				pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.t SET id = -1 WHERE id = 4500;
DELETE FROM %[1]s.t WHERE id = 3999; INSERT INTO %[1]s.t VALUES (-2, 'v3999');`, s))
			})
			store := &redshiftsync.MemoryStore{}
			mustRun(t, cfg, sink, store)
			want := sourceMap(t, db, `SELECT g::text, g::text FROM generate_series(1, 5000) g`)
			got := map[string]string{}
			for _, id := range sinkIDs(sink, s+".t") {
				got[id] = id
			}
			if d := diffMaps(want, got); d != "" {
				t.Errorf("the resync is not the table as it began: %s", d)
			}
			mustRun(t, cfg, sink, store)
			if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
				t.Errorf("second resync: %s", d)
			}
		})
	}
}

// exporterPID returns the pid of the session that exports the snapshot of a
// full resync, 0 when there is none.
func exporterPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	return pgtest.QueryValue[int](t, db, `SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE application_name = 'redshiftsync snapshot'`)
}

// TestLostSnapshotRestartsResync: the session that exports a resync's
// snapshot is terminated half-way, and a row is then moved behind the
// cursor. The readers cannot import the snapshot any more: the resync must
// start again in a new snapshot (the sink told so), not go on in fresh
// snapshots page by page, which would miss the moved row.
func TestLostSnapshotRestartsResync(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 5000) i;`)
	cfg := testConfig(t, s)
	cfg.BatchSize = 50
	var killed atomic.Bool
	sink := onceAfter(150, func() {
		pid := exporterPID(t, db)
		if pid == 0 {
			t.Error("no session exports the resync's snapshot")
			return
		}
		// pg_terminate_backend only signals: the session is lost once it
		// has exited (on a loaded machine a reader could import the
		// snapshot meanwhile, and rightly read on in it).
		pgtest.Exec(t, db, fmt.Sprintf(`SELECT pg_terminate_backend(%d, 10000)`, pid))
		pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %s.t SET id = -1 WHERE id = 4500`, s))
		killed.Store(true)
	})
	logs := &logBuffer{}
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)))
	if !killed.Load() {
		t.Fatal("the exporter was never terminated: the test proves nothing")
	}
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
		t.Errorf("after the exporter was lost: %s", d)
	}
	if got := strings.Join(sink.events, ","); got != "begin t,begin t,end t 5000" {
		t.Errorf("resync events %s, want the resync begun again", got)
	}
	if !strings.Contains(logs.String(), "snapshot") {
		t.Errorf("no log line says why the resync started again:\n%s", logs.String())
	}
}

// TestResumedResyncCatchesUp: a full resync crashes half-way; before the
// rerun, a row ahead of the position is moved behind it. The rerun reads in
// a new snapshot from the saved position, so without a catch-up of the rows
// written since the first snapshot the moved row is read by neither run and
// the swap drops it.
func TestResumedResyncCatchesUp(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 20000) i;`)
	cfg := testConfig(t, s)
	cfg.BatchSize, cfg.CheckpointEveryRows = 500, 1000
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	sink.failAfter = 10000
	if _, err := runOnce(t, cfg, sink, store); err == nil {
		t.Fatal("the simulated crash did not fail the run")
	}
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.t SET id = -1 WHERE id = 19000; UPDATE %[1]s.t SET v = 'changed' WHERE id = 5`, s))
	sink.failAfter, sink.written = 0, 0
	mustRun(t, cfg, sink, store)
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+s+`.t`), sink.column(s+".t", "v")); d != "" {
		t.Errorf("after the resume: %s", d)
	}
	if sink.written > 20000-9000+10 {
		t.Errorf("the resume delivered %d rows: it read more than the rest of the table and the changed rows", sink.written)
	}
}
