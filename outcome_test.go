package redshiftsync_test

// This file tests how a Run's tables end: a failure that belongs to one
// table (a privilege the role lacks) ends only that table and names the
// GRANT to run; a failure that stops the run reports the other tables
// canceled, not failed; the caller's cancel reports them interrupted.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// fiveTables creates five small tables in a fresh schema: a1, a2 (rows 1..n)
// and the others (rows 1..n) too.
func fiveTables(t *testing.T, n int) (schema string, names []string) {
	t.Helper()
	db := pgtest.Open(t)
	schema = pgtest.NewSchema(t, db)
	names = []string{"clicks", "orders", "page_views", "sessions", "users"}
	for _, name := range names {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.%[2]s (id bigint PRIMARY KEY, v text NOT NULL);
INSERT INTO %[1]s.%[2]s SELECT i, md5(i::text) FROM generate_series(1, %[3]d) i;`, schema, name, n))
	}
	return schema, names
}

// readerRole creates a role that may read only the tables readable of
// schema, and returns its name; the role is dropped when the test ends.
func readerRole(t *testing.T, schema string, readable ...string) string {
	t.Helper()
	db := pgtest.Open(t)
	role := "reader_" + randomHex(t, 6)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s;`, role, schema))
	for _, name := range readable {
		pgtest.Exec(t, db, fmt.Sprintf(`GRANT SELECT ON %s.%s TO %s`, schema, name, role))
	}
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })
	return role
}

// TestPermissionDeniedEndsOnlyThatTable: as a role that may read two of five
// tables, the two are synced and the three others each fail with 42501 and
// the GRANT to run; no table is canceled, and the run's error is no
// cancellation.
func TestPermissionDeniedEndsOnlyThatTable(t *testing.T) {
	schema, names := fiveTables(t, 50)
	role := readerRole(t, schema, "orders", "users")
	cfg := configFor(t, dsnWith(t, func(u *url.URL) { u.User = url.User(role) }), schema)
	cfg.MaxParallelWorkers = 2
	sink := newMemSink()
	rep, err := runOnce(t, cfg, sink, &redshiftsync.MemoryStore{})
	if err == nil {
		t.Fatal("the run succeeded; want the three unreadable tables failed")
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) is true for a run nobody canceled: %v", err)
	}
	var first *redshiftsync.TableError
	if !errors.As(err, &first) || redshiftsync.SQLState(first) != "42501" {
		t.Errorf("errors.As finds %v first, want a table's permission denied", first)
	}
	byName := map[string]redshiftsync.TableReport{}
	for _, tr := range rep.Tables {
		byName[tr.Table] = tr
	}
	for _, name := range names {
		tr := byName[schema+"."+name]
		if name == "orders" || name == "users" {
			if tr.Status != redshiftsync.TableOK || tr.Err != nil || tr.Rows != 50 || len(sink.rows[tr.Table]) != 50 {
				t.Errorf("%s: status %q, err %v, %d rows (%d delivered); want ok, 50 rows", tr.Table, tr.Status, tr.Err, tr.Rows, len(sink.rows[tr.Table]))
			}
			continue
		}
		grant := fmt.Sprintf("GRANT SELECT ON %s.%s TO %s;", schema, name, role)
		if tr.Status != redshiftsync.TableFailed || redshiftsync.SQLState(tr.Err) != "42501" || !strings.Contains(tr.Err.Error(), grant) {
			t.Errorf("%s: status %q, err %v; want failed, SQLSTATE 42501 and %q", tr.Table, tr.Status, tr.Err, grant)
		}
		if !strings.Contains(err.Error(), grant) {
			t.Errorf("the run's error does not name %s and its GRANT:\n%v", tr.Table, err)
		}
	}
	// The causes come first: the run's error begins with a failed table.
	if !strings.HasPrefix(err.Error(), "redshiftsync: table "+schema+".") || !strings.Contains(strings.SplitN(err.Error(), "\n", 2)[0], "42501") {
		t.Errorf("the run's error does not begin with a cause:\n%v", err)
	}
}

// failingSink fails the writes of one table, and holds the others' writes
// until it has failed, so that they are running when it does.
type failingSink struct {
	*memSink
	table  string
	failed chan struct{}
	once   sync.Once
}

var errDiskFull = errors.New("disk full")

func (s *failingSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	if b.Table.QualifiedName() == s.table {
		s.once.Do(func() { close(s.failed) })
		return errDiskFull
	}
	<-s.failed
	// The other tables are still mid-sync when the failure stops the run:
	// each write waits for the cancellation to reach it (bounded, so a run
	// that is never stopped fails the test rather than hang it). Without
	// the wait, a table could write its last rows before the cancellation
	// reached it, and be rightly reported ok.
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	return s.memSink.Write(ctx, b)
}

