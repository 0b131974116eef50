package redshiftsync_test

// The Redshift read path through the stand-in (internal/cmd/redshift-standin):
// how tables are cut into chunks and what each chunk's statement is, with
// Redshift's rules (no svv_table_info for a role not granted it, primary
// keys not enforced, statements canceled by WLM or statement_timeout).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// standinSchema returns a new schema of the test database in which the
// stand-in's functions exist: it installs them when a client first
// connects to a database through it.
func standinSchema(t *testing.T) (db *sql.DB, schema string) {
	t.Helper()
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	pgtest.Exec(t, rs, `SELECT 1`)
	d := pgtest.Open(t)
	return d, pgtest.NewSchema(t, d)
}

// TestRedshiftChunksNullLeadingKey: Redshift does not enforce a primary key,
// only NOT NULL, so a key column declared without NOT NULL holds NULLs. A
// full sync cut into key ranges on that column must read its NULL rows too
// (lo <= k < hi matches no NULL), in a chunk of their own that is resumed
// like the others.
func TestRedshiftChunksNullLeadingKey(t *testing.T) {
	db, s := standinSchema(t)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.pairs (a int, b int, v int, PRIMARY KEY (a, b));
SELECT redshift_standin.informational_primary_key('%[1]s.pairs');
INSERT INTO %[1]s.pairs SELECT i / 10, i %% 10, i FROM generate_series(0, 1999) i;
INSERT INTO %[1]s.pairs SELECT NULL, i, -i FROM generate_series(1, 30) i;`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	cfg.Partitions, cfg.PartitionThreshold, cfg.MaxParallelWorkers = 4, 1, 1
	cfg.BatchSize, cfg.CheckpointEveryRows = 100, 1
	want := sourceMap(t, db, `SELECT coalesce(a::text, 'NULL') || '|' || b, v::text FROM `+s+`.pairs`)

	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	if d := diffMaps(want, sink.column(s+".pairs", "v")); d != "" {
		t.Errorf("a full sync in chunks: %s", d)
	}

	// A crash after the first chunks: the NULL chunk, once done, is not
	// read again by the resumed sync.
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	sink.failAfter = 700
	if _, err := runOnce(t, cfg, sink, store); err == nil {
		t.Fatal("the simulated crash did not fail the run")
	}
	doc, _ := store.Load(t.Context())
	if !bytes.Contains(doc, []byte(`"null": true`)) {
		t.Fatalf("no NULL chunk in the saved progress: %s", doc)
	}
	sink.failAfter, sink.written = 0, 0
	mustRun(t, cfg, sink, store)
	if d := diffMaps(want, sink.column(s+".pairs", "v")); d != "" {
		t.Errorf("after a crash and a resume: %s", d)
	}
	if sink.written >= 2030 {
		t.Errorf("the resume delivered %d rows: its finished chunks were read again", sink.written)
	}
}

// TestRedshiftLookback: an incremental sync with a lookback reads again the
// rows up to the lookback below the bookmark. Redshift takes an interval
// only as a literal, not as a bound parameter: the lower bound is bound as
// a timestamp, the bookmark less the lookback.
func TestRedshiftLookback(t *testing.T) {
	db, s := standinSchema(t)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.ev (id bigint PRIMARY KEY, v text, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.ev SELECT i, 'v' || i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 300) i;`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	// Syncs until the bookmark is set: a mark is released once the
	// transactions in progress at it (other tests') have ended.
	var bookmark *string
	for range 20 {
		mustRun(t, cfg, sink, store)
		doc, err := store.Load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		v, err := redshiftsync.InspectState(doc)
		if err != nil {
			t.Fatal(err)
		}
		if bookmark = v.Tables[s+".ev"].Bookmark; bookmark != nil {
			break
		}
	}
	if bookmark == nil || !strings.HasPrefix(*bookmark, "2024-01-01 05:00:00") {
		t.Fatalf("bookmark %v, want 2024-01-01 05:00:00", bookmark)
	}
	before := map[string]int{}
	for k, n := range sink.deliveries[s+".ev"] {
		before[k] = n
	}
	cfg.Lookback = time.Hour
	mustRun(t, cfg, sink, store)
	for i := 240; i <= 300; i++ {
		k := fmt.Sprint(i)
		if sink.deliveries[s+".ev"][k] != before[k]+1 {
			t.Errorf("row %d (updated_at 04:00 + %d min): delivered %d times by the sync with a lookback of 1h, want once", i, i-240, sink.deliveries[s+".ev"][k]-before[k])
		}
	}
	if n := sink.deliveries[s+".ev"]["239"] - before["239"]; n != 0 {
		t.Errorf("row 239, 1h01 below the bookmark: read again %d times", n)
	}
}

// savesStore is a MemoryStore that keeps every document saved.
type savesStore struct {
	redshiftsync.MemoryStore
	mu   sync.Mutex
	docs [][]byte
}

