// This file holds the tests of Extractor.Check against the real server: a
// role that may read two of three tables, a corrupt state file, an
// unwritable state directory, a held lock, and that Check reads no rows.

package redshiftsync_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// noRowsSink fails the test when a row reaches it.
func noRowsSink(t *testing.T) redshiftsync.Sink {
	return redshiftsync.SinkFuncs{WriteFunc: func(_ context.Context, b redshiftsync.Batch) error {
		t.Errorf("Check wrote %d rows of %s to the sink", len(b.Rows), b.Table.QualifiedName())
		return nil
	}}
}

// runCheck runs Extractor.Check with a fresh extractor and closes it.
func runCheck(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) []redshiftsync.CheckResult {
	t.Helper()
	ex := synctest.New(t, cfg, sink, store, opts...)
	defer ex.Close() // on return: tests count the sessions left after it
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := ex.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, r := range res {
		t.Log(r)
	}
	return res
}

// result returns the result whose name is name, failing the test when
// there is none.
func result(t *testing.T, res []redshiftsync.CheckResult, name string) redshiftsync.CheckResult {
	t.Helper()
	for _, r := range res {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no check named %q in %v", name, res)
	return redshiftsync.CheckResult{}
}

// scans returns the sum of seq_scan and idx_scan of the tables of schema.
func scans(t *testing.T, db *sql.DB, schema string) int64 {
	t.Helper()
	return pgtest.QueryValue[int64](t, db, `SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables WHERE schemaname = $1`, schema)
}

// TestCheckPrivileges: as a role that may read two of three tables (one by
// a table grant, one by column grants covering every column), Check reports
// the third FAIL with the GRANT to run, its name quoted, the others ok, and
// reads no rows: nothing reaches the sink and the tables' scan counts do
// not move (read once the role's sessions are gone, which flush their
// statistics as they end).
func TestCheckPrivileges(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.a (id int PRIMARY KEY, v text);
CREATE TABLE %[1]s.b (id int PRIMARY KEY, v text);
CREATE TABLE %[1]s."Page-Views" (id int PRIMARY KEY, url text, at timestamptz);
INSERT INTO %[1]s.a SELECT g, 'x' FROM generate_series(1, 50) g;
INSERT INTO %[1]s.b SELECT g, 'y' FROM generate_series(1, 50) g;
INSERT INTO %[1]s."Page-Views" SELECT g, 'u', now() FROM generate_series(1, 50) g;`)
	role := "check_" + randomHex(t, 6)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s;
GRANT SELECT ON %[2]s.a TO %[1]s; GRANT SELECT (id, v) ON %[2]s.b TO %[1]s; GRANT SELECT (id) ON %[2]s."Page-Views" TO %[1]s;`, role, s))
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })
	cfg := configFor(t, dsnWith(t, func(u *url.URL) { u.User = url.User(role) }), s)

	pgtest.Exec(t, db, `SELECT pg_stat_force_next_flush()`)
	before := scans(t, db, s)
	res := runCheck(t, cfg, noRowsSink(t), redshiftsync.NewFileStore(filepath.Join(t.TempDir(), "state.json")))

	for _, name := range []string{"connect", "dialect", "discover schema " + s, "select " + s + ".a", "select " + s + ".b"} {
		if r := result(t, res, name); r.Status != redshiftsync.CheckOK {
			t.Errorf("%s: %v, want ok", name, r)
		}
	}
	pv := result(t, res, "select "+s+".Page-Views")
	wantFix := fmt.Sprintf(`GRANT SELECT ON %s."Page-Views" TO %s;`, s, role)
	if pv.Status != redshiftsync.CheckFail || pv.Fix != wantFix || !strings.Contains(pv.Message, "url, at") {
		t.Errorf("Page-Views: %v; want FAIL naming the columns url, at, with the fix %s", pv, wantFix)
	}
	line := pv.String()
	if !strings.HasPrefix(line, "FAIL select "+s+".Page-Views: ") || !strings.HasSuffix(line, " — fix: "+wantFix) {
		t.Errorf("line %q", line)
	}
	if !redshiftsync.CheckFailed(res) {
		t.Error("CheckFailed = false")
	}

	// The role's sessions flush their statistics as they end.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions of %s still open after Close", n, role)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := scans(t, db, s); after != before {
		t.Errorf("the tables' scan counts moved from %d to %d: Check read rows", before, after)
	}
}

