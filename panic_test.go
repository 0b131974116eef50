package redshiftsync_test

// No panic from any input: key ranges with infinite ends, and panics in the
// caller's code (sink, hooks) called from goroutines the library starts,
// which must come back as errors instead of killing the process.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestPartitionBoundsInfinite: a table split into key ranges whose leading
// column reaches 'infinity' (or starts at '-infinity') is read whole. The
// range split took the infinite end for a time.Time and panicked.
func TestPartitionBoundsInfinite(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.hi (at timestamp PRIMARY KEY, v int);
INSERT INTO %[1]s.hi SELECT timestamp '2024-01-01' + i * interval '1 minute', i FROM generate_series(1, 500) i;
INSERT INTO %[1]s.hi VALUES ('infinity', -1);
CREATE TABLE %[1]s.lo (at timestamptz PRIMARY KEY, v int);
INSERT INTO %[1]s.lo SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute', i FROM generate_series(1, 500) i;
INSERT INTO %[1]s.lo VALUES ('-infinity', -1), ('infinity', -2);
CREATE TABLE %[1]s.d (day date PRIMARY KEY, v int);
INSERT INTO %[1]s.d SELECT date '2000-01-01' + i, i FROM generate_series(1, 500) i;
INSERT INTO %[1]s.d VALUES ('infinity', -1);
ANALYZE %[1]s.hi; ANALYZE %[1]s.lo; ANALYZE %[1]s.d;`)
	for _, dialect := range []redshiftsync.Dialect{redshiftsync.DialectPostgres, redshiftsync.DialectRedshift} {
		t.Run(string(dialect), func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.Dialect = dialect
			cfg.Partitions, cfg.PartitionThreshold, cfg.BatchSize = 4, 100, 50
			sink := newMemSink()
			mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
			for _, table := range []string{"hi", "lo", "d"} {
				want := sourceMap(t, db, `SELECT v::text, v::text FROM `+s+`.`+table)
				got := map[string]string{}
				for _, v := range sink.column(s+"."+table, "v") {
					got[v] = v
				}
				if d := diffMaps(want, got); d != "" {
					t.Errorf("%s: %s", table, d)
				}
			}
		})
	}
}

// panicSink is a memSink whose Write or Flush panics for one table, once it
// has seen writes rows of it.
type panicSink struct {
	*memSink
	table            string
	after            int
	writes           atomic.Int64
	inWrite, inFlush bool
}

func (p *panicSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	if b.Table.Name == p.table && p.writes.Add(int64(len(b.Rows))) > int64(p.after) && p.inWrite {
		var m map[string]int
		m["boom"]++ // a nil map write: a runtime error, as a buggy sink makes
	}
	return p.memSink.Write(ctx, b)
}

func (p *panicSink) Flush(ctx context.Context, t *redshiftsync.Table) error {
	if t.Name == p.table && p.inFlush && p.writes.Load() > 0 {
		panic("flush exploded")
	}
	return p.memSink.Flush(ctx, t)
}

// TestPanicsBecomeErrors: a panic in the caller's Sink or checkpoint hook,
// called from a table's goroutine or a partition reader, fails that table
// with a *TableError wrapping ErrPanic (the stack goes to the debug log),
// saves nothing more for it, and the process lives on; the next run resumes
// from the last checkpoint and delivers every row. A panic in the progress
// hook stops that hook and is reported in Run's error; the tables finish.
func TestPanicsBecomeErrors(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.boom (id bigint PRIMARY KEY, v int);
INSERT INTO %[1]s.boom SELECT i, i FROM generate_series(1, 6000) i;
CREATE TABLE %[1]s.calm (id bigint PRIMARY KEY, v int);
INSERT INTO %[1]s.calm SELECT i, i FROM generate_series(1, 300) i;
ANALYZE %[1]s.boom; ANALYZE %[1]s.calm;`)
	check := func(t *testing.T, sink *memSink, tables ...string) {
		t.Helper()
		for _, table := range tables {
			if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
				t.Errorf("%s: %s", table, d)
			}
		}
	}
	wantPanic := func(t *testing.T, err error, logs *logBuffer, what string) {
		t.Helper()
		var te *redshiftsync.TableError
		if !errors.As(err, &te) || te.Table != s+".boom" || !errors.Is(err, redshiftsync.ErrPanic) || !strings.Contains(err.Error(), what) {
			t.Fatalf("err = %v; want a *TableError of %s.boom wrapping ErrPanic and saying %q", err, s, what)
		}
		if !strings.Contains(logs.String(), "panic_test.go") {
			t.Errorf("the debug log has no stack naming the panicking code:\n%s", logs.String())
		}
	}

	for _, tc := range []struct {
		name       string
		partitions int
		inWrite    bool
		inFlush    bool
		what       string
	}{
		{"write, partition reader", 4, true, false, "assignment to entry in nil map"},
		{"write, one unit", 1, true, false, "assignment to entry in nil map"},
		{"flush", 1, false, true, "flush exploded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.Partitions, cfg.PartitionThreshold, cfg.BatchSize, cfg.CheckpointEveryRows = tc.partitions, 1000, 500, 1000
			cfg.IncludeTables = []string{"boom"}
			store := &redshiftsync.MemoryStore{}
			base := newMemSink()
			sink := &panicSink{memSink: base, table: "boom", after: 3000, inWrite: tc.inWrite, inFlush: tc.inFlush}
			logs := &logBuffer{}
			_, err := runOnce(t, cfg, sink, store, redshiftsync.WithLogger(newLogger(logs)))
			wantPanic(t, err, logs, tc.what)
			mustRun(t, cfg, base, store)
			check(t, base, "boom")
		})
	}

	t.Run("checkpoint hook", func(t *testing.T) {
		cfg := testConfig(t, s)
		cfg.BatchSize, cfg.CheckpointEveryRows = 500, 1000
		sink, logs := newMemSink(), &logBuffer{}
		var calls atomic.Int64
		hook := func(c redshiftsync.Checkpoint) {
			if strings.HasSuffix(c.Table, ".boom") && calls.Add(1) == 2 {
				panic(fmt.Errorf("hook failed at %d rows", c.Rows))
			}
		}
		_, err := runOnce(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)), redshiftsync.WithCheckpointHook(hook))
		wantPanic(t, err, logs, "hook failed at")
	})

	t.Run("progress hook", func(t *testing.T) {
		cfg := testConfig(t, s)
		sink := newMemSink()
		var mu sync.Mutex
		calls := 0
		hook := func(redshiftsync.Stats) {
			mu.Lock()
			calls++
			mu.Unlock()
			panic("progress exploded")
		}
		_, err := runOnce(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithProgressHook(time.Millisecond, hook))
		if !errors.Is(err, redshiftsync.ErrPanic) || !strings.Contains(err.Error(), "progress exploded") {
			t.Errorf("err = %v; want one wrapping ErrPanic that says what the hook panicked with", err)
		}
		var te *redshiftsync.TableError
		if errors.As(err, &te) {
			t.Errorf("a table failed for the progress hook's panic: %v", te)
		}
		mu.Lock()
		if calls != 1 {
			t.Errorf("the hook was called %d times; after its panic it must not be called again", calls)
		}
		mu.Unlock()
		check(t, sink, "boom", "calm")
	})
}

