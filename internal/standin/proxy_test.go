package standin_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/standin"
)

// start runs a stand-in in front of the test server and returns a pool
// through it (as the upstream's superuser) and its URL.
func start(t *testing.T) (*sql.DB, string) {
	t.Helper()
	s, err := standin.Listen(pgtest.DSN(t), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return pgtest.OpenDSN(t, s.URL()), s.URL()
}

// asRole returns u with the user replaced.
func asRole(t *testing.T, u, role string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.User(role)
	return p.String()
}

func pqErr(t *testing.T, err error) *pq.Error {
	t.Helper()
	var e *pq.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a server error, got %v", err)
	}
	return e
}

func TestStandinVersionAndFunctions(t *testing.T) {
	db, _ := start(t)
	var v string
	// Simple protocol (no arguments) and extended (with one).
	if err := db.QueryRow(`SELECT version()`).Scan(&v); err != nil || !strings.Contains(v, "Redshift 1.0.") || !strings.HasPrefix(v, "PostgreSQL 8.0.2") {
		t.Errorf("version() = %q, %v", v, err)
	}
	var n int
	if err := db.QueryRow(`SELECT version(), $1::int`, 7).Scan(&v, &n); err != nil || !strings.Contains(v, "Redshift") || n != 7 {
		t.Errorf("extended: %q %d %v", v, n, err)
	}
	var ns string
	var now time.Time
	if err := db.QueryRow(`SELECT current_namespace, getdate()`).Scan(&ns, &now); err != nil || len(ns) != 36 {
		t.Errorf("current_namespace %q, getdate %v: %v", ns, now, err)
	}
	var ns2 string
	if err := db.QueryRow(`SELECT current_namespace`).Scan(&ns2); err != nil || ns2 != ns {
		t.Errorf("current_namespace not stable: %q then %q (%v)", ns, ns2, err)
	}
}

// TestStandinRejects: rejections arrive as Redshift's errors on both
// protocols, and abort the transaction they happen in, as on a server.
func TestStandinRejects(t *testing.T) {
	db, _ := start(t)
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.k (a int, b int, flag boolean, PRIMARY KEY (a, b)); INSERT INTO %[1]s.k VALUES (1, 2, true)`, s))
	for _, c := range []struct {
		sql  string
		args []any
		code string
		msg  string
	}{
		{fmt.Sprintf(`SELECT a FROM %s.k WHERE (a, b) > ($1, $2)`, s), []any{0, 0}, "0A000", "row value constructors and row comparisons are not supported"},
		{fmt.Sprintf(`SELECT a FROM %s.k WHERE (a, b) > (0, 0)`, s), nil, "0A000", "row value constructors and row comparisons are not supported"},
		{fmt.Sprintf(`INSERT INTO %s.k VALUES ($1, 2) ON CONFLICT DO NOTHING`, s), []any{1}, "42601", `syntax error at or near "ON"`},
		{fmt.Sprintf(`SELECT con.conkey::text FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = '%s'`, s), nil, "42846", "cannot cast type smallint[] to character varying"},
		{`SELECT i.indkey::text FROM pg_catalog.pg_index i LIMIT $1`, []any{1}, "42846", "cannot cast type int2vector to character varying"},
		{fmt.Sprintf(`SELECT flag::text FROM %s.k`, s), nil, "42846", "cannot cast type boolean to character varying"},
		{`SELECT pg_export_snapshot()`, nil, "42883", "function pg_export_snapshot() does not exist"},
		{`SELECT txid_snapshot_xmin(txid_current_snapshot())`, nil, "42883", "function txid_current_snapshot() does not exist"},
		{fmt.Sprintf(`SELECT version(), a FROM %s.k`, s), nil, "0A000", "Specified types or functions (one per INFO message) not supported on Redshift tables."},
		{`SET idle_in_transaction_session_timeout TO 1000`, nil, "42704", `unrecognized configuration parameter "idle_in_transaction_session_timeout"`},
	} {
		_, err := db.Exec(c.sql, c.args...)
		if err == nil {
			t.Errorf("%s: accepted", c.sql)
			continue
		}
		if e := pqErr(t, err); string(e.Code) != c.code || e.Message != c.msg {
			t.Errorf("%s:\n got %s %s\nwant %s %s", c.sql, e.Code, e.Message, c.code, c.msg)
		}
	}
	// The accepted forms of the same queries work.
	var conkey string
	if err := db.QueryRow(fmt.Sprintf(`SELECT array_to_string(con.conkey, ',') FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = '%s'`, s)).Scan(&conkey); err != nil || conkey != "1,2" {
		t.Errorf("array_to_string(conkey): %q %v", conkey, err)
	}

	// In a transaction: the rejection aborts it.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(fmt.Sprintf(`SELECT a FROM %s.k WHERE (a, b) = (1, 2)`, s)); err == nil {
		t.Fatal("row comparison accepted in a transaction")
	}
	_, err = tx.Exec(`SELECT 1`)
	if e := pqErr(t, err); e.Code != "25P02" {
		t.Errorf("after a rejection in a transaction: %s %s, want 25P02", e.Code, e.Message)
	}
}

// TestStandinCopyAndCancel: COPY FROM STDIN is Redshift's syntax error at
// STDIN; a cancel request reaches the upstream backend.
func TestStandinCopyAndCancel(t *testing.T) {
	db, _ := start(t)
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.c (a int)`, s))
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = tx.Prepare(pq.CopyInSchema(s, "c", "a"))
	if e := pqErr(t, err); e.Code != "42601" || e.Message != `syntax error at or near "STDIN"` {
		t.Errorf("COPY FROM STDIN: %s %s", e.Code, e.Message)
	}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, `SELECT pg_sleep(60)`)
		errc <- err
	}()
	// Cancel once the statement runs upstream.
	for {
		var n int
		if err := pgtest.Open(t).QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	err = <-errc
	if e := pqErr(t, err); e.Code != "57014" {
		t.Errorf("cancelled statement: %s %s, want 57014", e.Code, e.Message)
	}
}