// TestCheckState: a corrupt state file fails naming the file, a state
// directory that cannot exist (a file stands where it should be) fails even
// for root, a lock another holder has fails naming the holder, a state of
// another server fails with the mismatch; a good state passes and is left
// as it was, with nothing left beside it.
func TestCheckState(t *testing.T) {
	_, s := pgtest.OpenSourceSchema(t, `CREATE TABLE %[1]s.a (id int PRIMARY KEY); INSERT INTO %[1]s.a VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10);`)
	cfg := testConfig(t, s)

	t.Run("good state", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		store := redshiftsync.NewFileStore(path)
		mustRun(t, cfg, newMemSink(), store)
		doc, _ := os.ReadFile(path)
		fi, _ := os.Stat(path)
		res := runCheck(t, cfg, noRowsSink(t), store)
		if redshiftsync.CheckFailed(res) {
			t.Errorf("a good setup failed: %v", res)
		}
		if r := result(t, res, "state file "+path); !strings.Contains(r.Message, "version 2, 1 tables") {
			t.Errorf("state: %v", r)
		}
		doc2, _ := os.ReadFile(path)
		fi2, _ := os.Stat(path)
		if string(doc2) != string(doc) || !fi2.ModTime().Equal(fi.ModTime()) {
			t.Error("Check changed the state file")
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") != "state.json state.json.lock" {
			t.Errorf("files beside the state: %v", names)
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, []byte(`{"version": 2, "tables": {`), 0o644); err != nil {
			t.Fatal(err)
		}
		r := result(t, runCheck(t, cfg, noRowsSink(t), redshiftsync.NewFileStore(path)), "state file "+path)
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, "unreadable") || !strings.Contains(r.Fix, path) {
			t.Errorf("corrupt state: %v", r)
		}
	})

	t.Run("unwritable directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(file, "out", "state.json")
		r := result(t, runCheck(t, cfg, noRowsSink(t), redshiftsync.NewFileStore(path)), "write state file "+path)
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, file+" is not a directory") {
			t.Errorf("unwritable: %v", r)
		}
	})

	t.Run("locked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		store := redshiftsync.NewFileStore(path)
		unlock, err := redshiftsync.NewFileStore(path).Lock(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		r := result(t, runCheck(t, cfg, noRowsSink(t), store), "lock of the state file "+path)
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, fmt.Sprintf("pid %d", os.Getpid())) {
			t.Errorf("locked: %v", r)
		}
	})

	t.Run("another server", func(t *testing.T) {
		store := &redshiftsync.MemoryStore{}
		doc := fmt.Sprintf(`{"version": 2, "source": %q, "server": "postgresql:1", "tables": {}}`, cfg.Database+"/"+s)
		store.Save(context.Background(), []byte(doc))
		r := result(t, runCheck(t, cfg, noRowsSink(t), store), "state in memory")
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, "postgresql:1") || !strings.Contains(r.Fix, "adopt") {
			t.Errorf("another server: %v", r)
		}
		if r := result(t, runCheck(t, cfg, noRowsSink(t), store, redshiftsync.WithAdoptState()), "state in memory"); r.Status != redshiftsync.CheckOK {
			t.Errorf("adopted: %v", r)
		}
	})
}

// TestCheckRedshiftTableInfo: on Redshift (the PostgreSQL mirrors of
// redshift_test.go), an unreadable svv_table_info is a warning saying what
// is lost, with the grant to run; readable, it is ok. A warning alone does
// not fail the check.
func TestCheckRedshiftTableInfo(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, note text); INSERT INTO %[1]s.orders SELECT generate_series(1, 10), 'n';`)
	check := func() redshiftsync.CheckResult {
		t.Helper()
		ex := redshiftExtractor(t, s, s, noRowsSink(t))
		defer ex.Close()
		res, err := ex.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Log(r)
		}
		if redshiftsync.CheckFailed(res) {
			t.Errorf("a warning failed the check: %v", res)
		}
		return result(t, res, "read svv_table_info")
	}
	if r := check(); r.Status != redshiftsync.CheckWarn || !strings.Contains(r.Message, "no row estimates") || !strings.Contains(r.Message, "no percentage or time left") ||
		!strings.HasPrefix(r.Fix, "GRANT SELECT ON svv_table_info TO ") {
		t.Errorf("unreadable svv_table_info: %v", r)
	}
	pgtest.Exec(t, db, fmt.Sprintf(svvTableInfo, s))
	if r := check(); r.Status != redshiftsync.CheckOK {
		t.Errorf("readable svv_table_info: %v", r)
	}
}
