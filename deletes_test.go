// This file tests delete detection against the real source (and through
// the Redshift stand-in, see scripts/test's BOTH_WAYS), with keySink, an
// in-memory DeleteSink and KeyLister: single rows, a whole range, the first
// and last keys, every row, a delete and re-insert of a key, composite and
// text keys under a non-C collation, a run stopped during detection, and
// what crosses the wire when nothing was deleted.

package redshiftsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// keySink keeps each table's live rows by key, and the keys deleted.
type keySink struct {
	mu      sync.Mutex
	live    map[string]map[string]redshiftsync.Key // table -> key text -> key
	deleted map[string][]string                    // table -> key texts, in order
	changes map[string][]redshiftsync.SchemaChange

	failList   int // ListKeys fails while > 0 (counting down)
	failDelete int // Delete fails while > 0 (counting down)
}

func newKeySink() *keySink {
	return &keySink{live: map[string]map[string]redshiftsync.Key{}, deleted: map[string][]string{}, changes: map[string][]redshiftsync.SchemaChange{}}
}

func keyString(k redshiftsync.Key) string {
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = fmtVal(v)
	}
	return strings.Join(parts, "|")
}

func (s *keySink) Open(_ context.Context, t *redshiftsync.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[t.QualifiedName()] == nil {
		s.live[t.QualifiedName()] = map[string]redshiftsync.Key{}
	}
	return nil
}

func (s *keySink) Write(_ context.Context, b redshiftsync.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Rows {
		k := make(redshiftsync.Key, len(b.Table.PrimaryKey))
		for i, name := range b.Table.PrimaryKey {
			k[i] = r[b.Table.ColumnIndex(name)]
		}
		s.live[b.Table.QualifiedName()][keyString(k)] = k // a write un-deletes
	}
	return nil
}

func (s *keySink) Flush(context.Context, *redshiftsync.Table) error { return nil }

func (s *keySink) Delete(_ context.Context, t *redshiftsync.Table, keys []redshiftsync.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDelete > 0 {
		s.failDelete--
		return errCrash
	}
	for _, k := range keys {
		ks := keyString(k)
		if _, ok := s.live[t.QualifiedName()][ks]; !ok {
			return fmt.Errorf("delete of %s, which the sink does not hold live", ks)
		}
		delete(s.live[t.QualifiedName()], ks)
		s.deleted[t.QualifiedName()] = append(s.deleted[t.QualifiedName()], ks)
	}
	return nil
}

func (s *keySink) ListKeys(_ context.Context, t *redshiftsync.Table, r redshiftsync.KeyRange, fn func(redshiftsync.Key) error) error {
	s.mu.Lock()
	if s.failList > 0 {
		s.failList--
		s.mu.Unlock()
		return errCrash
	}
	var keys []redshiftsync.Key
	for _, k := range s.live[t.QualifiedName()] {
		if r.Contains(k) {
			keys = append(keys, k)
		}
	}
	s.mu.Unlock()
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *keySink) SchemaChanged(_ context.Context, t *redshiftsync.Table, c redshiftsync.SchemaChange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes[t.QualifiedName()] = append(s.changes[t.QualifiedName()], c)
	return nil
}

// liveKeys returns the sink's live keys of table, sorted.
func (s *keySink) liveKeys(table string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.live[table]))
}

// takeDeleted returns the keys deleted since the last call, sorted.
func (s *keySink) takeDeleted(table string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[table]
	s.deleted[table] = nil
	slices.Sort(d)
	return d
}

func detectionConfig(t *testing.T, schema string) redshiftsync.Config {
	cfg := testConfig(t, schema)
	cfg.DeleteDetection = redshiftsync.DeleteDetectionOn
	return cfg
}

// tableReport returns the report of table in rep.
func tableReport(t *testing.T, rep *redshiftsync.Report, table string) redshiftsync.TableReport {
	t.Helper()
	for _, tr := range rep.Tables {
		if tr.Table == table {
			return tr
		}
	}
	t.Fatalf("no report of %s", table)
	return redshiftsync.TableReport{}
}