func (s *savesStore) Save(ctx context.Context, doc []byte) error {
	s.mu.Lock()
	s.docs = append(s.docs, bytes.Clone(doc))
	s.mu.Unlock()
	return s.MemoryStore.Save(ctx, doc)
}

// TestRedshiftChunksWithoutTableInfo: a role not granted SVV_TABLE_INFO
// (visible only to superusers) has no row count; the chunks are sized by
// counting the rows, range by range, so that none holds much more than a
// chunk's rows even when a few outlying keys stretch the key range. Granted
// SELECT on the view, the role gets the estimate.
func TestRedshiftChunksWithoutTableInfo(t *testing.T) {
	defer redshiftsync.SetChunkRows(1000)()
	db, s := standinSchema(t)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.skew (id bigint PRIMARY KEY, v int);
INSERT INTO %[1]s.skew SELECT i, i FROM generate_series(1, 6000) i;
INSERT INTO %[1]s.skew SELECT 100000 * i, i FROM generate_series(1, 10) i;`, s))
	role := readerRole(t, s, "skew")
	rdsn, err := url.Parse(pgtest.RedshiftDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	rdsn.User = url.User(role)
	cfg := configFor(t, rdsn.String(), s)
	cfg.MaxParallelWorkers, cfg.CheckpointEveryRows, cfg.BatchSize = 1, 1, 100
	_, d := discover(t, cfg, newMemSink())
	if est := d.Plans[0].Table.EstimatedRows; est != -1 {
		t.Fatalf("estimate %d without svv_table_info, want -1 (unknown)", est)
	}

	sink, store := newMemSink(), &savesStore{}
	mustRun(t, cfg, sink, store)
	if diff := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.skew`), sink.column(s+".skew", "v")); diff != "" {
		t.Errorf("rows: %s", diff)
	}
	if len(store.docs) == 0 {
		t.Fatal("no checkpoint saved")
	}
	v, err := redshiftsync.InspectState(store.docs[0])
	if err != nil {
		t.Fatal(err)
	}
	parts := v.Tables[s+".skew"].InProgress.Partitions
	largest := 0
	for _, p := range parts {
		q := `SELECT count(*) FROM ` + s + `.skew WHERE true`
		var args []any
		if p.Lower != nil {
			args = append(args, *p.Lower)
			q += fmt.Sprintf(" AND id >= $%d", len(args))
		}
		if p.Upper != nil {
			args = append(args, *p.Upper)
			q += fmt.Sprintf(" AND id < $%d", len(args))
		}
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		largest = max(largest, n)
	}
	if largest > 2000 || len(parts) < 6 {
		t.Errorf("%d chunks, the largest %d rows; want at least 6, none above 2000 (twice the chunk size)", len(parts), largest)
	}

	// GRANT SELECT ON svv_table_info restores the estimate.
	pgtest.Exec(t, pgtest.OpenDSN(t, pgtest.RedshiftDSN(t)), `GRANT SELECT ON svv_table_info TO `+role)
	_, d = discover(t, cfg, newMemSink())
	if est := d.Plans[0].Table.EstimatedRows; est != 6010 {
		t.Errorf("estimate %d with SELECT on svv_table_info, want 6010", est)
	}
}

