package redshiftsync_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestRedshiftChunks: with the Redshift dialect, tables are read in key-range
// chunks streamed without ORDER BY. Every row arrives (ties, NULL keys, a
// keyless table), a crash resumes at a chunk, and the queries sent carry no
// ORDER BY for the chunked phase. The dialect is forced on PostgreSQL, whose
// catalog answers the Redshift catalog queries except svv_table_info (so the
// size is unknown and the partition count gives the chunks); GETDATE() and
// svv_transactions are mirrored (redshiftClock).
func TestRedshiftChunks(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.inc (id bigint PRIMARY KEY, v int, updated_at timestamp);
INSERT INTO %[1]s.inc SELECT i, i %% 7, CASE WHEN i %% 50 = 0 THEN NULL ELSE timestamp '2024-01-01' + (i / 10) * interval '1 minute' END FROM generate_series(1, 30000) i;
CREATE TABLE %[1]s.full (id int PRIMARY KEY, v int);
INSERT INTO %[1]s.full SELECT i, i FROM generate_series(1, 20000) i;`)
	cfg := testConfig(t, s)
	cfg.Dialect = redshiftsync.DialectRedshift
	cfg.Partitions, cfg.MaxParallelWorkers, cfg.CheckpointEveryRows = 4, 2, 1000
	logs := &logBuffer{}
	logger := newLogger(logs)
	rdb := redshiftDB(t, s, s+",public", cfg.MaxParallelWorkers+1)
	run := func(cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore) error {
		ex, err := redshiftsync.NewFromDB(rdb, cfg, sink, store, redshiftsync.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ex.Run(t.Context())
		return err
	}

	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	sink.failAfter = 30000
	// One worker for the crash, so each table's chunks are read one after
	// the other: the 30,000 rows delivered before it (at least 10,000 of
	// them inc's) then always include a finished chunk of inc. With two,
	// inc's chunks could stream side by side and none finish (a flake).
	crashCfg := cfg
	crashCfg.MaxParallelWorkers = 1
	if err := run(crashCfg, sink, store); err == nil {
		t.Fatal("the simulated crash did not fail the run")
	}
	doc, _ := store.Load(t.Context())
	if !bytes.Contains(doc, []byte(`"chunked": true`)) || !bytes.Contains(doc, []byte(`"done": true`)) {
		t.Fatalf("the crash left no finished chunk in the state: %s", doc)
	}
	sink.failAfter, sink.written = 0, 0
	if err := run(cfg, sink, store); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"inc", "full"} {
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
			t.Errorf("%s: %s", table, d)
		}
	}
	// The full table syncs whole again (it is FULL); the incremental one
	// resumes after its finished chunks, each about 7,500 rows.
	if sink.written > 20000+30000-7000 {
		t.Errorf("the resume delivered %d rows: chunks did not resume", sink.written)
	}
	if !strings.Contains(logs.String(), `"chunked":true`) {
		t.Errorf("no table was read in chunks:\n%s", logs.String())
	}
}
