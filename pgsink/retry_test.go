package pgsink_test

import (
	"context"
	"sync"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// sessionKiller ends the source's session that reads the keyless table once
// it has been given 3000 rows: a dropped connection in the middle of the
// table's one streaming read.
type sessionKiller struct {
	*pgsink.Sink
	t    *testing.T
	e    *env
	once sync.Once
	n    int
}

func (k *sessionKiller) Write(ctx context.Context, b redshiftsync.Batch) error {
	err := k.Sink.Write(ctx, b)
	if k.n += len(b.Rows); k.n >= 3000 {
		k.once.Do(func() {
			var n int
			if err := k.e.src.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE query LIKE '%keyless%' AND pid <> pg_backend_pid() AND state = 'active'`).Scan(&n); err != nil || n == 0 {
				k.t.Errorf("no source session ended: %d, %v", n, err)
			}
		})
	}
	return err
}

// TestStreamRetryKeyless: a keyless table is read in one stream; when the
// connection drops part way, the extractor retries the stream from its first
// row, in the same sync, without telling the sink, so the rows delivered
// before the drop are delivered twice and a keyless destination holds them
// twice (209,000 rows for 200,000). The extractor should fail the table
// instead of retrying a stream that has delivered rows (the rerun then
// begins the resync again), or call BeginResync again before the retry
// (this sink then starts the copy over).
func TestStreamRetryKeyless(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Partitioned: read in one stream (block ranges do not apply to it).
	mustExec(t, e.src, `CREATE TABLE %[1]s.keyless (n int, v text) PARTITION BY RANGE (n);
CREATE TABLE %[1]s.keyless_all PARTITION OF %[1]s.keyless DEFAULT;
INSERT INTO %[1]s.keyless SELECT i, repeat(md5(i::text), 20) FROM generate_series(1, 200000) i;`, e.schema)
	cfg := e.config(t)
	sink := e.newSink(t)
	e.sync(t, cfg, &sessionKiller{Sink: sink, t: t, e: e}, sink.StateStore())
	e.compareAll(t, cfg, "after a retried stream", false)
}
