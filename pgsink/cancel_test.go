package pgsink_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// stopper is a pgsink.Sink whose run is stopped (its context canceled, as
// SIGINT does in examples/basic) inside a call: the Write of the batch
// holding id stopAt, or the first FlushState once rows past stopAt were
// written.
type stopper struct {
	*pgsink.Sink
	stop    context.CancelFunc
	stopAt  int64
	inFlush bool
	past    bool
}

func (s *stopper) Write(ctx context.Context, b redshiftsync.Batch) error {
	for _, r := range b.Rows {
		if r[0].(int64) == s.stopAt {
			s.past = true
			if !s.inFlush {
				s.stop()
			}
		}
	}
	return s.Sink.Write(ctx, b)
}

func (s *stopper) FlushState(ctx context.Context, t *redshiftsync.Table, entry *redshiftsync.TableView, doc []byte) error {
	if s.inFlush && s.past {
		s.stop()
	}
	return s.Sink.FlushState(ctx, t, entry, doc)
}

// TestCancelMidWriteSaves stops a multi-checkpoint sync into pgsink in the
// middle of a Write, and in the middle of a checkpoint's FlushState. The
// canceled context used to fail the sink's statements, which rolled back
// the table's transaction: the rows written since the last checkpoint were
// lost and the state kept that checkpoint (3,000 rows), although the README
// promises that on a stop the sink is flushed and the last position saved.
// Now the sink's statements outlive the cancel (for a grace period), the
// stop saves what was written with its position, and the saved state claims
// exactly the rows the destination holds; a rerun loads the rest, each row
// once.
func TestCancelMidWriteSaves(t *testing.T) {
	t.Parallel()
	for _, inFlush := range []bool{false, true} {
		t.Run(fmt.Sprintf("inFlush=%v", inFlush), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			const rows, stopAt = 10000, 4500
			tbl := sqlident.Qualified(e.schema, "orders")
			mustExec(t, e.src, `CREATE TABLE %s (id bigint PRIMARY KEY, updated_at timestamp NOT NULL, v text);
CREATE INDEX ON %[1]s (updated_at, id);
INSERT INTO %[1]s SELECT i, timestamp '2024-01-01' + i * interval '1 second', md5(i::text) FROM generate_series(1, %d) i`, tbl, rows)
			cfg := e.config(t)
			cfg.BatchSize, cfg.CheckpointEveryRows, cfg.CheckpointInterval = 1000, 2500, time.Hour
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sink := &stopper{Sink: e.newSink(t), stop: cancel, stopAt: stopAt, inFlush: inFlush}
			ex, err := redshiftsync.New(cfg, sink, sink.StateStore())
			if err != nil {
				t.Fatal(err)
			}
			_, err = ex.Run(ctx)
			ex.Close()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want context.Canceled", err)
			}

			ts := stateDoc(t, sink.StateStore()).Tables[e.schema+".orders"]
			if ts == nil || ts.InProgress == nil {
				t.Fatalf("no progress saved: %+v", ts)
			}
			held := queryInt(t, e.dst, fmt.Sprintf(`SELECT count(*) FROM %s`, tbl))
			maxID := queryInt(t, e.dst, fmt.Sprintf(`SELECT coalesce(max(id), 0) FROM %s`, tbl))
			t.Logf("stopped: the state claims %d rows, after %v; the destination holds %d (ids up to %d)", ts.InProgress.Rows, ts.InProgress.After, held, maxID)
			if ts.InProgress.Rows != held || held != maxID {
				t.Errorf("the state claims %d rows, the destination holds %d rows with ids up to %d", ts.InProgress.Rows, held, maxID)
			}
			if ts.InProgress.Rows < stopAt {
				t.Errorf("the state claims %d rows: the rows written before the stop (up to id %d) were not saved", ts.InProgress.Rows, stopAt)
			}
			if a := ts.InProgress.After; len(a) != 2 || a[1] != fmt.Sprint(maxID) {
				t.Errorf("the saved position %v is not the last row held (id %d)", a, maxID)
			}

			e.sync(t, cfg, sink.Sink, sink.StateStore())
			e.compareAll(t, cfg, "after the rerun", false)
		})
	}
}