// sourceKeys returns the source's keys of a query, each as keyString prints
// a key's values.
func sourceKeys(t *testing.T, q string) []string {
	t.Helper()
	keys := pgtest.QueryColumn[string](t, pgtest.Open(t), q)
	slices.Sort(keys)
	return keys
}

// checkDeleted checks that the sink was told of exactly want since the last
// check, and holds exactly the keys the source query returns.
func checkDeleted(t *testing.T, name string, sink *keySink, table string, want []string, sourceQuery string) {
	t.Helper()
	slices.Sort(want)
	if got := sink.takeDeleted(table); !slices.Equal(got, want) {
		t.Errorf("%s: deleted %q, want %q", name, got, want)
	}
	if got, want := sink.liveKeys(table), sourceKeys(t, sourceQuery); !slices.Equal(got, want) {
		t.Errorf("%s: the sink holds %d keys, the source %d", name, len(got), len(want))
	}
}

// detectRun runs a sync of table (an "id" key) with delete detection,
// checks that exactly wantDeleted were deleted (checkDeleted), and returns
// what its detection did.
func detectRun(t *testing.T, name string, cfg redshiftsync.Config, sink *keySink, store redshiftsync.StateStore, table string, wantDeleted []string) redshiftsync.DeleteStats {
	t.Helper()
	tr := tableReport(t, mustRun(t, cfg, sink, store), table)
	if tr.Deletes == nil {
		t.Fatalf("%s: no delete detection reported", name)
	}
	checkDeleted(t, name, sink, table, wantDeleted, "SELECT id::text FROM "+table)
	return *tr.Deletes
}

func ints(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprint(i))
	}
	slices.Sort(out)
	return out
}

