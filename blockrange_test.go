package redshiftsync_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestBlockRangesResumeAfterCrash: a keyless table and a table whose
// replication key has no index are read in block ranges; a sink that fails
// half-way stops the run, and the rerun resumes at the unfinished ranges:
// every row arrives, and the two runs together deliver at most 1.05 times
// the table (read in one pass, the rerun read the table again: 1.5 times).
// Between the runs, rows of the ranges still to read are updated, and
// their new versions land in blocks already read (freed by a DELETE and a
// VACUUM before the sync): the resumed pass, in a new snapshot, reads them
// in its catch-up, or they would be lost.
func TestBlockRangesResumeAfterCrash(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	const rows = 100_000
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.keyless (n int NOT NULL, label text NOT NULL) WITH (autovacuum_enabled = off);
INSERT INTO %[1]s.keyless SELECT i, 'l' || i || repeat('x', 100) FROM generate_series(1, %[2]d) i;
CREATE TABLE %[1]s.unindexed (id int PRIMARY KEY, v text NOT NULL, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.unindexed SELECT i, 'v' || i || repeat('x', 100), timestamptz '2024-01-01 00:00:00+00' + i * interval '1 s' FROM generate_series(1, %[2]d) i;`, s, rows))
	// keyless holds n = 1..100000 in block order, but the even n up to
	// 10000: its first blocks have free space once VACUUM removes them,
	// which it can only when no snapshot of another test's session (on
	// this shared server) is older than the DELETE.
	var deleter int64
	if err := db.QueryRow(`WITH d AS (DELETE FROM ` + s + `.keyless WHERE n <= 10000 AND n % 2 = 0 RETURNING 1)
SELECT txid_current()`).Scan(&deleter); err != nil {
		t.Fatal(err)
	}
	for {
		var older int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
AND backend_xmin IS NOT NULL AND backend_xmin::text::bigint <= $1 % 4294967296`, deleter).Scan(&older); err != nil {
			t.Fatal(err)
		}
		if older == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pgtest.Exec(t, db, `VACUUM ANALYZE `+s+`.keyless`)
	pgtest.Exec(t, db, `VACUUM ANALYZE `+s+`.unindexed`)
	var keylessRows int
	if err := db.QueryRow(`SELECT count(*) FROM ` + s + `.keyless`).Scan(&keylessRows); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"keyless", "unindexed"} {
		t.Run(table, func(t *testing.T) {
			n := map[string]int{"keyless": keylessRows, "unindexed": rows}[table]
			cfg := testConfig(t, s)
			cfg.IncludeTables = []string{table}
			cfg.CheckpointEveryRows = 1000
			logs := &logBuffer{}
			sink, store := newMemSink(), &redshiftsync.MemoryStore{}
			sink.failAfter = n / 2
			if _, err := runOnce(t, cfg, sink, store, redshiftsync.WithLogger(newLogger(logs))); err == nil {
				t.Fatal("the simulated crash did not fail the run")
			}
			first := sink.written
			if table == "keyless" {
				// New versions of rows at the end of the table go to
				// the free space of its first blocks, read before the
				// crash.
				// A session of its own: one that inserted into the
				// table would put them in its last block.
				pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`UPDATE %s.keyless SET label = label || '+' WHERE n > %d`, s, rows-300))
				var early int
				if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM %[1]s.keyless WHERE n > %[2]d
AND (ctid::text::point)[0] <= (SELECT max((ctid::text::point)[0]) FROM %[1]s.keyless WHERE n <= 10000)`, s, rows-300)).Scan(&early); err != nil {
					t.Fatal(err)
				}
				if early == 0 {
					t.Fatal("no updated row moved to the first blocks: the test does not test the catch-up")
				}
			}
			sink.failAfter, sink.written = 0, 0
			mustRun(t, cfg, sink, store, redshiftsync.WithLogger(newLogger(logs)))
			total := first + sink.written
			t.Logf("%s: %d rows; %d delivered before the crash, %d after: %.3fx", table, n, first, sink.written, float64(total)/float64(n))
			if float64(total) > 1.05*float64(n) {
				t.Errorf("%s: %d rows delivered for %d: the resume re-read more than 5%%", table, total, n)
			}
			switch table {
			case "keyless":
				want := sourceMap(t, db, `SELECT n::text || '|' || label, n::text FROM `+s+`.keyless`)
				if d := diffMaps(want, sink.column(s+".keyless", "n")); d != "" {
					t.Errorf("keyless: %s", d)
				}
			case "unindexed":
				if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+s+`.unindexed`), sink.column(s+".unindexed", "v")); d != "" {
					t.Errorf("unindexed: %s", d)
				}
			}
		})
	}
}
