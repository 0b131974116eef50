package redshiftsync_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestConcurrentWriter: a writer inserts and updates rows while a sync runs
// (its high-water mark bounds the run, so it ends); one more incremental
// sync then brings the destination, upserted by primary key, equal to the
// source exactly.
func TestConcurrentWriter(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.w (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp());
INSERT INTO %[1]s.w SELECT i, 0, timestamptz '2024-01-01 00:00:00+00' + (i / 4) * interval '1 ms' FROM generate_series(1, 60000) i;
CREATE INDEX ON %[1]s.w (updated_at, id);`)
	cfg := testConfig(t, s)
	cfg.BatchSize, cfg.CheckpointEveryRows = 500, 2000
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		writes := 0
		next := int64(60001)
		for ctx.Err() == nil && writes < 3000 {
			var err error
			if rand.IntN(2) == 0 {
				_, err = db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s.w (id, v) VALUES ($1, 1)`, s), next)
				next++
			} else {
				_, err = db.ExecContext(ctx, fmt.Sprintf(`UPDATE %s.w SET v = v + 1, updated_at = clock_timestamp() WHERE id = $1`, s), 1+rand.IntN(60000))
			}
			if err == nil {
				writes++
			}
		}
		done <- writes
	}()
	mustRun(t, cfg, sink, store)
	cancel()
	writes := <-done
	mustRun(t, cfg, sink, store)
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.w`), sink.column(s+".w", "v")); d != "" {
		t.Errorf("after %d concurrent writes and one more sync: %s", writes, d)
	}
	if writes == 0 {
		t.Error("the writer wrote nothing during the sync: the test proves nothing")
	}
}
