package redshiftsync_test

// The Redshift dialect, run against PostgreSQL mirrors of what Redshift's
// leader node offers, and (when REDSHIFTSYNC_REDSHIFT_DSN is set) against a
// real cluster.
//
// Mirrors, each after the Redshift documentation page named
// (https://docs.aws.amazon.com/redshift/latest/dg/<page>.html):
//
//   - svv_table_info: r_SVV_TABLE_INFO. A view with the documented columns
//     and types (database text, schema text, table_id oid, table text,
//     encoded text, diststyle text, sortkey1 text, max_varchar integer,
//     sortkey1_enc character(32), sortkey_num integer, size bigint,
//     pct_used numeric(10,4), empty bigint, unsorted numeric(5,2),
//     stats_off numeric(5,2), tbl_rows numeric(38,0), skew_sortkey1
//     numeric(19,2), skew_rows numeric(19,2), estimated_visible_rows
//     numeric(38,0), risk_event text, vacuum_sort_benefit numeric(12,2),
//     create_time timestamp), with no row for an empty table as documented,
//     sortkey1 in its three documented forms (column, AUTO(SORTKEY),
//     AUTO(SORTKEY(column))) and diststyle in KEY(column), AUTO(EVEN), ALL.
//     The catalog query names it unqualified, as on Redshift: the mirror is
//     found through the connection's search_path.
//   - IDENTITY columns: r_CREATE_TABLE_NEW. Redshift prints an IDENTITY
//     column's default as "identity"(<oid>, <n>, '<seed>,<step>'::text).
//     PostgreSQL cannot print the quoted form; a function named identity
//     gives the unquoted one, identity(100000, 0, '1,1'::text), which the
//     same pattern reads. The quoted form is unit-tested
//     (TestRedshiftIdentityDefault).
//   - Informational primary keys: t_Defining_constraints. Redshift does not
//     enforce them; the dialect marks every key not enforced, whatever the
//     server does.
//
// What PostgreSQL cannot produce at all (VARBYTE hex text, SUPER, GEOMETRY,
// HLLSKETCH, INTERVAL YEAR TO MONTH, 15-digit floats, the version() string)
// is unit-tested on the documented forms in types_test.go.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// svvTableInfo creates the mirror of SVV_TABLE_INFO in schema %[1]s; the
// rows of table info holds each table's diststyle, sortkey1 and tbl_rows.
const svvTableInfo = `
CREATE TABLE %[1]s._table_info (relname text PRIMARY KEY, diststyle text, sortkey1 text, tbl_rows numeric(38,0));
CREATE VIEW %[1]s.svv_table_info AS
SELECT current_database()::text AS database, n.nspname::text AS schema, c.oid AS table_id,
	c.relname::text AS "table", 'Y'::text AS encoded, i.diststyle, i.sortkey1,
	256::integer AS max_varchar, 'none'::character(32) AS sortkey1_enc,
	CASE WHEN i.sortkey1 = 'AUTO(SORTKEY)' THEN 0 ELSE 1 END::integer AS sortkey_num,
	12::bigint AS size, 0.0123::numeric(10,4) AS pct_used, 0::bigint AS empty,
	1.50::numeric(5,2) AS unsorted, 0.00::numeric(5,2) AS stats_off, i.tbl_rows,
	1.00::numeric(19,2) AS skew_sortkey1, 1.02::numeric(19,2) AS skew_rows,
	i.tbl_rows AS estimated_visible_rows, NULL::text AS risk_event,
	0.00::numeric(12,2) AS vacuum_sort_benefit, timestamp '2024-01-01 00:00:00' AS create_time
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN %[1]s._table_info i ON i.relname = c.relname
WHERE c.relkind = 'r' AND n.nspname = '%[1]s';
`

const redshiftTables = `
CREATE FUNCTION %[1]s.identity(bigint, integer, text) RETURNS bigint LANGUAGE sql AS 'SELECT NULL::bigint';
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, note varchar(256), updated_at timestamp NOT NULL, last_modified timestamp);
INSERT INTO %[1]s.orders SELECT i, 'n' || i, timestamp '2024-01-01' + (i / 7) * interval '1 minute', NULL FROM generate_series(1, 300) i;
CREATE TABLE %[1]s.events (id bigint DEFAULT %[1]s.identity(100000, 0, '1,1'::text) PRIMARY KEY, kind text, payload jsonb, event_date date);
INSERT INTO %[1]s.events SELECT i, 'k' || i, '{"i":1}', date '2024-01-01' + i FROM generate_series(1, 120) i;
CREATE TABLE %[1]s.logs (line text, at timestamptz);
INSERT INTO %[1]s.logs SELECT 'l' || i, timestamptz '2024-01-01 00:00:00+00' FROM generate_series(1, 50) i;
CREATE TABLE %[1]s.empty_table (id int PRIMARY KEY);
INSERT INTO %[1]s._table_info VALUES
	('orders', 'KEY(id)', 'updated_at', 123456789012),
	('events', 'AUTO(EVEN)', 'AUTO(SORTKEY(id))', 120),
	('logs', 'ALL', 'AUTO(SORTKEY)', 50);
`

