package redshiftsync_test

// The UNLOAD read through the Redshift stand-in, with an in-memory
// Unloader (fakeUnload) in place of package unload and S3: it runs each
// UNLOAD statement's inner SELECT on the upstream PostgreSQL, as Redshift
// reads its literals, and serves the rows as parts. It counts the
// statements, so that a resume is seen to run no second UNLOAD.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// fakeUnload is an Unloader over files kept in memory, and the UNLOAD
// statement that writes them (exec, given to the extractor with
// WithUnloadExec).
type fakeUnload struct {
	db       *sql.DB // the upstream PostgreSQL, where the inner SELECTs run
	partRows int     // rows per part

	mu         sync.Mutex
	files      map[string][][][]any // location -> parts -> rows
	statements []string
	removed    []string
	// execErr, when set, is called for each statement; an error it
	// returns fails it, after the files are written when written is true.
	execErr func(n int) (err error, written bool)
}

func newFakeUnload(db *sql.DB, partRows int) *fakeUnload {
	return &fakeUnload{db: db, partRows: partRows, files: map[string][][][]any{}}
}

func (f *fakeUnload) exec(ctx context.Context, _ *sql.Conn, stmt string) error {
	f.mu.Lock()
	f.statements = append(f.statements, stmt)
	n := len(f.statements)
	f.mu.Unlock()
	query, rest, err := redshiftsync.ParseRedshiftLiteral(strings.TrimPrefix(stmt, "UNLOAD ("))
	if err != nil || !strings.HasPrefix(rest, ") TO ") {
		return fmt.Errorf("fake UNLOAD: cannot read the statement %q: %v", stmt, err)
	}
	loc, _, err := redshiftsync.ParseRedshiftLiteral(strings.TrimPrefix(rest, ") TO "))
	if err != nil {
		return err
	}
	var fail error
	written := true
	if f.execErr != nil {
		fail, written = f.execErr(n)
	}
	if fail != nil && !written {
		return fail
	}
	f.mu.Lock()
	_, exists := f.files[loc]
	f.mu.Unlock()
	if exists {
		return errors.New("fake UNLOAD: Specified unload destination on S3 is not empty") // as Redshift refuses it
	}
	rows, err := f.run(ctx, query)
	if err != nil {
		return err
	}
	var parts [][][]any
	for len(rows) > 0 {
		n := min(f.partRows, len(rows))
		parts = append(parts, rows[:n])
		rows = rows[n:]
	}
	f.mu.Lock()
	f.files[loc] = parts
	f.mu.Unlock()
	return fail
}

