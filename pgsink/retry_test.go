package pgsink_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
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
WHERE datname = current_database() AND query LIKE '%keyless%' AND pid <> pg_backend_pid() AND state = 'active'`).Scan(&n); err != nil || n == 0 {
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

// streamKiller ends the source session reading a table once the sink has
// been given killAfter rows of it, once per table: a dropped connection in
// the middle of that table's streamed read.
type streamKiller struct {
	*pgsink.Sink
	t         *testing.T
	e         *env
	killAfter int

	mu     sync.Mutex
	seen   map[string]int
	killed map[string]bool
}

func (k *streamKiller) Write(ctx context.Context, b redshiftsync.Batch) error {
	err := k.Sink.Write(ctx, b)
	k.mu.Lock()
	name := b.Table.Name
	k.seen[name] += len(b.Rows)
	kill := k.seen[name] >= k.killAfter && !k.killed[name]
	if kill {
		k.killed[name] = true
	}
	k.mu.Unlock()
	if kill {
		var n int
		if err := k.e.src.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND query LIKE 'SELECT %' || $1 || '%' AND pid <> pg_backend_pid()`, sqlident.Qualified(b.Table.Schema, name)).Scan(&n); err != nil || n == 0 {
			k.t.Errorf("table %s: no source session ended: %d, %v", name, n, err)
		}
	}
	return err
}

// TestStreamRetryIncrementalNoKey: the streamed reads of an incremental
// sync of a table without a primary key (a chunk read whole, when the
// replication key has no index; a tie group, when a page is one value of
// the key; the rows whose key is NULL) are retried from their first row
// when the source connection drops part way. The retry used to stream again
// into the same destination transaction, which committed the rows of the
// failed attempt as well (23,000 rows for 20,000). The extractor now tells
// the sink to undo the failed attempt (AttemptSink), and each table holds
// exactly the source's rows, each as many times as at the source.
func TestStreamRetryIncrementalNoKey(t *testing.T) {
	t.Parallel()
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			t.Parallel()
			testStreamRetryIncrementalNoKey(t, plain)
		})
	}
}

// plainKiller is a streamKiller without FlushState: the sink used
// at-least-once (Sink.WithoutState), with the state kept elsewhere
// (examples/basic -state), is an AttemptSink still.
type plainKiller struct {
	resyncAttemptSink // the killer's sink, WithoutState
	k                 *streamKiller
}

type resyncAttemptSink interface {
	redshiftsync.ResyncSink
	redshiftsync.AttemptSink
}

func (p plainKiller) Write(ctx context.Context, b redshiftsync.Batch) error { return p.k.Write(ctx, b) }

func testStreamRetryIncrementalNoKey(t *testing.T, plain bool) {
	e := newEnv(t)
	const rows = 20000
	// Rows of about 650 bytes: 13 MB per table, more than the socket
	// buffers hold, so the server is still sending when the session ends.
	// One table per kind of stream; the plain sink is given the chunk
	// only (the undo is the same for every kind).
	tables := map[string]string{
		"chunk_nokey": `timestamp '2024-01-01' + i * interval '1 second'`, // no index: one chunk
		"tie_nokey":   `timestamp '2024-01-01'`,                           // one tie group
		"null_nokey":  `NULL`,                                             // the NULL-key phase
	}
	if plain {
		tables = map[string]string{"chunk_nokey": tables["chunk_nokey"]}
	}
	for name, key := range tables {
		tbl := sqlident.Qualified(e.schema, name)
		mustExec(t, e.src, `CREATE TABLE %s (n int, v text, updated_at timestamp);
INSERT INTO %[1]s SELECT i %% 5000, repeat(md5(i::text), 20), %s FROM generate_series(1, %d) i;
ANALYZE %[1]s`, tbl, key, rows)
		if name != "chunk_nokey" {
			mustExec(t, e.src, `CREATE INDEX ON %s (updated_at)`, tbl)
		}
	}
	cfg := e.config(t)
	sink := e.newSink(t)
	killer := &streamKiller{Sink: sink, t: t, e: e, killAfter: 3000, seen: map[string]int{}, killed: map[string]bool{}}
	var target redshiftsync.Sink = killer
	var store redshiftsync.StateStore = sink.StateStore()
	if plain {
		target, store = plainKiller{sink.WithoutState().(resyncAttemptSink), killer}, &redshiftsync.MemoryStore{}
	}
	ex, _ := e.syncWith(t, cfg, target, store)
	for _, ts := range ex.Stats().Tables {
		if ts.Retries == 0 {
			t.Errorf("table %s: no retry: the test tested nothing", ts.Table)
		}
	}
	for name := range tables {
		if n := queryInt(t, e.dst, fmt.Sprintf(`SELECT count(*) FROM %s`, sqlident.Qualified(e.schema, name))); n != rows {
			t.Errorf("table %s: %d rows in the destination, %d at the source", name, n, rows)
		}
	}
	if !t.Failed() {
		e.compareAll(t, cfg, "after retried streams", false)
	}
}
