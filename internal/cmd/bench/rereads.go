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
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

const (
	tableLive   = "live"  // keys up to the server's clock, one per millisecond
	liveRows    = 100_000 // the last 100 seconds
	liveChanged = 10_000  // rows updated between syncs in the probe
)

// rereadStep is one sync of the re-read probe: what preceded it, and the
// rows it read.
type rereadStep struct {
	What string
	Rows int64
}

// rereadResult is what the re-read probe measured.
type rereadResult struct {
	Steps []rereadStep
}

func (r *rereadResult) summary() string {
	var parts []string
	for _, s := range r.Steps {
		parts = append(parts, thousands(s.Rows))
	}
	return "rows read by each sync: " + strings.Join(parts, ", ")
}

// settle is how long the probe waits before a sync whose re-reads must not
// include the rows of the clock margin (one second; see redshiftsync.Mark).
const settle = 1100 * time.Millisecond

// measureRereads rebuilds bench.live (its keys are relative to the server's
// clock, so it cannot be kept between runs) and runs the probe's syncs.
func measureRereads(ctx context.Context, db *sql.DB, dsn string) (*rereadResult, error) {
	q := schema + "." + tableLive
	for _, s := range []string{
		`DROP TABLE IF EXISTS ` + q,
		`CREATE TABLE ` + q + ` (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL)`,
		`INSERT INTO ` + q + ` SELECT g, 0, (now() AT TIME ZONE 'UTC') - (` + strconv.Itoa(liveRows) + ` - g) * interval '1 millisecond' FROM generate_series(1, ` + strconv.Itoa(liveRows) + `) g`,
		`CREATE INDEX ` + tableLive + `_updated_at ON ` + q + ` (updated_at, id)`,
		`VACUUM ANALYZE ` + q,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Schema, cfg.IncludeTables, cfg.BatchSize, cfg.MaxParallelWorkers, cfg.Partitions = schema, []string{tableLive}, 10_000, 1, 1
	store := &redshiftsync.MemoryStore{}
	r := &rereadResult{}
	run := func(what string, wait time.Duration) error {
		time.Sleep(wait) // at most settle: a Ctrl-C waits for it
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
		r.Steps = append(r.Steps, rereadStep{what, n.Load()})
		return nil
	}
	// Each update gives the rows distinct keys (clock_timestamp() per
	// row), as separate transactions would: no tie group at a bookmark.
	update := func(k int) error {
		_, err := db.ExecContext(ctx, `UPDATE `+q+` SET v = v + 1, updated_at = clock_timestamp() AT TIME ZONE 'UTC' WHERE id % `+strconv.Itoa(liveRows/liveChanged)+` = `+strconv.Itoa(k))
		return err
	}
	changed := thousands(liveChanged)
	if err := run("the first sync (in full)", 0); err != nil {
		return nil, err
	}
	if err := run("no-op, over a second later", settle); err != nil {
		return nil, err
	}
	if err := update(0); err != nil {
		return nil, err
	}
	if err := run("just after "+changed+" rows were updated", 0); err != nil {
		return nil, err
	}
	if err := run("no-op, at once: the updates lie within a second before the previous sync began", 0); err != nil {
		return nil, err
	}
	if err := run("no-op, over a second later: its bookmark is the previous sync's mark, taken less than a second after the updates", settle); err != nil {
		return nil, err
	}
	if err := run("no-op, over a second later", settle); err != nil {
		return nil, err
	}
	idle, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer idle.Rollback()
	if _, err := idle.ExecContext(ctx, `SELECT 1`); err != nil {
		return nil, err
	}
	if err := update(1); err != nil {
		return nil, err
	}
	if err := run(changed+" other rows updated, a session idle in transaction: the sync's mark is held", settle); err != nil {
		return nil, err
	}
	if err := idle.Rollback(); err != nil {
		return nil, err
	}
	if err := run("no-op after that session ended: the bookmark lagged one sync", settle); err != nil {
		return nil, err
	}
	if err := run("no-op, over a second later", settle); err != nil {
		return nil, err
	}
	return r, nil
}