// slowRows creates in schema table (id int PRIMARY KEY, v int) with rows
// 1..n, which a role other than its owner reads at the pace the SQL
// expression slow (of id, in seconds) gives each row: a row-level security
// policy sleeps that long per row read. The upstream's statement_timeout
// then cancels a statement that reads too many slow rows (57014), as
// Redshift's statement_timeout or a WLM timeout does.
func slowRows(t *testing.T, db *sql.DB, schema, table string, n int, slow string) {
	t.Helper()
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.%[2]s (id int PRIMARY KEY, v int);
INSERT INTO %[1]s.%[2]s SELECT i, i FROM generate_series(1, %[3]d) i;
CREATE FUNCTION %[1]s.%[2]s_pace(id int) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $f$
BEGIN PERFORM pg_sleep(%[4]s); RETURN true; END $f$;
ALTER TABLE %[1]s.%[2]s ENABLE ROW LEVEL SECURITY;
CREATE POLICY pace ON %[1]s.%[2]s FOR SELECT USING (%[1]s.%[2]s_pace(id));`, schema, table, n, slow))
}

// TestRedshiftChunkTimeoutSplits: a chunk whose statement is canceled by a
// timeout (57014) is read again in smaller chunks, not as the same
// statement; a chunk that cannot be made smaller (one key) and times out
// twice fails the table with a hint, whatever max_retries allows.
func TestRedshiftChunkTimeoutSplits(t *testing.T) {
	db, s := standinSchema(t)
	s2 := pgtest.NewSchema(t, db)
	// 200 rows of 5 ms: 1 s in one statement, 0.25 s in a quarter.
	slowRows(t, db, s, "slow", 200, "0.005")
	// Row 7 alone takes 0.8 s: every statement that reads it times out.
	slowRows(t, db, s2, "stuck", 40, "CASE WHEN id = 7 THEN 0.8 ELSE 0 END")
	role := readerRole(t, s, "slow")
	pgtest.Exec(t, db, fmt.Sprintf(`GRANT USAGE ON SCHEMA %[1]s TO %[2]s; GRANT SELECT ON %[1]s.stuck TO %[2]s;
GRANT SELECT ON redshift_standin.svv_table_info TO %[2]s`, s2, role))
	rdsn, err := url.Parse(pgtest.RedshiftDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	rdsn.User = url.User(role)
	cfg := configFor(t, rdsn.String(), s)
	cfg.StatementTimeout, cfg.MaxRetries, cfg.MaxParallelWorkers = 500*time.Millisecond, 5, 1

	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	if diff := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.slow`), sink.column(s+".slow", "v")); diff != "" {
		t.Errorf("slow: %s", diff)
	}

	cfg.Schema = s2
	ex, err := redshiftsync.New(cfg, newMemSink(), &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	_, err = ex.Run(t.Context())
	var te *redshiftsync.TableError
	if !errors.As(err, &te) || redshiftsync.SQLState(err) != "57014" || !strings.Contains(te.Hint, "timed out twice") {
		t.Fatalf("err = %v; want a TableError with SQLSTATE 57014 and a hint that the statement timed out twice", err)
	}
	if n := totalRetries(ex); n != 1 {
		t.Errorf("%d retries, want 1: the chunk of key 7 alone, retried once", n)
	}
}

// TestRedshiftChunksOtherKeys: on Redshift every keyset page is sorted by
// the leader node, so tables are read in unordered chunks whatever their
// key: decimal and float keys are cut into ranges too; a table ordered by a
// text key is chunked on its sort key (or an integer or date column); one
// with no column to cut is read in one unordered pass. Every row arrives.
func TestRedshiftChunksOtherKeys(t *testing.T) {
	db, s := standinSchema(t)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.dec (id numeric(12,2) PRIMARY KEY, v int);
INSERT INTO %[1]s.dec SELECT i * 1.25, i FROM generate_series(1, 3000) i;
CREATE TABLE %[1]s.flt (id double precision PRIMARY KEY, v int);
INSERT INTO %[1]s.flt SELECT i / 7.0, i FROM generate_series(1, 3000) i;
CREATE TABLE %[1]s.txt (id varchar(16) PRIMARY KEY, n int NOT NULL, created date NOT NULL, v int);
INSERT INTO %[1]s.txt SELECT 'k' || i, i, date '2024-01-01' + i / 10, i FROM generate_series(1, 3000) i;
INSERT INTO redshift_standin.table_attributes (relid, sortkey1) VALUES ('%[1]s.txt'::regclass, 'created');
CREATE TABLE %[1]s.onlytxt (id varchar(16) PRIMARY KEY, v text);
INSERT INTO %[1]s.onlytxt SELECT 'k' || i, 'v' || i FROM generate_series(1, 3000) i;`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	cfg.Partitions, cfg.PartitionThreshold, cfg.CheckpointEveryRows, cfg.BatchSize = 4, 1, 1, 500
	sink, store := newMemSink(), &savesStore{}
	mustRun(t, cfg, sink, store)
	for _, table := range []string{"dec", "flt", "txt", "onlytxt"} {
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
			t.Errorf("%s: %s", table, d)
		}
	}
	// The ranges each table was read in, from the checkpoints saved while
	// it was read.
	ranges := map[string]int{}
	chunkColumn := map[string]string{}
	for _, doc := range store.docs {
		var st struct {
			Tables map[string]struct {
				InProgress *struct {
					Chunked     bool              `json:"chunked"`
					ChunkColumn string            `json:"chunk_column"`
					Partitions  []json.RawMessage `json:"partitions"`
				} `json:"in_progress"`
			} `json:"tables"`
		}
		if err := json.Unmarshal(doc, &st); err != nil {
			t.Fatal(err)
		}
		for name, ts := range st.Tables {
			if p := ts.InProgress; p != nil && p.Chunked {
				name = strings.TrimPrefix(name, s+".")
				ranges[name] = max(ranges[name], len(p.Partitions))
				chunkColumn[name] = p.ChunkColumn
			}
		}
	}
	for table, want := range map[string]int{"dec": 4, "flt": 4, "txt": 4, "onlytxt": 1} {
		if ranges[table] != want {
			t.Errorf("%s: read in %d chunks, want %d", table, ranges[table], want)
		}
	}
	if chunkColumn["txt"] != "created" {
		t.Errorf("txt: chunked on %q, want its sort key created", chunkColumn["txt"])
	}
}
