package redshiftsync_test

// The default byte budget of a batch: wide rows synced with the default
// configuration reach the sink in batches within BatchBytesDefault on every
// read path (the non-unique page loop and its tie groups, the unique page
// stream, block order), so memory stays bounded whatever the row width.

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// batchSizeSink records the estimated bytes (RowBytes) and rows of every
// batch and keeps only each row's id, not the wide rows.
type batchSizeSink struct {
	mu      sync.Mutex
	batches map[string][]batchSize
	ids     map[string]map[string]bool
}

type batchSize struct {
	rows    int
	bytes   int64
	largest int64 // the largest row's bytes
}

func (s *batchSizeSink) Open(context.Context, *redshiftsync.Table) error { return nil }

func (s *batchSizeSink) Write(_ context.Context, b redshiftsync.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := b.Table.QualifiedName()
	if s.ids[name] == nil {
		s.ids[name] = map[string]bool{}
	}
	bs := batchSize{rows: len(b.Rows)}
	for _, r := range b.Rows {
		n := redshiftsync.RowBytes(r)
		bs.bytes += n
		bs.largest = max(bs.largest, n)
		s.ids[name][fmt.Sprint(r[0])] = true
	}
	s.batches[name] = append(s.batches[name], bs)
	return nil
}

func (s *batchSizeSink) Flush(context.Context, *redshiftsync.Table) error { return nil }

// TestDefaultBatchBytesBoundsWideRows: tables of ~1 MB rows (and one row
// larger than the budget) synced with the default configuration reach the
// sink whole, in batches that never exceed the default budget, except a
// single row larger than it, alone in its batch. With no default budget a
// batch was 10,000 rows whatever their width: the whole table at once.
func TestDefaultBatchBytesBoundsWideRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	// repeat(md5) compresses in TOAST: little disk, ~1 MB per row read.
	pgtest.Exec(t, db, `
CREATE SCHEMA s;
CREATE TABLE s.inc (id int NOT NULL, updated_at timestamptz NOT NULL, body text);
CREATE INDEX ON s.inc (updated_at);
INSERT INTO s.inc SELECT i, '2026-01-01'::timestamptz + (i / 5) * interval '1 second', repeat(md5(i::text), 32768)
	FROM generate_series(1, 200) i;
CREATE TABLE s.full_pk (id int PRIMARY KEY, body text);
INSERT INTO s.full_pk SELECT i, repeat(md5(i::text), 32768) FROM generate_series(1, 200) i;
CREATE TABLE s.keyless (id int, body text);
INSERT INTO s.keyless SELECT i, repeat(md5(i::text), CASE WHEN i = 100 THEN 640000 ELSE 32768 END)
	FROM generate_series(1, 200) i;`)

	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = "s"
	cfg.TablesFromSpecs = true // the specs list the tables
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	const budget = 16 << 20 // BatchBytesDefault, the budget the README states
	if cfg.BatchBytes != budget {
		t.Errorf("default batch_bytes is %d, want %d", cfg.BatchBytes, budget)
	}
	sink := &batchSizeSink{batches: map[string][]batchSize{}, ids: map[string]map[string]bool{}}
	specs := []redshiftsync.TableSpec{
		{Table: "inc", Strategy: redshiftsync.StrategyIncremental, ReplicationKey: "updated_at"},
		{Table: "full_pk", Strategy: redshiftsync.StrategyFull},
		{Table: "keyless", Strategy: redshiftsync.StrategyFull},
	}
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithTableSpecs(specs))

	for _, table := range []string{"s.inc", "s.full_pk", "s.keyless"} {
		if got := len(sink.ids[table]); got != 200 {
			t.Errorf("%s: %d distinct rows reached the sink, want 200", table, got)
		}
		if len(sink.batches[table]) < 2 {
			t.Errorf("%s: %d batches for ~200 MB of rows", table, len(sink.batches[table]))
		}
		for i, b := range sink.batches[table] {
			if b.bytes > budget && b.rows > 1 {
				t.Errorf("%s: batch %d holds %d rows, %d bytes (its largest row %d), over the budget of %d", table, i, b.rows, b.bytes, b.largest, budget)
			}
		}
	}
}