// TestDeleteDetection deletes single rows, the first and last keys, a whole
// range, a key that comes back, a key synced and deleted between two
// detections, and every row, and checks after each run that the sink holds
// exactly the source's keys, that exactly the deleted keys were deleted
// (never another), and what the source sent.
func TestDeleteDetection(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(500, 64)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.d (id bigint PRIMARY KEY, v text, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.d SELECT i, 'v' || i, timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 3000) i;`)
	table := s + ".d"
	cfg := detectionConfig(t, s)
	sink := newKeySink()
	store := &redshiftsync.MemoryStore{}
	check := func(name string, wantDeleted []string) redshiftsync.DeleteStats {
		t.Helper()
		return detectRun(t, name, cfg, sink, store, table, wantDeleted)
	}
	st := check("first sync", nil)
	if !st.Full || st.Ranges < 4 {
		t.Errorf("first detection: %+v, want a full comparison of several ranges", st)
	}

	// An incremental sync reads again the rows at its bookmark (the last
	// key's): their range is compared, by chunk digests, not keys.
	st = check("nothing changed", nil)
	if st.Examined > 1 || st.KeyRows != 0 || st.SinkKeys > 1000 || st.DigestRows > int64(st.Ranges)+1000/64+1 {
		t.Errorf("nothing changed: %+v, want digest rows only (one per range, one per chunk of the range read again), no key rows", st)
	}

	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id IN (1, 17, 1234, 3000)")
	st = check("single rows, first and last", []string{"1", "1234", "17", "3000"})
	if st.KeyRows > 4*64+8 {
		t.Errorf("single deletes: %d key rows read, want at most the 4 chunks' keys (%+v)", st.KeyRows, st)
	}

	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id BETWEEN 1500 AND 2100")
	// The keys of a range deleted whole are confirmed gone together, not
	// each by a point lookup of its own (each counted as a key row): only
	// the present keys of the chunks at the range's ends are read.
	if st := check("a whole range", ints(1500, 2100)); st.KeyRows > 2*64 {
		t.Errorf("a whole range: %d key rows read for 601 deleted keys, want at most the two end chunks' keys (%+v)", st.KeyRows, st)
	}

	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id = 600")
	pgtest.Exec(t, db, "INSERT INTO "+table+" VALUES (600, 'back', timestamp '2024-02-02')")
	check("deleted and inserted again before the run", nil)
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id = 600")
	check("deleted", []string{"600"})
	pgtest.Exec(t, db, "INSERT INTO "+table+" VALUES (600, 'back again', timestamp '2024-02-03')")
	check("back", nil)

	// A row synced by a run whose detection is not due, then deleted: the
	// digest is what it was at the last detection, but the range was
	// written into.
	pgtest.Exec(t, db, "INSERT INTO "+table+" VALUES (700000, 'new', timestamp '2024-02-04')")
	lazy := cfg
	lazy.DeleteDetectionInterval = time.Hour
	rep := mustRun(t, lazy, sink, store)
	if tr := tableReport(t, rep, table); tr.Deletes != nil {
		t.Errorf("detection ran although not due: %+v", tr.Deletes)
	}
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id = 700000")
	check("synced between detections, then deleted", []string{"700000"})

	pgtest.Exec(t, db, "DELETE FROM "+table)
	check("every row", sourceKeysBefore(sink, table))
	// Every range is empty now, at the source and in the state.
	if st := check("nothing left, nothing changed", nil); st.Examined != 0 || st.KeyRows != 0 {
		t.Errorf("empty ranges, unchanged: %+v, want none examined", st)
	}
}

// sourceKeysBefore returns the sink's live keys, sorted: every one of them,
// once every row is deleted at the source.
func sourceKeysBefore(s *keySink, table string) []string { return s.liveKeys(table) }

// TestDeleteDetectionCompositeKeys deletes rows of a table keyed by an
// integer and a text, in a full-sync table (every row written each run).
func TestDeleteDetectionCompositeKeys(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(200, 32)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.c (a int NOT NULL, b varchar(20) NOT NULL, v int, PRIMARY KEY (a, b));
INSERT INTO %[1]s.c SELECT i / 10, 'k' || (i %% 10), i FROM generate_series(0, 1999) i;`)
	table := s + ".c"
	cfg := detectionConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE (a = 0 AND b = 'k0') OR (a = 77 AND b = 'k5') OR a = 199 OR (a = 100 AND b > 'k3')")
	mustRun(t, cfg, sink, store)
	want := []string{"0|k0", "77|k5"}
	for _, b := range []string{"k4", "k5", "k6", "k7", "k8", "k9"} {
		want = append(want, "100|"+b)
	}
	for i := range 10 {
		want = append(want, fmt.Sprintf("199|k%d", i))
	}
	checkDeleted(t, "composite keys", sink, table, want, "SELECT a || '|' || b FROM "+table)
}

// TestDeleteDetectionTextKeysICU ranges over text keys whose column sorts
// under an ICU collation ('_x' < 'a' < 'B' < 'é' there; 'B' < '_x' < 'a' <
// 'é' in bytes): the ranges are cut and compared in byte order at the
// source as CompareKeys orders the sink's keys, so exactly the deleted keys
// are found. PostgreSQL only (Redshift has no ICU collations).
func TestDeleteDetectionTextKeysICU(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(100, 16)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.t (k text COLLATE "en-US-x-icu" PRIMARY KEY, v int);
INSERT INTO %[1]s.t VALUES ('a', 1), ('B', 2), ('_x', 3), ('é', 4), ('Z', 5), ('z', 6);
INSERT INTO %[1]s.t SELECT chr(65 + i %% 58) || i, i FROM generate_series(1, 800) i;`)
	table := s + ".t"
	cfg := detectionConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE k IN ('B', 'é', '_x', 'a', 'a32', '_30')")
	mustRun(t, cfg, sink, store)
	checkDeleted(t, "text keys", sink, table, []string{"B", "_30", "_x", "a", "a32", "é"}, "SELECT k FROM "+table)
}

// TestDeleteDetectionResumes stops runs during detection (the sink's
// listing fails, then its Delete): each fails with StepDetectDeletes, and
// the next run finds the deletes again, none twice, none false.
func TestDeleteDetectionResumes(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(300, 32)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.r (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.r SELECT i, timestamp '2024-01-01' FROM generate_series(1, 1500) i;`)
	table := s + ".r"
	cfg := detectionConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id IN (5, 700, 1499)")
	for _, fail := range []func(){func() { sink.failList = 1 }, func() { sink.failDelete = 1 }} {
		fail()
		_, err := runOnce(t, cfg, sink, store)
		var te *redshiftsync.TableError
		if !errors.As(err, &te) || te.Step != redshiftsync.StepDetectDeletes || !errors.Is(err, errCrash) {
			t.Fatalf("a run whose sink fails in detection: %v, want a TableError of step %q", err, redshiftsync.StepDetectDeletes)
		}
	}
	mustRun(t, cfg, sink, store)
	checkDeleted(t, "after the stops", sink, table, []string{"1499", "5", "700"}, "SELECT id::text FROM "+table)
}

