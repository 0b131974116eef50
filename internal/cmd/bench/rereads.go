// This file holds the re-read probe: how many rows a no-op incremental sync
// reads again, on a table whose keys are as dense as bench.wide_inc's (one
// per millisecond) and reach up to the server's clock, as a table being
// written to does: the cost of the watermark that keeps rows committed late
// (see redshiftsync.Mark).

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// step is one sync of the probe: what preceded it, and the rows it read.
type step struct {
	What string
	Rows int64
}

// settle is how long the probe waits before a sync whose re-reads must not
// include the rows of the clock margin (one second; see redshiftsync.Mark).
const settle = 1100 * time.Millisecond

// measureRereads rebuilds bench.live with rows keys (relative to the
// server's clock, so it cannot be kept between runs) and runs the probe's
// syncs, one MemoryStore throughout.
func measureRereads(ctx context.Context, db *sql.DB, dsn string, rows int64) ([]step, error) {
	changed := rows / 10
	q := schema + ".live"
	r := strings.NewReplacer("{t}", q, "{n}", fmt.Sprint(rows), "{every}", fmt.Sprint(rows/changed))
	if err := execAll(ctx, db, r,
		`DROP TABLE IF EXISTS {t}`,
		`CREATE TABLE {t} (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL)`,
		`INSERT INTO {t} SELECT g, 0, (now() AT TIME ZONE 'UTC') - ({n} - g) * interval '1 millisecond' FROM generate_series(1, {n}) g`,
		`CREATE INDEX ON {t} (updated_at, id)`,
		`VACUUM ANALYZE {t}`,
	); err != nil {
		return nil, err
	}
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Schema, cfg.IncludeTables, cfg.BatchSize, cfg.MaxParallelWorkers, cfg.Partitions = schema, []string{"live"}, pageRows, 1, 1
	store := &redshiftsync.MemoryStore{}
	var steps []step
	sync := func(what string, wait time.Duration) error {
		time.Sleep(wait)
		var n atomic.Int64
		sink := redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
			n.Add(int64(len(b.Rows)))
			return nil
		}}
		ex, err := redshiftsync.New(cfg, sink, store)
		if err != nil {
			return err
		}
		defer ex.Close()
		if _, err := ex.Run(ctx); err != nil {
			return err
		}
		steps = append(steps, step{what, n.Load()})
		return nil
	}
	// Each update gives its rows distinct keys (clock_timestamp() per row),
	// as separate transactions would: no tie group at a bookmark.
	update := func(k int) error {
		_, err := db.ExecContext(ctx, r.Replace(`UPDATE {t} SET v = v + 1, updated_at = clock_timestamp() AT TIME ZONE 'UTC' WHERE id % {every} = `)+fmt.Sprint(k))
		return err
	}
	var idle *sql.Tx
	defer func() {
		if idle != nil {
			idle.Rollback()
		}
	}()
	n := thousands(changed)
	for _, s := range []struct {
		what   string
		before func() error
		wait   time.Duration
	}{
		{"the first sync (in full)", nil, 0},
		{"no-op, over a second later", nil, settle},
		{"just after " + n + " rows were updated", func() error { return update(0) }, 0},
		{"no-op, at once: the updates lie within a second before the previous sync began", nil, 0},
		{"no-op, over a second later: its bookmark is the previous sync's mark, taken less than a second after the updates", nil, settle},
		{"no-op, over a second later", nil, settle},
		{n + " other rows updated, a session idle in transaction", func() error {
			if idle, err = db.BeginTx(ctx, nil); err != nil {
				return err
			}
			if _, err := idle.ExecContext(ctx, `SELECT 1`); err != nil {
				return err
			}
			return update(1)
		}, settle},
		{"no-op after that session ended", func() error { return idle.Rollback() }, settle},
		{"no-op, over a second later", nil, settle},
	} {
		if s.before != nil {
			if err := s.before(); err != nil {
				return nil, err
			}
		}
		if err := sync(s.what, s.wait); err != nil {
			return nil, err
		}
	}
	return steps, nil
}