// run runs query with PostgreSQL reading literals as Redshift does (a
// backslash escapes), and decodes the values as the SQL path delivers them
// for the test tables' types (bigint, text, timestamp).
func (f *fakeUnload) run(ctx context.Context, query string) ([][]any, error) {
	conn, err := f.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET standard_conforming_strings = off; SET escape_string_warning = off`); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `RESET standard_conforming_strings; RESET escape_string_warning`)
	rs, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("fake UNLOAD: %s: %w", query, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]any
	for rs.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range row {
			switch x := v.(type) {
			case []byte:
				row[i] = string(x)
			case time.Time:
				row[i] = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
			}
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

func partURL(loc string, i int) string { return fmt.Sprintf("%s%04d_part_00.parquet", loc, i) }

func (f *fakeUnload) Parts(_ context.Context, loc string) ([]redshiftsync.UnloadPart, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts, ok := f.files[loc]
	if !ok {
		return nil, fmt.Errorf("%w: %smanifest", redshiftsync.ErrUnloadNotFound, loc)
	}
	out := make([]redshiftsync.UnloadPart, len(parts))
	for i, p := range parts {
		out[i] = redshiftsync.UnloadPart{URL: partURL(loc, i), Rows: int64(len(p)), Bytes: int64(100 * len(p))}
	}
	return out, nil
}

func (f *fakeUnload) part(url string) ([][]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for loc, parts := range f.files {
		for i, p := range parts {
			if partURL(loc, i) == url {
				return p, true
			}
		}
	}
	return nil, false
}

func (f *fakeUnload) ReadPart(ctx context.Context, _ *redshiftsync.Table, part redshiftsync.UnloadPart, maxRows int, _ int64, emit func([][]any) error) error {
	rows, ok := f.part(part.URL)
	if !ok {
		return fmt.Errorf("fake S3: %s: NoSuchKey", part.URL)
	}
	buf := make([][]any, 0, maxRows)
	for len(rows) > 0 {
		n := min(maxRows, len(rows))
		// Copies: the extractor clears the rows emit hands it once its
		// sink has them (see Unloader.ReadPart), and these are the
		// fake's files.
		buf = buf[:0]
		for _, r := range rows[:n] {
			buf = append(buf, append([]any(nil), r...))
		}
		if err := emit(buf); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (f *fakeUnload) Remove(_ context.Context, loc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, loc)
	f.removed = append(f.removed, loc)
	return nil
}

func (f *fakeUnload) unloads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.statements)
}

// ids returns the first column of every row of the parts at loc from part
// first on, as fmtVal prints them.
func (f *fakeUnload) ids(loc string, first int) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, p := range f.files[loc][first:] {
		for _, r := range p {
			out[fmtVal(r[0])] = true
		}
	}
	return out
}

// unloadConfig is a configuration of the stand-in that unloads every table
// of at least threshold rows.
func unloadConfig(t *testing.T, s string, threshold int) redshiftsync.Config {
	t.Helper()
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	cfg.UnloadS3URI = "s3://redshiftsync-test/unload/"
	cfg.UnloadIAMRole = "arn:aws:iam::123456789012:role/redshiftsync-unload"
	cfg.UnloadThreshold = threshold
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (f *fakeUnload) options() []redshiftsync.Option {
	return []redshiftsync.Option{redshiftsync.WithUnloader(f), redshiftsync.WithUnloadExec(f.exec)}
}

// TestUnloadFullSync: a table at the threshold is unloaded once, every row
// arriving as the SQL path delivers it, and its files are deleted after the
// sync; a table below it is read with SELECT, and the plan says why.
func TestUnloadFullSync(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text, at timestamp);
INSERT INTO %[1]s.big SELECT i, 'v' || i || E'\'\\', timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 230) i;
INSERT INTO %[1]s.big VALUES (0, NULL, NULL);
CREATE TABLE %[1]s.small (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.small SELECT i, 's' || i FROM generate_series(1, 5) i;
ANALYZE %[1]s.big; ANALYZE %[1]s.small;`, s))
	fake := newFakeUnload(db, 50)
	cfg := unloadConfig(t, s, 100)
	cfg.BatchSize = 20
	ex, err := redshiftsync.New(cfg, newMemSink(), &redshiftsync.MemoryStore{}, fake.options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	d, err := ex.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Plans {
		want := p.Table.Name == "big"
		if p.Unload == nil || p.Unload.Use != want {
			t.Errorf("%s: unload plan %+v, want use %v", p.Table.Name, p.Unload, want)
		} else if !want && !strings.Contains(p.Unload.Reason, "read with SELECT") {
			t.Errorf("%s: reason %q", p.Table.Name, p.Unload.Reason)
		}
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, fake.options()...)
	if n := fake.unloads(); n != 1 {
		t.Fatalf("%d UNLOAD statements, want 1", n)
	}
	sqlSink := newMemSink()
	mustRun(t, configFor(t, pgtest.RedshiftDSN(t), s), sqlSink, &redshiftsync.MemoryStore{})
	for _, table := range []string{s + ".big", s + ".small"} {
		for _, col := range []string{"id", "v"} {
			if diff := diffMaps(sqlSink.column(table, col), sink.column(table, col)); diff != "" {
				t.Errorf("%s.%s: unloaded and SELECTed differ: %s", table, col, diff)
			}
		}
	}
	if diff := diffMaps(sqlSink.column(s+".big", "at"), sink.column(s+".big", "at")); diff != "" {
		t.Errorf("big.at: %s", diff)
	}
	if len(sink.rows[s+".big"]) != 231 || sink.maxDeliveries(s+".big") != 1 {
		t.Errorf("big: %d rows, delivered up to %d times", len(sink.rows[s+".big"]), sink.maxDeliveries(s+".big"))
	}
	if len(fake.removed) != 1 || len(fake.files) != 0 {
		t.Errorf("files removed %v, left %d", fake.removed, len(fake.files))
	}
}