// TestDeleteDetectionPlan shows in the plan why a table gets no deletes:
// no primary key, or a sink that cannot take them.
func TestDeleteDetectionPlan(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.keyed (id int PRIMARY KEY);
CREATE TABLE %[1]s.nokey (v int);`)
	cfg := detectionConfig(t, s)
	for _, c := range []struct {
		sink redshiftsync.Sink
		want map[string]string
	}{
		{newKeySink(), map[string]string{"keyed": "on: range digests of the primary key (id)", "nokey": "off: the table has no primary key"}},
		{newMemSink(), map[string]string{"keyed": "off: the sink is neither a DeleteSink nor a KeyLister", "nokey": "off: the sink is neither"}},
	} {
		_, d := discover(t, cfg, c.sink)
		for _, p := range d.Plans {
			if want := c.want[p.Table.Name]; !strings.HasPrefix(p.Deletes, want) {
				t.Errorf("%T: plan of %s says %q, want %q", c.sink, p.Table.Name, p.Deletes, want)
			}
		}
	}
}

// discoverWithStore returns the plans of a fresh extractor with store.
func discoverWithStore(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore) *redshiftsync.Discovery {
	t.Helper()
	e, err := redshiftsync.New(cfg, sink, store)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d, err := e.Discover(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSchemaChanges alters a table between runs: the next run tells the
// SchemaSink what changed, once, before its rows; the plan shows it first.
func TestSchemaChanges(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.sc (id int PRIMARY KEY, a int, b text, c int, gone text);
INSERT INTO %[1]s.sc VALUES (1, 1, 'x', 1, 'g');`)
	table := s + ".sc"
	cfg := testConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	mustRun(t, cfg, sink, store)
	if len(sink.changes[table]) != 0 {
		t.Fatalf("schema changes told without a change: %+v", sink.changes[table])
	}
	pgtest.Exec(t, db, "ALTER TABLE "+table+" ALTER COLUMN a TYPE bigint, DROP COLUMN gone, ADD COLUMN added numeric(10,2)")
	pgtest.Exec(t, db, "ALTER TABLE "+table+" RENAME COLUMN c TO c2")
	if pc := discoverWithStore(t, cfg, sink, store).Plans[0].SchemaChange; pc == nil || len(pc.Added) != 1 {
		t.Errorf("the plan shows %+v, want the pending change", pc)
	}
	mustRun(t, cfg, sink, store)
	mustRun(t, cfg, sink, store)
	got := sink.changes[table]
	if len(got) != 1 {
		t.Fatalf("told %d schema changes, want 1: %+v", len(got), got)
	}
	c := got[0]
	names := func(cols []redshiftsync.Column) (out []string) {
		for _, c := range cols {
			out = append(out, c.Name+" "+c.SourceType)
		}
		return out
	}
	if a := names(c.Added); !slices.Equal(a, []string{"added numeric(10,2)"}) {
		t.Errorf("added %v", a)
	}
	if dr := names(c.Dropped); !slices.Equal(dr, []string{"gone text"}) {
		t.Errorf("dropped %v", dr)
	}
	if r := names(c.Retyped); !slices.Equal(r, []string{"a bigint"}) || names(c.Before)[0] != "a integer" {
		t.Errorf("retyped %v from %v", r, names(c.Before))
	}
	if c.Renamed["c"] != "c2" || len(c.Renamed) != 1 {
		t.Errorf("renamed %v, want c -> c2", c.Renamed)
	}
}