// TestSinkFailureCancelsTheOthers: a sink failure stops the run; the other
// tables are reported canceled, wrapping ErrCanceledByFailure and naming
// the failed table, and the run's error is no cancellation, with the cause
// first.
func TestSinkFailureCancelsTheOthers(t *testing.T) {
	schema, _ := fiveTables(t, 3000)
	cfg := testConfig(t, schema)
	cfg.MaxParallelWorkers = 5
	cfg.BatchSize = 100
	bad := schema + ".clicks"
	sink := &failingSink{memSink: newMemSink(), table: bad, failed: make(chan struct{})}
	// The last progress report (the one Run makes as it ends) must show
	// the canceled tables as canceled, as the report does.
	var last redshiftsync.Stats
	rep, err := runOnce(t, cfg, sink, &redshiftsync.MemoryStore{},
		redshiftsync.WithProgressHook(time.Hour, func(st redshiftsync.Stats) { last = st }))
	for _, ts := range last.Tables {
		want := "canceled"
		if ts.Table == bad {
			want = "failed"
		}
		if ts.State != want {
			t.Errorf("%s: progress state %q, want %q", ts.Table, ts.State, want)
		}
	}
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err = %v, want the sink's failure", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) is true for a run nobody canceled: %v", err)
	}
	var first *redshiftsync.TableError
	if !errors.As(err, &first) || first.Table != bad || !errors.Is(first, errDiskFull) {
		t.Errorf("errors.As finds %v first, want %s's sink failure", first, bad)
	}
	canceled := 0
	for _, tr := range rep.Tables {
		switch {
		case tr.Table == bad:
			if tr.Status != redshiftsync.TableFailed {
				t.Errorf("%s: status %q, want failed", tr.Table, tr.Status)
			}
		case tr.Status == redshiftsync.TableCanceled:
			canceled++
			if !errors.Is(tr.Err, redshiftsync.ErrCanceledByFailure) || errors.Is(tr.Err, context.Canceled) || !strings.Contains(tr.Err.Error(), bad) {
				t.Errorf("%s: canceled with %v; want ErrCanceledByFailure naming %s, not context.Canceled", tr.Table, tr.Err, bad)
			}
		default:
			t.Errorf("%s: status %q (err %v); want canceled", tr.Table, tr.Status, tr.Err)
		}
	}
	if canceled != 4 {
		t.Errorf("%d tables canceled, want 4", canceled)
	}
}

// blockingSink holds every write until its context is done, after telling
// started once every table has written.
type blockingSink struct {
	*memSink
	mu      sync.Mutex
	seen    map[string]bool
	want    int
	started chan struct{}
}

func (s *blockingSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	s.mu.Lock()
	s.seen[b.Table.QualifiedName()] = true
	if len(s.seen) == s.want {
		select {
		case <-s.started:
		default:
			close(s.started)
		}
	}
	s.mu.Unlock()
	<-ctx.Done()
	return context.Cause(ctx) // as a sink that reports why it stopped does
}

// TestCallerCancelInterrupts: the caller's cancel, plain or with a cause of
// its own (a signal, say), reports every table interrupted, and the run's
// error wraps context.Canceled.
func TestCallerCancelInterrupts(t *testing.T) {
	errSignal := errors.New("stopped by a signal")
	for _, withCause := range []bool{false, true} {
		t.Run(fmt.Sprintf("cause=%v", withCause), func(t *testing.T) {
			schema, names := fiveTables(t, 500)
			cfg := testConfig(t, schema)
			cfg.MaxParallelWorkers = 5
			cfg.BatchSize = 100
			sink := &blockingSink{memSink: newMemSink(), seen: map[string]bool{}, want: len(names), started: make(chan struct{})}
			ex := synctest.New(t, cfg, sink, &redshiftsync.MemoryStore{})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			runCtx, stop := context.WithCancelCause(ctx)
			go func() {
				select {
				case <-sink.started:
				case <-ctx.Done():
				}
				if withCause {
					stop(errSignal)
				} else {
					stop(nil)
				}
			}()
			rep, err := ex.Run(runCtx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			for _, tr := range rep.Tables {
				if tr.Status != redshiftsync.TableInterrupted {
					t.Errorf("%s: status %q, err %v; want interrupted", tr.Table, tr.Status, tr.Err)
				}
			}
		})
	}
}

// TestPermissionDeniedOnSchema: a role without USAGE on the schema is told
// the GRANT USAGE to run, for each table.
func TestPermissionDeniedOnSchema(t *testing.T) {
	schema, names := fiveTables(t, 5)
	db := pgtest.Open(t)
	role := "reader_" + randomHex(t, 6)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %s LOGIN`, role))
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })
	cfg := configFor(t, dsnWith(t, func(u *url.URL) { u.User = url.User(role) }), schema)
	rep, err := runOnce(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
	want := fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", schema, role)
	if err == nil || len(rep.Tables) != len(names) {
		t.Fatalf("err = %v, %d tables reported; want %d failed", err, len(rep.Tables), len(names))
	}
	for _, tr := range rep.Tables {
		if tr.Status != redshiftsync.TableFailed || !strings.Contains(tr.Err.Error(), want) {
			t.Errorf("%s: status %q, err %v; want failed saying %q", tr.Table, tr.Status, tr.Err, want)
		}
	}
}
