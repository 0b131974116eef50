// This file builds the benchmark's tables (once: a table whose comment says
// it holds the right rows for this layout is kept) and describes the
// machine.

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	schema = "bench"
	// layout changes whenever a table's definition or data changes, so that
	// tables left by an older version of this program are rebuilt.
	layout = "redshiftsync bench v2"
)

// table is one benchmark table: its rows and the statements that build it
// ({t} is its qualified name, {n} its rows).
type table struct {
	Name  string
	Rows  int64
	Build []string
	From  string // a table it is built from, built first
}

// wideSQL builds a table of the wide layout from g = 1..rows: ten columns of
// common types, each nullable one with some NULLs, t averaging 100
// characters, one row in a hundred with a non-ASCII character, a quote, a tab
// and a backslash in t (escaping work for the text and JSON encoders).
var wideSQL = []string{
	`CREATE TABLE {t} (id bigint NOT NULL, i integer, s varchar(32), n numeric(18,4), d double precision,
	t varchar(256), b boolean, dt date, ts timestamp, tstz timestamptz)`,
	`INSERT INTO {t} SELECT g,
	CASE WHEN g % 53 = 0 THEN NULL ELSE ((g * 2654435761) % 2000000011 - 1000000000)::integer END,
	CASE WHEN g % 50 = 0 THEN NULL ELSE left(md5(g::text), 4 + (g % 29)::integer) END,
	CASE WHEN g % 41 = 0 THEN NULL ELSE round(((g * 2654435761) % 2000000000000 - 1000000000000)::numeric / 10000, 4) END,
	CASE WHEN g % 47 = 0 THEN NULL ELSE sin(g::float8) * 1e6 END,
	left(CASE WHEN g % 100 = 0 THEN E'Zürich "quoted", tab\tand \\ backslash: ' ELSE '' END
		|| md5(g::text) || ' ' || md5((g + 1)::text) || ' ' || md5((g + 2)::text) || ' ' || md5((g + 3)::text),
		70 + (g % 61)::integer),
	CASE WHEN g % 101 = 0 THEN NULL ELSE g % 3 = 0 END,
	date '2000-01-01' + (g % 9131)::integer,
	timestamp '2015-01-01' + g * interval '17 seconds' + ((g * 7919) % 1000000) * interval '1 microsecond',
	timestamptz '2015-01-01 00:00:00+00' + g * interval '13 seconds' + ((g * 104729) % 1000000) * interval '1 microsecond'
FROM generate_series(1::bigint, {n}) AS g`,
	`ALTER TABLE {t} ADD PRIMARY KEY (id)`,
}

// tables returns every table of a run of the given size: bench.wide holds
// rows rows, the others scale with it (their sizes at 5M rows in comments).
func tables(rows int64) map[string]table {
	scale := func(n int64) int64 { return max(2, n*rows/5_000_000) }
	ts := map[string]table{
		// No replication key: a full sync, keyset pages by id.
		"wide": {Rows: rows, Build: wideSQL},
		// The same rows plus updated_at, distinct per row, NOT NULL,
		// indexed as the Extractor's keyset pages order it: incremental.
		"wide_inc": {Rows: rows, From: "wide", Build: []string{
			`CREATE TABLE {t} AS SELECT w.*, timestamp '2024-01-01' + w.id * interval '1 millisecond' AS updated_at FROM bench.wide w`,
			`ALTER TABLE {t} ALTER COLUMN updated_at SET NOT NULL, ADD PRIMARY KEY (id)`,
			`CREATE INDEX ON {t} (updated_at, id)`}},
		// 1,000,000: the same layout, for RSS against table size.
		"wide_1m": {Rows: scale(1_000_000), Build: wideSQL},
		// 2,000,000 small rows, no key, no index: read in block order.
		"nokey": {Rows: scale(2_000_000), Build: []string{
			`CREATE TABLE {t} (n bigint NOT NULL, s varchar(32), d double precision, t text, ts timestamp)`,
			`INSERT INTO {t} SELECT g, md5(g::text), sin(g::float8) * 1e6, left(md5((g + 1)::text) || md5((g + 2)::text), 20 + (g % 40)::integer),
	timestamp '2015-01-01' + g * interval '17 seconds' FROM generate_series(1::bigint, {n}) AS g`}},
		// The same rows in a partitioned table of one partition: block
		// order does not apply to it, so it is read in one streaming pass,
		// as every keyless table was before block order.
		"nokey_part": {Rows: scale(2_000_000), From: "nokey", Build: []string{
			`CREATE TABLE {t} (LIKE bench.nokey) PARTITION BY RANGE (n)`,
			`CREATE TABLE {t}_all PARTITION OF {t} FOR VALUES FROM (MINVALUE) TO (MAXVALUE)`,
			`INSERT INTO {t} SELECT * FROM bench.nokey`}},
	}
	// Rows of one width: about 50, 130, 210 and 200 MB of text.
	// repeat(md5) compresses in TOAST: little disk, full width on the wire.
	for _, w := range widths {
		ts[w.Table] = table{Rows: scale(w.Rows), Build: []string{
			`CREATE TABLE {t} (id bigint PRIMARY KEY, body text NOT NULL)`,
			fmt.Sprintf(`INSERT INTO {t} SELECT i, left(repeat(md5(i::text), %d), %d) FROM generate_series(1, {n}) i`, w.Bytes/32+1, w.Bytes)}}
	}
	for name, t := range ts {
		t.Name = name
		ts[name] = t
	}
	return ts
}