// TestStandinSystemViews: SVV_TABLE_INFO is visible only to superusers and
// roles granted SELECT, has no row for an empty table and counts rows;
// SVV_TRANSACTIONS shows a superuser every transaction holding a lock, and
// a regular user only its own.
func TestStandinSystemViews(t *testing.T) {
	db, u := start(t)
	admin := pgtest.Open(t)
	s := pgtest.NewSchema(t, admin)
	role := strings.ToLower(s) + "_r"
	pgtest.Exec(t, admin, fmt.Sprintf(`CREATE ROLE %s LOGIN; GRANT USAGE ON SCHEMA %s TO %[1]s;
CREATE TABLE %[2]s.full_t (id int PRIMARY KEY, v varchar(40)); INSERT INTO %[2]s.full_t SELECT g, 'x' FROM generate_series(1, 25) g;
CREATE TABLE %[2]s.empty_t (id int); GRANT SELECT ON ALL TABLES IN SCHEMA %[2]s TO %[1]s`, role, s))
	t.Cleanup(func() {
		pgtest.Exec(t, admin, fmt.Sprintf(`DROP OWNED BY %s; DROP ROLE %[1]s`, role))
	})
	rows := func(db *sql.DB) (map[string]string, error) {
		r, err := db.Query(`SELECT "table", tbl_rows, max_varchar, diststyle, sortkey1 FROM svv_table_info WHERE "schema" = $1`, s)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		out := map[string]string{}
		for r.Next() {
			var name, rows, mv, ds, sk string
			if err := r.Scan(&name, &rows, &mv, &ds, &sk); err != nil {
				return nil, err
			}
			out[name] = rows + " " + mv + " " + ds + " " + sk
		}
		return out, r.Err()
	}
	got, err := rows(db)
	if err != nil || len(got) != 1 || got["full_t"] != "25 40 AUTO(EVEN) AUTO(SORTKEY)" {
		t.Errorf("superuser: %v %v", got, err)
	}
	user := pgtest.OpenDSN(t, asRole(t, u, role))
	_, err = rows(user)
	if err == nil {
		t.Fatal("a regular user reads svv_table_info")
	}
	if e := pqErr(t, err); e.Code != "42501" || e.Message != "permission denied for relation svv_table_info" {
		t.Errorf("regular user: %s %s", e.Code, e.Message)
	}
	pgtest.Exec(t, admin, `GRANT SELECT ON redshift_standin.svv_table_info TO `+role)
	if got, err := rows(user); err != nil || len(got) != 1 {
		t.Errorf("granted: %v %v", got, err)
	}

	// A transaction of the superuser that holds a lock on full_t.
	other, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.Exec(fmt.Sprintf(`UPDATE %s.full_t SET v = 'y' WHERE id = 1`, s)); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := other.QueryRow(`SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	count := func(db *sql.DB) int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM svv_transactions WHERE pid = $1 AND lock_mode = 'ExclusiveLock' AND lockable_object_type = 'transactionid' AND granted AND xid > 0`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(db); n != 1 {
		t.Errorf("superuser sees %d rows of the open transaction, want 1", n)
	}
	if n := count(user); n != 0 {
		t.Errorf("a regular user sees %d rows of another's transaction, want 0", n)
	}
}