// withSearchPath returns dsn with the session's search_path set through
// lib/pq's options parameter.
func withSearchPath(t *testing.T, dsn, path string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-c search_path="+path)
	u.RawQuery = q.Encode()
	return u.String()
}

// redshiftClock creates in schema %[1]s the mirrors of what a Redshift
// watermark reads (see redshiftWatermark):
//   - GETDATE(): r_GETDATE, "the start date or time of the current
//     statement", a TIMESTAMP in the session's zone (UTC);
//   - svv_transactions: r_SVV_TRANSACTIONS, with its documented columns
//     (txn_owner text, txn_db text, xid bigint, pid integer, txn_start
//     timestamp, lock_mode text, lockable_object_type text, relation
//     integer, granted boolean): one row per transaction that has written
//     (holds its transactionid lock), from pg_stat_activity. As on
//     Redshift, a role without monitoring privileges sees no start time
//     of other roles' transactions.
const redshiftClock = `
CREATE OR REPLACE FUNCTION %[1]s.getdate() RETURNS timestamp LANGUAGE sql STABLE AS $$SELECT statement_timestamp() AT TIME ZONE 'UTC'$$;
CREATE OR REPLACE VIEW %[1]s.svv_transactions AS
SELECT a.usename::text AS txn_owner, a.datname::text AS txn_db, a.backend_xid::text::bigint AS xid, a.pid,
	(a.xact_start AT TIME ZONE 'UTC') AS txn_start, 'ExclusiveLock'::text AS lock_mode,
	'transactionid'::text AS lockable_object_type, NULL::integer AS relation, true AS granted
FROM pg_catalog.pg_stat_activity a
WHERE a.backend_xid IS NOT NULL AND a.xact_start IS NOT NULL;
`

// redshiftDB returns a pool of its own whose search_path is path, with
// the Redshift clock mirrors created in schema.
func redshiftDB(t *testing.T, schema, path string, conns int) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", withSearchPath(t, pgtest.DSN(t), path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(conns)
	pgtest.Exec(t, db, fmt.Sprintf(redshiftClock, schema))
	return db
}

