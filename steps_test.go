package redshiftsync_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// stepSink is a ResyncSink and AttemptSink whose methods fail when their
// function field is set and returns an error.
type stepSink struct {
	*memSink
	open, write, flush, beginResync, endResync, beginAttempt func() error
}

func call(f func() error) error {
	if f == nil {
		return nil
	}
	return f()
}

func (s *stepSink) Open(ctx context.Context, t *redshiftsync.Table) error {
	if err := call(s.open); err != nil {
		return err
	}
	return s.memSink.Open(ctx, t)
}

func (s *stepSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	if err := call(s.write); err != nil {
		return err
	}
	return s.memSink.Write(ctx, b)
}

func (s *stepSink) Flush(context.Context, *redshiftsync.Table) error { return call(s.flush) }

func (s *stepSink) BeginResync(context.Context, *redshiftsync.Table) error {
	return call(s.beginResync)
}

func (s *stepSink) EndResync(context.Context, *redshiftsync.Table) error { return call(s.endResync) }

func (s *stepSink) BeginAttempt(context.Context, *redshiftsync.Table) error {
	return call(s.beginAttempt)
}

func (s *stepSink) UndoAttempt(context.Context, *redshiftsync.Table) error { return nil }

// failingStore is a MemoryStore whose Save fails.
type failingStore struct{ redshiftsync.MemoryStore }

func (f *failingStore) Save(context.Context, []byte) error { return errors.New("disk full") }

// TestTableErrorSteps forces every step that a sink, a store, a saved state
// or a missing privilege can make fail on PostgreSQL, and checks that the
// TableError names it with its constant. (Not forced here: StepDecode and
// StepUndoAttempt need a value lib/pq hands over that its decoder refuses;
// StepRead and StepReadChunk, reads that PostgreSQL 14+ does in block order;
// the snapshot steps, StepReadTransactions, StepReadTableSize and
// StepReadClock, queries that need no privilege on the table or are
// Redshift's.)
func TestTableErrorSteps(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.pk (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.pk SELECT i, 'v' || i FROM generate_series(1, 50) i;
ANALYZE %[1]s.pk;
CREATE TABLE %[1]s.inc (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.inc SELECT i, timestamptz '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 50) i;
CREATE TABLE %[1]s.ties (updated_at timestamp NOT NULL, v int);
INSERT INTO %[1]s.ties SELECT timestamp '2024-01-01', i FROM generate_series(1, 50) i;
CREATE INDEX ON %[1]s.ties (updated_at);
CREATE TABLE %[1]s.nopk (v int);
INSERT INTO %[1]s.nopk SELECT i FROM generate_series(1, 50) i;`, s))
	boom := func() error { return errors.New("boom") }
	badPosition := func(t *testing.T) redshiftsync.StateStore {
		store := &redshiftsync.MemoryStore{}
		doc := fmt.Sprintf(`{"version":2,"tables":{"%s.pk":{"mode":"full","in_progress":{"phase":"rows","rows":1,"order":["id bigint"],"after":["abc"]}}}}`, s)
		if err := store.Save(context.Background(), []byte(doc)); err != nil {
			t.Fatal(err)
		}
		return store
	}
	// A role that may read none of the tables.
	role := "stepless_" + randomHex(t, 4)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN PASSWORD 'pw'; GRANT USAGE ON SCHEMA %[2]s TO %[1]s`, role, s))
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })

	for _, tc := range []struct {
		step, table string
		sink        func(*stepSink)
		store       func(*testing.T) redshiftsync.StateStore
		noGrant     bool
		cfg         func(*redshiftsync.Config)
	}{
		{step: redshiftsync.StepOpenSink, table: "pk", sink: func(k *stepSink) { k.open = boom }},
		{step: redshiftsync.StepWrite, table: "pk", sink: func(k *stepSink) { k.write = boom }},
		{step: redshiftsync.StepFlush, table: "pk", sink: func(k *stepSink) { k.flush = boom }},
		{step: redshiftsync.StepSaveCheckpoint, table: "pk", store: func(*testing.T) redshiftsync.StateStore { return &failingStore{} }},
		{step: redshiftsync.StepBeginResync, table: "pk", sink: func(k *stepSink) { k.beginResync = boom }},
		{step: redshiftsync.StepEndResync, table: "pk", sink: func(k *stepSink) { k.endResync = boom }},
		{step: redshiftsync.StepBeginAttempt, table: "ties", sink: func(k *stepSink) { k.beginAttempt = boom }},
		{step: redshiftsync.StepSync, table: "pk", sink: func(k *stepSink) { k.open = func() error { panic("sink bug") } }},
		{step: redshiftsync.StepLoadState, table: "pk", store: badPosition},
		{step: redshiftsync.StepReadPage, table: "pk", noGrant: true},
		{step: redshiftsync.StepReadHighWater, table: "inc", noGrant: true},
		{step: redshiftsync.StepReadBlocks, table: "nopk", noGrant: true},
		{step: redshiftsync.StepReadBounds, table: "pk", noGrant: true, cfg: func(c *redshiftsync.Config) { c.Partitions, c.PartitionThreshold = 2, 1 }},
	} {
		t.Run(tc.step, func(t *testing.T) {
			cfg := testConfig(t, s)
			if tc.noGrant {
				cfg = configFor(t, dsnAs(t, role, "pw"), s)
			}
			cfg.IncludeTables = []string{tc.table}
			cfg.BatchSize, cfg.MaxRetries = 10, 1
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			sink := &stepSink{memSink: newMemSink()}
			if tc.sink != nil {
				tc.sink(sink)
			}
			var store redshiftsync.StateStore = &redshiftsync.MemoryStore{}
			if tc.store != nil {
				store = tc.store(t)
			}
			_, err := runOnce(t, cfg, sink, store)
			var te *redshiftsync.TableError
			if !errors.As(err, &te) || te.Step != tc.step || te.Table != s+"."+tc.table {
				t.Fatalf("err = %v; want a TableError of %s.%s in step %q", err, s, tc.table, tc.step)
			}
		})
	}
}

// dsnAs returns the test DSN with another user and password.
func dsnAs(t *testing.T, user, pw string) string {
	t.Helper()
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, pw)
	return u.String()
}