// TestUnloadResumesPerPart: a sink that fails in the middle of the third
// part stops the run; the next run issues no second UNLOAD, reads the
// parts not delivered yet, each once, and none of the parts delivered
// before; the files stay until then, and the failed run's log says where.
func TestUnloadResumesPerPart(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.big SELECT i, 'v' || i FROM generate_series(1, 200) i;`, s))
	fake := newFakeUnload(db, 40) // 5 parts
	cfg := unloadConfig(t, s, 1)
	cfg.BatchSize = 10
	cfg.MaxParallelWorkers = 1 // parts in order, so the test knows which are done
	cfg.CheckpointEveryRows = 1
	store := &redshiftsync.MemoryStore{}
	var logs logBuffer
	failing := newMemSink()
	failing.failAfter = 100 // parts 0 and 1 (80 rows) then 20 rows of part 2
	if _, err := runOnce(t, cfg, failing, store, append(fake.options(), redshiftsync.WithLogger(newLogger(&logs)))...); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the sink's failure", err)
	}
	if len(fake.removed) != 0 || len(fake.files) != 1 {
		t.Fatalf("after the failure: removed %v, %d UNLOADs' files kept", fake.removed, len(fake.files))
	}
	var loc string
	for l := range fake.files {
		loc = l
	}
	if !strings.Contains(logs.String(), `"location":"`+loc+`"`) {
		t.Errorf("the failed run's log does not say where the files are (%s):\n%s", loc, logs.String())
	}
	doc, _ := store.Load(context.Background())
	if !bytes.Contains(doc, []byte(`"version": 3`)) {
		t.Errorf("the state with an UNLOAD in progress is not version 3:\n%s", doc)
	}
	want := fake.ids(loc, 2)
	sink := newMemSink()
	mustRun(t, cfg, sink, store, fake.options()...)
	if n := fake.unloads(); n != 1 {
		t.Errorf("%d UNLOAD statements over both runs, want 1", n)
	}
	got := sink.column(s+".big", "id")
	if len(got) != len(want) || sink.maxDeliveries(s+".big") != 1 {
		t.Errorf("resumed run delivered %d rows (up to %d times each), want the %d rows of parts 2-4 once", len(got), sink.maxDeliveries(s+".big"), len(want))
	}
	for id := range got {
		if !want[id] {
			t.Errorf("resumed run delivered id %s of a part delivered before", id)
		}
	}
	all := map[string]bool{}
	for id := range failing.column(s+".big", "id") {
		all[id] = true
	}
	for id := range got {
		all[id] = true
	}
	if len(all) != 200 {
		t.Errorf("%d distinct rows over both runs, want 200", len(all))
	}
	if len(fake.removed) != 1 || fake.removed[0] != loc {
		t.Errorf("files removed after the resumed sync: %v, want %s", fake.removed, loc)
	}
	doc, _ = store.Load(context.Background())
	if !bytes.Contains(doc, []byte(`"version": 2`)) {
		t.Errorf("the state after the sync is not version 2:\n%s", doc)
	}
}

// TestUnloadResumeAfterStatement: a run that stops after the UNLOAD wrote
// its files but before their parts were saved resumes from the manifest
// without unloading again; one that stops before the UNLOAD wrote anything
// runs it again at the same location.
func TestUnloadResumeAfterStatement(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.big SELECT i, 'v' || i FROM generate_series(1, 90) i;`, s))
	cfg := unloadConfig(t, s, 1)
	for _, written := range []bool{true, false} {
		fake := newFakeUnload(db, 40)
		fake.execErr = func(n int) (error, bool) {
			if n == 1 {
				return errors.New("connection to the cluster lost as the UNLOAD ended"), written
			}
			return nil, true
		}
		store := &redshiftsync.MemoryStore{}
		if _, err := runOnce(t, cfg, newMemSink(), store, fake.options()...); err == nil {
			t.Fatal("the first run succeeded")
		}
		sink := newMemSink()
		mustRun(t, cfg, sink, store, fake.options()...)
		wantUnloads := map[bool]int{true: 1, false: 2}[written]
		if n := fake.unloads(); n != wantUnloads {
			t.Errorf("files written %v: %d UNLOAD statements, want %d", written, n, wantUnloads)
		}
		if got := len(sink.rows[s+".big"]); got != 90 {
			t.Errorf("files written %v: %d rows, want 90", written, got)
		}
		if len(fake.statements) == 2 && fake.statements[0] != fake.statements[1] {
			t.Errorf("the UNLOAD run again is not the same statement:\n%s\n%s", fake.statements[0], fake.statements[1])
		}
	}
}