// TestDeleteDetectionSettings reads delete_detection and its interval from
// a configuration file, and suggests the value meant by a misspelled one.
func TestDeleteDetectionSettings(t *testing.T) {
	cfg, err := redshiftsync.ParseConfig([]byte(`{"redshift_host": "h", "redshift_database": "d", "redshift_user": "u",
		"delete_detection": "ON", "delete_detection_interval": "24h"}`))
	if err != nil || cfg.DeleteDetection != redshiftsync.DeleteDetectionOn || cfg.DeleteDetectionInterval != 24*time.Hour {
		t.Errorf("parsed %q every %v (%v), want on every 24h", cfg.DeleteDetection, cfg.DeleteDetectionInterval, err)
	}
	_, err = redshiftsync.ParseConfig([]byte(`{"redshift_host": "h", "redshift_database": "d", "redshift_user": "u", "delete_detection": "onn"}`))
	if err == nil || !strings.Contains(err.Error(), `delete_detection: "onn" is not allowed; expected one of off, on (did you mean "on"?)`) {
		t.Errorf("a misspelled delete_detection: %v", err)
	}
}

// TestDeleteDetectionRestoresJIT runs detection through the caller's
// database: the JIT, enable_sort and parallel-worker settings it turns off
// for its digest queries are what the caller finds on every connection
// afterwards.
// PostgreSQL only.
func TestDeleteDetectionRestoresJIT(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.j (id int PRIMARY KEY);
INSERT INTO %[1]s.j SELECT generate_series(1, 100);`)
	db := pgtest.Open(t)
	db.SetMaxOpenConns(5)
	db.SetMaxIdleConns(5)
	cfg := detectionConfig(t, s)
	e, err := redshiftsync.NewFromDB(db, cfg, newKeySink(), &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var jit, sort, workers string
		if err := c.QueryRowContext(t.Context(), "SELECT current_setting('jit'), current_setting('enable_sort'), current_setting('max_parallel_workers_per_gather')").Scan(&jit, &sort, &workers); err != nil {
			t.Fatal(err)
		}
		if jit != "on" {
			t.Errorf("connection %d: jit = %s after the run, want on", i, jit)
		}
		if sort != "on" {
			t.Errorf("connection %d: enable_sort = %s after the run, want on", i, sort)
		}
		if workers != "2" {
			t.Errorf("connection %d: max_parallel_workers_per_gather = %s after the run, want the default 2", i, workers)
		}
	}
}

// TestDeleteDetectionRangeScans deletes single rows, the first and last
// keys and a whole range of a VACUUMed table keyed by an integer, whose
// ranges the source digests by per-range aggregates over its index
// (rangeScanSQL) instead of the one scan: exactly the deleted keys are
// deleted, and nothing crosses the wire but digests when nothing was.
// PostgreSQL only.
func TestDeleteDetectionRangeScans(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(500, 64)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.v (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.v SELECT i, timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 3000) i;`)
	table := s + ".v"
	pgtest.Exec(t, db, "VACUUM ANALYZE "+table)
	cfg := detectionConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	// Each range is a scan of the key's index: the server's statistics
	// count them (flushed when the run's connections end, so waited for).
	scans := func() int64 {
		return pgtest.QueryValue[int64](t, db, "SELECT idx_scan FROM pg_stat_user_indexes WHERE relid = $1::regclass AND indexrelname = 'v_pkey'", table)
	}
	before := scans()
	st := *tableReport(t, mustRun(t, cfg, sink, store), table).Deletes
	if st.Ranges < 4 || st.Examined > 1 || st.KeyRows != 0 {
		t.Errorf("nothing deleted: %+v, want several ranges, digest rows only", st)
	}
	var n int64
	for range 100 {
		if n = scans() - before; n >= int64(st.Ranges) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n < int64(st.Ranges) {
		t.Errorf("the detection scanned the key's index %d times for %d ranges, want one range scan each", n, st.Ranges)
	}
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id IN (1, 17, 1234, 3000) OR id BETWEEN 2000 AND 2600")
	mustRun(t, cfg, sink, store)
	checkDeleted(t, "range scans", sink, table, append([]string{"1", "1234", "17", "3000"}, ints(2000, 2600)...), "SELECT id::text FROM "+table)
}