// redshiftExtractor returns an Extractor in the Redshift dialect over a
// pool of its own whose search_path is path.
func redshiftExtractor(t *testing.T, schema, path string, sink redshiftsync.Sink, opts ...redshiftsync.Option) *redshiftsync.Extractor {
	t.Helper()
	// ConfigFromURL accepts only sslmode, connect_timeout and host in the
	// URL's query: the options parameter goes to a *sql.DB of our own.
	cfg := testConfig(t, schema)
	cfg.Dialect = redshiftsync.DialectRedshift
	cfg.BatchSize = 16
	db := redshiftDB(t, schema, path, cfg.MaxParallelWorkers+1)
	ex, err := redshiftsync.NewFromDB(db, cfg, sink, &redshiftsync.MemoryStore{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestRedshiftDialectOnMirrors(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(svvTableInfo+redshiftTables, s))
	logs := &logBuffer{}
	sink := newMemSink()
	ex := redshiftExtractor(t, s, s+",public", sink, redshiftsync.WithLogger(newLogger(logs)))
	d := synctest.Discover(t, ex)
	if d.Dialect != redshiftsync.DialectRedshift {
		t.Errorf("dialect %s", d.Dialect)
	}
	plans := map[string]*redshiftsync.Plan{}
	for _, p := range d.Plans {
		plans[p.Table.Name] = p
	}
	if len(plans) != 5 { // _table_info is a table of the schema too
		t.Errorf("%d plans, want 5: %v", len(plans), plans)
	}
	for _, c := range []struct {
		table       string
		rows        int64
		sortKey     string
		distStyle   string
		mode        redshiftsync.Mode
		key         string
		appendOnly  bool
		reasonHas   string
		wantWarning bool
	}{
		{"orders", 123456789012, "updated_at", "KEY(id)", redshiftsync.ModeIncremental, "updated_at", false, "and the leading sort key", true},
		{"events", 120, "id", "AUTO(EVEN)", redshiftsync.ModeIncremental, "id", true, "identity primary key", true},
		{"logs", 50, "", "ALL", redshiftsync.ModeFull, "", false, "full resync", false},
		{"empty_table", -1, "", "", redshiftsync.ModeFull, "", false, "full resync", true}, // no svv_table_info row
	} {
		p := plans[c.table]
		if p == nil {
			t.Errorf("%s: no plan", c.table)
			continue
		}
		tb := p.Table
		if tb.EstimatedRows != c.rows || tb.SortKey != c.sortKey || tb.DistStyle != c.distStyle {
			t.Errorf("%s: rows %d sort key %q dist %q; want %d %q %q", c.table, tb.EstimatedRows, tb.SortKey, tb.DistStyle, c.rows, c.sortKey, c.distStyle)
		}
		if tb.PrimaryKeyEnforced {
			t.Errorf("%s: primary key enforced on Redshift", c.table)
		}
		if p.Mode != c.mode || p.ReplicationKey != c.key || p.AppendOnly != c.appendOnly || !strings.Contains(p.Reason, c.reasonHas) {
			t.Errorf("%s: %s/%q append-only %v (%s); want %s/%q %v (%q)", c.table, p.Mode, p.ReplicationKey, p.AppendOnly, p.Reason, c.mode, c.key, c.appendOnly, c.reasonHas)
		}
		warned := strings.Contains(strings.Join(p.Warnings, " "), "not enforced")
		if warned != c.wantWarning {
			t.Errorf("%s: warnings %q; want a not-enforced warning: %v", c.table, p.Warnings, c.wantWarning)
		}
	}
	if c, _ := plans["events"].Table.Column("id"); !c.Identity {
		t.Errorf("events.id: an identity(...) default not read as IDENTITY")
	}
	if c, _ := plans["orders"].Table.Column("id"); c.Identity {
		t.Errorf("orders.id read as IDENTITY")
	}

	// The rows, read the Redshift way (no row-value comparison, tuples
	// assumed not unique), all arrive.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := ex.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range map[string]int{"orders": 300, "events": 120, "logs": 50, "empty_table": 0} {
		if got := len(sink.rows[s+"."+table]); got != n {
			t.Errorf("%s: %d rows arrived, want %d", table, got, n)
		}
	}
	if rep.Rows < 470 {
		t.Errorf("report: %d rows", rep.Rows)
	}

	// Without svv_table_info (not granted, say) discovery still works, with
	// a warning and no estimates.
	logs2 := &logBuffer{}
	ex2 := redshiftExtractor(t, s, "public", newMemSink(), redshiftsync.WithLogger(newLogger(logs2)))
	d2, err := ex2.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d2.Plans {
		if p.Table.EstimatedRows != -1 || p.Table.SortKey != "" {
			t.Errorf("%s without svv_table_info: rows %d sort key %q", p.Table.Name, p.Table.EstimatedRows, p.Table.SortKey)
		}
	}
	found := false
	for _, r := range logs2.records(t) {
		if r["level"] == "WARN" && strings.Contains(fmt.Sprint(r["msg"]), "svv_table_info") && r["schema"] == s {
			found = true
		}
	}
	if !found {
		t.Error("no warning that svv_table_info is unreadable")
	}
}

// TestDescribeJSON checks the JSON that examples/basic -describe prints: the
// marshalled Discovery.
func TestDescribeJSON(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, amount numeric(38,10) NOT NULL, doc jsonb, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.orders SELECT i, i, '{}', now() FROM generate_series(1, 1000) i;
ANALYZE %[1]s.orders;
CREATE TABLE %[1]s.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text);
CREATE TABLE %[1]s.plain (v text);`)
	d := synctest.Discover(t, synctest.New(t, testConfig(t, s), newMemSink(), &redshiftsync.MemoryStore{}))
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Dialect string `json:"dialect"`
		Schema  string `json:"schema"`
		Tables  []struct {
			Table struct {
				Schema  string `json:"schema"`
				Name    string `json:"name"`
				Columns []struct {
					Name        string `json:"name"`
					SourceType  string `json:"source_type"`
					LogicalType string `json:"logical_type"`
					Nullable    *bool  `json:"nullable"`
					Precision   int    `json:"precision"`
					Scale       int    `json:"scale"`
					Identity    bool   `json:"identity"`
				} `json:"columns"`
				PrimaryKey         []string `json:"primary_key"`
				PrimaryKeyEnforced *bool    `json:"primary_key_enforced"`
				EstimatedRows      *int64   `json:"estimated_rows"`
				SortKey            string   `json:"sort_key"`
			} `json:"table"`
			Mode           string   `json:"mode"`
			ReplicationKey string   `json:"replication_key"`
			AppendOnly     bool     `json:"append_only"`
			Reason         string   `json:"reason"`
			Warnings       []string `json:"warnings"`
		} `json:"tables"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if doc.Dialect != "postgres" || doc.Schema != s || len(doc.Tables) != 3 {
		t.Fatalf("describe output:\n%s", b)
	}
	for _, p := range doc.Tables {
		tb := p.Table
		if tb.Schema != s || (tb.PrimaryKeyEnforced == nil) != (len(tb.PrimaryKey) == 0) || tb.EstimatedRows == nil || p.Mode == "" || p.Reason == "" {
			t.Errorf("%s: incomplete: %+v", tb.Name, p)
		}
		for _, c := range tb.Columns {
			if c.Name == "" || c.SourceType == "" || c.LogicalType == "" || c.Nullable == nil {
				t.Errorf("%s.%s: incomplete column %+v", tb.Name, c.Name, c)
			}
		}
		switch tb.Name {
		case "orders":
			if p.Mode != "incremental" || p.ReplicationKey != "updated_at" || *tb.EstimatedRows != 1000 || fmt.Sprint(tb.PrimaryKey) != "[id]" || !*tb.PrimaryKeyEnforced {
				t.Errorf("orders: %+v", p)
			}
			am := tb.Columns[1]
			if am.Name != "amount" || am.SourceType != "numeric(38,10)" || am.LogicalType != "DECIMAL" || *am.Nullable || am.Precision != 38 || am.Scale != 10 {
				t.Errorf("orders.amount: %+v", am)
			}
			if dc := tb.Columns[2]; dc.LogicalType != "JSON" || !*dc.Nullable {
				t.Errorf("orders.doc: %+v", dc)
			}
			if uc := tb.Columns[3]; uc.SourceType != "timestamp with time zone" || uc.LogicalType != "UTC_DATETIME" {
				t.Errorf("orders.updated_at: %+v", uc)
			}
		case "events":
			if p.Mode != "incremental" || p.ReplicationKey != "id" || !p.AppendOnly || !tb.Columns[0].Identity || *tb.EstimatedRows != -1 {
				t.Errorf("events: %+v", p)
			}
		case "plain":
			if p.Mode != "full" || len(tb.PrimaryKey) != 0 || p.ReplicationKey != "" {
				t.Errorf("plain: %+v", p)
			}
			// No key, so no claim that one is enforced.
			if tb.PrimaryKeyEnforced != nil || strings.Count(string(b), `"primary_key_enforced"`) != 2 {
				t.Errorf("plain, a table without a key, has primary_key_enforced:\n%s", b)
			}
			for _, dp := range d.Plans {
				if dp.Table.Name == "plain" && dp.Table.PrimaryKeyEnforced {
					t.Error("plain: PrimaryKeyEnforced is true without a key")
				}
			}
		}
	}
}