// TestUnloadIncrementalPhase: an incremental table's first sync is
// unloaded; a later phase of at least the threshold's rows is unloaded with
// its bounds as literals in the inner SELECT; a small phase is read with
// SELECT. A text key of hostile values is bound exactly.
func TestUnloadIncrementalPhase(t *testing.T) {
	defer redshiftsync.SetWatermarkTimings(time.Second, 0, 5*time.Minute)()
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.events (id bigint PRIMARY KEY, v varchar(40), updated_at timestamp NOT NULL);
INSERT INTO %[1]s.events SELECT i, 'e' || i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 300) i;`, s))
	fake := newFakeUnload(db, 64)
	cfg := unloadConfig(t, s, 50)
	store := &redshiftsync.MemoryStore{}
	mustRun(t, cfg, newMemSink(), store, fake.options()...)
	if fake.unloads() != 1 {
		t.Fatalf("first sync: %d UNLOADs, want 1", fake.unloads())
	}
	mustRun(t, cfg, newMemSink(), store, fake.options()...) // releases the first sync's mark (see pendingMark)
	pgtest.Exec(t, db, `UPDATE `+s+`.events SET v = 'updated', updated_at = timestamp '2024-06-01' + id * interval '1 second' WHERE id % 5 = 0`)
	sink := newMemSink()
	mustRun(t, cfg, sink, store, fake.options()...)
	unloads := fake.unloads()
	last := fake.statements[unloads-1]
	if !strings.Contains(last, `"updated_at" >= CAST(''`) || !strings.Contains(last, `"updated_at" <= CAST(''2024-06-01 00:05:00`) {
		t.Errorf("the phase's UNLOAD lacks its bounds:\n%s", last)
	}
	got := sink.column(s+".events", "v")
	updated := 0
	for _, v := range got {
		if v == "updated" {
			updated++
		}
	}
	if updated != 60 || len(got) > 62 {
		t.Errorf("the unloaded phase delivered %d rows, %d of them updated; want the 60 updated (and at most the bookmark's rows)", len(got), updated)
	}
	pgtest.Exec(t, db, `UPDATE `+s+`.events SET updated_at = timestamp '2024-07-01' WHERE id IN (1, 2)`)
	sink = newMemSink()
	mustRun(t, cfg, sink, store, fake.options()...)
	if fake.unloads() != unloads {
		t.Errorf("a phase of a few rows was unloaded")
	}
	if got := sink.column(s+".events", "id"); !(got["1"] == "1" && got["2"] == "2") {
		t.Errorf("small phase read with SELECT: %v", got)
	}

	// A text key whose values hold quotes, backslashes, line breaks and
	// Unicode: the phase after a hostile bookmark holds exactly the rows
	// the server orders at or after it.
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.hostile (id bigint PRIMARY KEY, k text NOT NULL);
INSERT INTO %[1]s.hostile VALUES (1, 'a'), (2, E'b\'\\'), (3, E'b\n''x'), (4, E'z\'\\\n\\''ü☃');`, s))
	hcfg := unloadConfig(t, s, 1)
	hcfg.TablesFromSpecs = true
	spec := redshiftsync.WithTableSpecs([]redshiftsync.TableSpec{{Table: "hostile", ReplicationKey: "k", Strategy: redshiftsync.StrategyIncremental}})
	hstore := &redshiftsync.MemoryStore{}
	mustRun(t, hcfg, newMemSink(), hstore, append(fake.options(), spec)...)
	mustRun(t, hcfg, newMemSink(), hstore, append(fake.options(), spec)...)
	doc, _ := hstore.Load(context.Background())
	var st struct {
		Tables map[string]struct{ Bookmark string }
	}
	json.Unmarshal(doc, &st)
	bookmark := st.Tables[s+".hostile"].Bookmark
	if bookmark != "z'\\\n\\'ü☃" {
		t.Fatalf("the bookmark is %q, not the hostile key", bookmark)
	}
	pgtest.Exec(t, db, `INSERT INTO `+s+`.hostile VALUES (8, E'\\\\\\'''), (9, 'zz'), (10, E'z\'\\\n\\''ü☃')`)
	before := fake.unloads()
	hsink := newMemSink()
	mustRun(t, hcfg, hsink, hstore, append(fake.options(), spec)...)
	if fake.unloads() != before+1 {
		t.Fatalf("the hostile phase was not unloaded")
	}
	want := map[string]string{}
	rs, err := db.Query(`SELECT id::text FROM `+s+`.hostile WHERE k >= $1`, bookmark)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var id string
		rs.Scan(&id)
		want[id] = id
	}
	rs.Close()
	if diff := diffMaps(want, hsink.column(s+".hostile", "id")); diff != "" {
		t.Errorf("after bookmark %q: %s\n%s", bookmark, diff, fake.statements[len(fake.statements)-1])
	}
}