// TestResumeCorruptState: a saved state whose position does not fit the
// table's plan is refused with ErrStateCorrupt naming the table, before a
// row is read; each of these panicked (a nil partition, a position tuple
// longer or shorter than the ordering, partitions of a table with no
// ordering) or failed on the server (an unparseable bound).
func TestResumeCorruptState(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.t (id bigint PRIMARY KEY, v int);
INSERT INTO %[1]s.t SELECT i, i FROM generate_series(1, 100) i;
CREATE TABLE %[1]s.t2 (a int, b int, v int, PRIMARY KEY (a, b));
INSERT INTO %[1]s.t2 SELECT i / 10, i, i FROM generate_series(1, 100) i;
CREATE TABLE %[1]s.keyless (v int);
INSERT INTO %[1]s.keyless SELECT i FROM generate_series(1, 100) i;`)
	const head = `{"version":1,"tables":{"%s.%s":{"mode":"full","in_progress":{"phase":"rows","rows":10,"order":%s,%s}}}}`
	for _, tc := range []struct {
		name, table, order, progress string
	}{
		{"nil partition", "t", `["id bigint"]`, `"partitions":[null]`},
		{"after too long", "t", `["id bigint"]`, `"after":["5","6"]`},
		{"after too short", "t2", `["a integer","b integer"]`, `"after":["5"]`},
		{"partition after too long", "t", `["id bigint"]`, `"partitions":[{"upper":"50","after":["1","2"]},{"lower":"50"}]`},
		{"partitions without an ordering", "keyless", `null`, `"partitions":[{"upper":"50"},{"lower":"50"}]`},
		{"bound unparseable", "t", `["id bigint"]`, `"partitions":[{"upper":"fifty"},{"lower":"fifty"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, s)
			cfg.IncludeTables = []string{tc.table}
			store := &redshiftsync.MemoryStore{}
			if err := store.Save(context.Background(), []byte(fmt.Sprintf(head, s, tc.table, tc.order, tc.progress))); err != nil {
				t.Fatal(err)
			}
			sink := newMemSink()
			_, err := runOnce(t, cfg, sink, store)
			if !errors.Is(err, redshiftsync.ErrStateCorrupt) || !strings.Contains(err.Error(), s+"."+tc.table) {
				t.Errorf("err = %v; want ErrStateCorrupt naming %s.%s", err, s, tc.table)
			}
			if n := len(sink.column(s+"."+tc.table, "v")); n != 0 {
				t.Errorf("%d rows read from a corrupt state", n)
			}
		})
	}
}