// TestDeleteDetectionHashSchemeChange gives a detection the state an older
// version saved for an integer key (its digests hash each key's text, and
// say no scheme): the digests are not compared with this version's (which
// hash the integer), the detection starts over as a first one, a full
// comparison, and deletes exactly the keys deleted, none falsely.
// PostgreSQL only (Redshift keeps the text hash).
func TestDeleteDetectionHashSchemeChange(t *testing.T) {
	defer redshiftsync.SetDeleteRangeSizes(300, 32)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.h (id bigint PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.h SELECT i, timestamp '2024-01-01' FROM generate_series(1, 1500) i;`)
	table := s + ".h"
	cfg := detectionConfig(t, s)
	sink, store := newKeySink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	doc, err := store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var state any
	if err := json.Unmarshal(doc, &state); err != nil {
		t.Fatal(err)
	}
	var old func(v any) int
	old = func(v any) int { // the older version's state: no scheme, text-hash digests
		n := 0
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["digests"]; ok {
				delete(x, "hash")
				for i := range x["digests"].([]any) {
					x["digests"].([]any)[i] = "1:1" // what the text hash summed, for all this version can tell
				}
				n++
			}
			for _, e := range x {
				n += old(e)
			}
		case []any:
			for _, e := range x {
				n += old(e)
			}
		}
		return n
	}
	if n := old(state); n != 1 {
		t.Fatalf("found %d delete states in the saved document, want 1", n)
	}
	if doc, err = json.Marshal(state); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(t.Context(), doc); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, "DELETE FROM "+table+" WHERE id IN (2, 900, 1500)")
	rep := mustRun(t, cfg, sink, store)
	if st := tableReport(t, rep, table).Deletes; st == nil || !st.Full {
		t.Errorf("detection over digests of another hash scheme: %+v, want a full comparison", st)
	}
	checkDeleted(t, "after a hash scheme change", sink, table, []string{"2", "900", "1500"}, "SELECT id::text FROM "+table)
	st := *tableReport(t, mustRun(t, cfg, sink, store), table).Deletes
	if st.Full || st.KeyRows != 0 {
		t.Errorf("the next detection: %+v, want the new scheme's digests compared, no key rows", st)
	}
}

// savedRanges returns the ranges delete detection saved for table: their
// inner bounds (single-column keys) and each one's count of keys.
func savedRanges(t *testing.T, store redshiftsync.StateStore, table string) (bounds []string, counts []int64) {
	t.Helper()
	doc, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Tables map[string]struct {
			Deletes struct {
				Bounds  [][]string `json:"bounds"`
				Digests []string   `json:"digests"`
			} `json:"deletes"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(doc, &st); err != nil {
		t.Fatal(err)
	}
	d := st.Tables[table].Deletes
	for _, b := range d.Bounds {
		bounds = append(bounds, b[0])
	}
	for _, dg := range d.Digests {
		c, _, _ := strings.Cut(dg, ":")
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			t.Fatalf("digest %q: %v", dg, err)
		}
		counts = append(counts, n)
	}
	return bounds, counts
}