// TestUnloadCredentialsNeverShow: with the access-key form, the keys reach
// the UNLOAD statement and nothing else: not the logs (debug level), not a
// failed UNLOAD's error, not the plan.
func TestUnloadCredentialsNeverShow(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.big (id bigint PRIMARY KEY); INSERT INTO %[1]s.big SELECT generate_series(1, 20);`, s))
	const keyID, secret, token = "AKIAEXAMPLE000KEYID9", "wJalrXUtnFEMI-unload-secret", "FwoGZXIvYXdzEXAMPLE-token"
	cfg := unloadConfig(t, s, 1)
	cfg.UnloadIAMRole = ""
	cfg.UnloadAccessKeyID, cfg.UnloadSecretAccessKey, cfg.UnloadSessionToken = keyID, secret, token
	var logs logBuffer
	fake := newFakeUnload(db, 8)
	mustRun(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, append(fake.options(), redshiftsync.WithLogger(newLogger(&logs)))...)
	if !strings.Contains(fake.statements[0], "SECRET_ACCESS_KEY '"+secret+"'") {
		t.Errorf("the statement lacks the keys: %s", fake.statements[0])
	}
	fake.execErr = func(int) (error, bool) {
		return fmt.Errorf("S3ServiceException: the key %s of %s is not valid", secret, keyID), false
	}
	_, err := runOnce(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, append(fake.options(), redshiftsync.WithLogger(newLogger(&logs)))...)
	if err == nil {
		t.Fatal("a failing UNLOAD did not fail the run")
	}
	ex, err2 := redshiftsync.New(cfg, newMemSink(), &redshiftsync.MemoryStore{}, fake.options()...)
	if err2 != nil {
		t.Fatal(err2)
	}
	defer ex.Close()
	d, err2 := ex.Discover(context.Background())
	if err2 != nil {
		t.Fatal(err2)
	}
	plan, _ := json.Marshal(d)
	out := logs.String() + err.Error() + string(plan) + fmt.Sprint(cfg)
	for _, v := range []string{keyID, secret, token} {
		if strings.Contains(out, v) {
			t.Errorf("%s shows in the logs, the error or the plan", v)
		}
	}
	if !strings.Contains(logs.String(), "ACCESS_KEY_ID '[redacted]'") {
		t.Errorf("the log does not show the statement, redacted:\n%s", logs.String())
	}
}

// TestUnloadFilesGone: when the files of the UNLOAD a sync was reading are
// deleted before it resumes, the next run unloads the phase again and
// delivers every row; nothing is lost and the table is not stuck.
func TestUnloadFilesGone(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.big SELECT i, 'v' || i FROM generate_series(1, 200) i;`, s))
	fake := newFakeUnload(db, 40)
	cfg := unloadConfig(t, s, 1)
	cfg.BatchSize = 10
	cfg.MaxParallelWorkers = 1
	cfg.CheckpointEveryRows = 1
	store := &redshiftsync.MemoryStore{}
	failing := newMemSink()
	failing.failAfter = 100
	if _, err := runOnce(t, cfg, failing, store, fake.options()...); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the sink's failure", err)
	}
	fake.mu.Lock()
	clear(fake.files) // a lifecycle rule deleted them
	fake.mu.Unlock()
	sink := newMemSink()
	mustRun(t, cfg, sink, store, fake.options()...)
	if n := fake.unloads(); n != 2 {
		t.Errorf("%d UNLOAD statements, want 2 (the files were gone)", n)
	}
	if got := len(sink.rows[s+".big"]); got != 200 {
		t.Errorf("the run after the files were gone delivered %d rows, want all 200", got)
	}
	if len(sink.events) == 0 || !strings.Contains(strings.Join(sink.events, " "), "begin") {
		t.Errorf("the full sync's resync was not begun again: events %v", sink.events)
	}
}