// widths are the row widths of the memory cases.
var widths = []struct {
	Table, What string
	Rows        int64 // at 5M rows of bench.wide
	Bytes       int
}{
	{"width_narrow", "100 B", 500_000, 100},
	{"width_64k", "64 KB", 2_000, 64 << 10},
	{"width_1m", "1 MB", 200, 1 << 20},
	{"width_16m", "16 MB", 12, 16 << 20},
}

// ensure builds t (and first what it is built from) unless it is there with
// the right rows, and returns its pg_table_size. rebuilt records, for each
// table looked at, whether it was built now: a copy of a table rebuilt now is
// rebuilt too.
func ensure(ctx context.Context, db *sql.DB, all map[string]table, t table, rebuilt map[string]bool) (int64, error) {
	if _, seen := rebuilt[t.From]; t.From != "" && !seen {
		if _, err := ensure(ctx, db, all, all[t.From], rebuilt); err != nil {
			return 0, err
		}
	}
	q := schema + "." + t.Name
	want := fmt.Sprintf("%s rows=%d", layout, t.Rows)
	var comment sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT obj_description(to_regclass($1), 'pg_class')`, q).Scan(&comment); err != nil {
		return 0, err
	}
	rebuilt[t.Name] = comment.String != want || rebuilt[t.From]
	if rebuilt[t.Name] {
		logf("loading %s (%s rows)...", q, thousands(t.Rows))
		t0 := time.Now()
		stmts := append([]string{`CREATE SCHEMA IF NOT EXISTS ` + schema, `DROP TABLE IF EXISTS {t} CASCADE`}, t.Build...)
		for _, s := range append(stmts, `VACUUM ANALYZE {t}`, `COMMENT ON TABLE {t} IS '`+want+`'`) {
			s = strings.NewReplacer("{t}", q, "{n}", fmt.Sprint(t.Rows)).Replace(s)
			if _, err := db.ExecContext(ctx, s); err != nil {
				return 0, fmt.Errorf("load %s: %w", q, err)
			}
		}
		logf("  loaded in %.1fs", time.Since(t0).Seconds())
	}
	var size int64
	err := db.QueryRowContext(ctx, `SELECT pg_table_size($1::regclass)`, q).Scan(&size)
	return size, err
}

// machine describes where the benchmark ran.
type machine struct {
	Date, CPU, Memory, Postgres, Settings, Go, Server string
	Cores                                             int
	LoadStart, LoadEnd                                string // /proc/loadavg: 1, 5 and 15 minutes
}

// execAll runs each statement with its {placeholders} filled in by r, in
// order, for the probes that build a table of their own; an error names the
// statement.
func execAll(ctx context.Context, db *sql.DB, r *strings.Replacer, stmts ...string) error {
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, r.Replace(s)); err != nil {
			return fmt.Errorf("%s: %w", r.Replace(s), err)
		}
	}
	return nil
}

func describeMachine(ctx context.Context, db *sql.DB, dsn string) machine {
	m := machine{
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), Cores: runtime.NumCPU(),
		Go:  runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		CPU: procField("/proc/cpuinfo", "model name"), Memory: procField("/proc/meminfo", "MemTotal"),
		Server: redactURL(dsn), LoadStart: loadAvg(),
	}
	if kib, err := strconv.ParseFloat(strings.TrimSuffix(m.Memory, " kB"), 64); err == nil {
		m.Memory = fmt.Sprintf("%.1f GiB", kib/(1<<20))
	}
	db.QueryRowContext(ctx, `SELECT version(), 'shared_buffers=' || current_setting('shared_buffers') || ', work_mem=' || current_setting('work_mem')
		|| ', max_parallel_workers_per_gather=' || current_setting('max_parallel_workers_per_gather')`).Scan(&m.Postgres, &m.Settings)
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file, "unknown" when there is none.
func procField(path, key string) string {
	b, _ := os.ReadFile(path)
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