// TestRedshiftClusterDiscover runs discovery, and nothing else, against a
// real Redshift cluster. It is optional: it needs REDSHIFTSYNC_REDSHIFT_DSN
// (a postgres:// URL; the schema is REDSHIFTSYNC_REDSHIFT_SCHEMA, else one
// it creates with a table) and skips without it. It reads no rows.
func TestRedshiftClusterDiscover(t *testing.T) {
	dsn := os.Getenv("REDSHIFTSYNC_REDSHIFT_DSN")
	if dsn == "" {
		t.Skip("optional real-cluster test: set REDSHIFTSYNC_REDSHIFT_DSN to a Redshift postgres:// URL (and REDSHIFTSYNC_REDSHIFT_SCHEMA) to run it; the PostgreSQL mirrors are tested by TestRedshiftDialectOnMirrors")
	}
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = os.Getenv("REDSHIFTSYNC_REDSHIFT_SCHEMA")
	if cfg.Schema == "" {
		// A schema of its own, created through the cluster and dropped
		// after (pgtest's cluster mode).
		db := pgtest.OpenSource(t)
		cfg.Schema = pgtest.NewSchema(t, db)
		pgtest.Exec(t, db, `CREATE TABLE `+cfg.Schema+`.t (id bigint PRIMARY KEY, v varchar(8), at timestamp)`)
	}
	logs := &logBuffer{}
	ex := synctest.New(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)))
	d := synctest.Discover(t, ex)
	if d.Dialect != redshiftsync.DialectRedshift {
		t.Errorf("dialect detected as %s: version() did not say Redshift", d.Dialect)
	}
	for _, p := range d.Plans {
		if p.Table.PrimaryKeyEnforced {
			t.Errorf("%s: primary key enforced on Redshift", p.Table.Name)
		}
		if p.Table.EstimatedRows < -1 {
			t.Errorf("%s: estimated rows %d", p.Table.Name, p.Table.EstimatedRows)
		}
		for _, c := range p.Table.Columns {
			t.Logf("%s.%s: %s -> %s", p.Table.Name, c.Name, c.SourceType, c.Type)
		}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("discovery:\n%s\nlogs:\n%v", b, logs.records(t))
}
