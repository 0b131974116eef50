package synctest_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// TestRun: Run syncs every row, and a second Run resumes from the state
// the first saved; each closes its extractor before it returns (a Run of
// the returned extractor fails), whose Stats stay readable. Discover plans
// the table; LoadState reads the state saved.
func TestRun(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' FROM generate_series(1, 10) i;`)
	cfg, err := redshiftsync.ConfigFromURL(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = s
	var rows atomic.Int64
	sink := redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
		rows.Add(int64(len(b.Rows)))
		return nil
	}}
	if d := synctest.Discover(t, synctest.New(t, cfg, sink, &redshiftsync.MemoryStore{})); len(d.Plans) != 1 || d.Plans[0].Table.Name != "t" {
		t.Errorf("Discover planned %d tables, want the one table t", len(d.Plans))
	}
	store := redshiftsync.NewFileStore(filepath.Join(t.TempDir(), "state.json"))
	for run := range 2 {
		before := rows.Load()
		ex, rep, err := synctest.Run(t, cfg, sink, store)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := rows.Load() - before; got != rep.Rows || (run == 0 && got != 10) {
			t.Errorf("run %d: %d rows delivered, %d in the report; want the same, 10 on the first run", run, got, rep.Rows)
		}
		if ex.Stats().Rows != rep.Rows {
			t.Errorf("run %d: Stats after Run says %d rows, the report %d", run, ex.Stats().Rows, rep.Rows)
		}
		if _, err := ex.Run(context.Background()); err == nil {
			t.Errorf("run %d: the extractor Run returned was not closed", run)
		}
	}
	// LoadState decodes what the runs saved: the table's entry, done.
	if ts := synctest.LoadState(t, store).Tables[s+".t"]; ts == nil || ts.InProgress != nil {
		t.Errorf("the saved state's entry of %s.t is %+v, want a finished sync", s, ts)
	}
}