// TestDeleteDetectionRecut grows a table tenfold after its first detection
// (all the new keys above the old ones, so in the last range), with deletes
// in the old ranges at the same time: the next detection cuts the ranges
// again, near the size a range aims at, and finds exactly those deletes;
// the detection after it, of single rows, the first and last keys and a
// whole range of the new cut, keeps the cut and finds exactly those. Then
// the table shrinks to a tenth: the ranges are cut again, fewer. Failed
// before ranges were cut again: the last range held 27,500 keys.
func TestDeleteDetectionRecut(t *testing.T) {
	const aim = 500
	defer redshiftsync.SetDeleteRangeSizes(aim, 64)()
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.g (id bigint PRIMARY KEY, v text, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.g SELECT i, 'v' || i, timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 3000) i;`)
	table := s + ".g"
	cfg := detectionConfig(t, s)
	sink := newKeySink()
	store := &redshiftsync.MemoryStore{}
	run := func(name string, wantDeleted []string) redshiftsync.DeleteStats {
		t.Helper()
		return detectRun(t, name, cfg, sink, store, table, wantDeleted)
	}
	// even checks the saved ranges: about wantRanges, each near aim keys
	// (but range emptied, deleted whole).
	even := func(name string, wantRanges, emptied int) {
		t.Helper()
		_, counts := savedRanges(t, store, table)
		if len(counts) < wantRanges*2/3 || len(counts) > wantRanges*3/2 {
			t.Errorf("%s: %d ranges, want about %d", name, len(counts), wantRanges)
		}
		for r, n := range counts {
			if n > 2*aim || n < aim/4 && r != emptied {
				t.Errorf("%s: range %d holds %d keys, want near %d (all: %v)", name, r, n, aim, counts)
				break
			}
		}
	}
	run("first sync", nil)
	even("first sync", 6, -1)

	pgtest.Exec(t, db, fmt.Sprintf(`INSERT INTO %[1]s SELECT i, 'v' || i, timestamp '2024-02-01' + i * interval '1 second' FROM generate_series(3001, 30000) i;
DELETE FROM %[1]s WHERE id IN (5, 1500, 2999);`, table))
	if st := run("grown tenfold", []string{"5", "1500", "2999"}); !st.Recut {
		t.Errorf("grown tenfold: the ranges were not cut again: %+v", st)
	}
	even("grown tenfold", 60, -1)

	bounds, _ := savedRanges(t, store, table)
	if len(bounds) < 22 {
		t.Fatalf("grown tenfold: %d ranges saved, cannot delete the 22nd", len(bounds)+1)
	}
	lo, _ := strconv.Atoi(bounds[20])
	hi, _ := strconv.Atoi(bounds[21])
	pgtest.Exec(t, db, fmt.Sprintf(`DELETE FROM %s WHERE id IN (1, 30000, 777, 12345, 29999) OR (id >= %d AND id < %d)`, table, lo, hi))
	want := append([]string{"1", "30000", "777", "12345", "29999"}, ints(lo, hi-1)...)
	if st := run("after the new cut", want); st.Recut {
		t.Errorf("after the new cut: cut again, %+v", st)
	}
	even("after the new cut", 60, 21)

	pgtest.Exec(t, db, fmt.Sprintf(`DELETE FROM %s WHERE id > 3000`, table))
	if st := run("shrunk to a tenth", sourceKeysGone(t, sink, table)); !st.Recut {
		t.Errorf("shrunk to a tenth: the ranges were not cut again: %+v", st)
	}
	even("shrunk to a tenth", 6, -1)
}

// sourceKeysGone returns the keys the sink holds live that the source
// lacks, sorted.
func sourceKeysGone(t *testing.T, s *keySink, table string) []string {
	t.Helper()
	src := sourceKeys(t, "SELECT id::text FROM "+table)
	var out []string
	for _, k := range s.liveKeys(table) {
		if _, ok := slices.BinarySearch(src, k); !ok {
			out = append(out, k)
		}
	}
	return out
}
