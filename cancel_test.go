package redshiftsync_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// countSink counts the deliveries of each row of tables keyed by an integer
// id 1..n in their first column: cheap enough for hundreds of thousands of
// rows. It ignores its context, as a careless sink would, so that the
// extractor's own promptness is what is measured.
type countSink struct {
	mu      sync.Mutex
	n       int
	seen    map[string][]uint16
	written int64
	delay   time.Duration // per Write, a slow destination
	onWrite func(total int64)
}

func newCountSink(n int) *countSink { return &countSink{n: n, seen: map[string][]uint16{}} }

func (c *countSink) Open(_ context.Context, t *redshiftsync.Table) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[t.QualifiedName()] == nil {
		c.seen[t.QualifiedName()] = make([]uint16, c.n+1)
	}
	return nil
}

func (c *countSink) Write(_ context.Context, b redshiftsync.Batch) error {
	time.Sleep(c.delay)
	c.mu.Lock()
	seen := c.seen[b.Table.QualifiedName()]
	for _, r := range b.Rows {
		id, ok := r[0].(int64)
		if !ok || id < 1 || int(id) > c.n {
			c.mu.Unlock()
			return fmt.Errorf("unexpected id %v", r[0])
		}
		seen[id]++
	}
	c.written += int64(len(b.Rows))
	total := c.written
	c.mu.Unlock()
	if c.onWrite != nil {
		c.onWrite(total)
	}
	return nil
}

func (c *countSink) Flush(context.Context, *redshiftsync.Table) error { return nil }

// missing returns how many ids of table were never delivered, and the first.
func (c *countSink) missing(table string) (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, first := 0, 0
	for id, k := range c.seen[table][1:] {
		if k == 0 {
			if n == 0 {
				first = id + 1
			}
			n++
		}
	}
	return n, first
}

// activeQueries counts the extractor's backends still running a statement
// that mentions schema.
func activeQueries(t *testing.T, db *sql.DB, schema string) int {
	t.Helper()
	return pgtest.QueryValue[int](t, db, `SELECT count(*) FROM pg_stat_activity
WHERE application_name = 'redshiftsync' AND state = 'active' AND pid <> pg_backend_pid()
AND strpos(query, $1) > 0`, schema)
}

// TestCancelMidTable: the run's context is canceled while a big table is
// read. Run returns within 2 seconds with an error wrapping
// context.Canceled, no query is left running on the server, the state holds
// the progress made, and a rerun delivers every row without starting over
// (keyset pages) or, for a table read in one stream, from the start.
func TestCancelMidTable(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	const paged, streamed = 200_000, 200_000
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.paged (id bigint PRIMARY KEY, v text NOT NULL);
INSERT INTO %[1]s.paged SELECT i, repeat('x', 40) FROM generate_series(1, %[2]d) i;
CREATE TABLE %[1]s.streamed (id bigint NOT NULL, v text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE %[1]s.streamed_all PARTITION OF %[1]s.streamed DEFAULT;
INSERT INTO %[1]s.streamed SELECT i, repeat('y', 40) FROM generate_series(1, %[3]d) i;
CREATE TABLE %[1]s.blocks (id bigint NOT NULL, v text NOT NULL);
INSERT INTO %[1]s.blocks SELECT i, repeat('z', 40) FROM generate_series(1, %[3]d) i;`, s, paged, streamed))

	for _, tc := range []struct {
		table    string
		rows     int
		cancelAt int64
		delay    time.Duration
		resumes  bool  // a rerun goes on from the saved position
		slack    int64 // rows a resume may read again beyond the saved ones
	}{
		{"paged", paged, 50_000, 0, true, 2000},
		// A keyless partitioned table: one streaming read.
		{"streamed", streamed, 30_000, 2 * time.Millisecond, false, 0},
		// A keyless table: block ranges, which resume; the two ranges in
		// flight (of about 3,200 rows each) are read again.
		{"blocks", streamed, 30_000, 0, true, 10_000},
	} {
		t.Run(tc.table, func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.IncludeTables = []string{tc.table}
			cfg.BatchSize = 2000
			cfg.CheckpointEveryRows = 20_000
			cfg.MaxRetries = 5
			sink := newCountSink(tc.rows)
			sink.delay = tc.delay
			store := &redshiftsync.MemoryStore{}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var canceledAt time.Time
			var once sync.Once
			activeAtCancel := 0
			sink.onWrite = func(total int64) {
				if total >= tc.cancelAt {
					once.Do(func() {
						activeAtCancel = activeQueries(t, db, s)
						canceledAt = time.Now()
						cancel()
					})
				}
			}
			ex := synctest.New(t, cfg, sink, store)
			rep, err := ex.Run(ctx)
			latency := time.Since(canceledAt)
			if canceledAt.IsZero() {
				t.Fatalf("the run ended (%v) before it was canceled", err)
			}
			t.Logf("Run returned %v after cancel; %d rows delivered", latency.Round(time.Millisecond), sink.written)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want one wrapping context.Canceled", err)
			}
			if latency > 2*time.Second {
				t.Errorf("Run returned %v after cancel, want within 2s", latency)
			}
			if tr := rep.Tables[0]; tr.Mode != redshiftsync.ModeFull {
				t.Fatalf("%s planned %s, the test wants a full read", tr.Table, tr.Mode)
			}

			// The server stops the statement too: nothing of ours keeps
			// reading the table. (A streaming read is still running when it
			// is canceled, which shows that this check can fail.)
			if !tc.resumes && activeAtCancel == 0 {
				t.Errorf("no query of the run was active when it was canceled: the check below proves nothing")
			}
			deadline := time.Now().Add(time.Second)
			for activeQueries(t, db, s) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("a query of the canceled run still runs on the server a second after Run returned")
				}
				time.Sleep(20 * time.Millisecond)
			}

			if tc.resumes {
				st := loadStateDoc(t, store).Tables[s+"."+tc.table]
				done := 0 // partitions done or under way
				if st != nil && st.InProgress != nil {
					for _, p := range st.InProgress.Partitions {
						if p.Done || p.After != nil {
							done++
						}
					}
				}
				if st == nil || st.InProgress == nil || st.InProgress.Rows < tc.cancelAt || len(st.InProgress.After) == 0 && done == 0 {
					t.Fatalf("state after the cancel does not hold the progress: %+v", st)
				}
			}

			sink.onWrite = nil
			rep2, err := ex.Run(context.Background())
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if n, first := sink.missing(s + "." + tc.table); n > 0 {
				t.Fatalf("after the rerun %d rows were never delivered (first id %d)", n, first)
			}
			reread := rep2.Rows
			t.Logf("rerun read %d rows of %d", reread, tc.rows)
			if tc.resumes && reread > int64(tc.rows)-tc.cancelAt+tc.slack {
				t.Errorf("the rerun read %d rows: it did not resume from the %d saved", reread, tc.cancelAt)
			}
		})
	}
}
