// This file creates the benchmark's tables (once: a table already holding
// the right rows is kept) and describes the machine.

package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	schema    = "bench"
	tableWide = "wide"     // -rows rows, no replication key: full sync by primary key
	tableInc  = "wide_inc" // the same rows plus updated_at: incremental sync
	table1M   = "wide_1m"  // 1,000,000 rows, for the memory comparison
)

// layoutVersion changes whenever the tables' definition or data changes, so
// that tables left by an older version of this program are rebuilt.
const layoutVersion = 1

// tableInfo describes one benchmark table.
type tableInfo struct {
	Name       string
	Rows       int64
	TextBytes  int64 // sum(octet_length(row::text)): the rows as text
	TableBytes int64 // pg_table_size
}

// createWideSQL creates and fills a table of the wide layout with rows
// generated from g = 1..rows: every column varies from row to row, each
// nullable column holds some NULLs, one row in a hundred has a non-ASCII
// character, a quote, a tab and a backslash in t (escaping work for the
// text and JSON encoders), t averages 100 characters.
func createWideSQL(name string, rows int64) []string {
	q := schema + "." + name
	return []string{
		`DROP TABLE IF EXISTS ` + q + ` CASCADE`,
		`CREATE TABLE ` + q + ` (
	id   bigint NOT NULL,
	i    integer,
	s    varchar(32),
	n    numeric(18,4),
	d    double precision,
	t    varchar(256),
	b    boolean,
	dt   date,
	ts   timestamp,
	tstz timestamptz
)`,
		`INSERT INTO ` + q + `
SELECT g,
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
FROM generate_series(1::bigint, ` + strconv.FormatInt(rows, 10) + `) AS g`,
		`ALTER TABLE ` + q + ` ADD PRIMARY KEY (id)`,
	}
}

// createIncSQL creates the incremental table from bench.wide: the same rows
// plus updated_at, distinct per row, NOT NULL, indexed with the primary key
// as the Extractor's keyset pages order it (updated_at, id).
func createIncSQL() []string {
	q := schema + "." + tableInc
	return []string{
		`DROP TABLE IF EXISTS ` + q + ` CASCADE`,
		`CREATE TABLE ` + q + ` AS
SELECT w.*, timestamp '2024-01-01' + w.id * interval '1 millisecond' AS updated_at
FROM ` + schema + `.` + tableWide + ` w`,
		`ALTER TABLE ` + q + ` ALTER COLUMN updated_at SET NOT NULL, ADD PRIMARY KEY (id)`,
		`CREATE INDEX ` + tableInc + `_updated_at ON ` + q + ` (updated_at, id)`,
	}
}

// ensureTables creates the tables that are missing, hold another number of
// rows, or were made by another layout version, and returns their sizes.
func ensureTables(ctx context.Context, db *sql.DB, rows int64, need map[string]bool) (map[string]tableInfo, error) {
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		return nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+schema+`.meta (
	name text PRIMARY KEY, rows bigint NOT NULL, text_bytes bigint NOT NULL, layout integer NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create %s.meta: %w", schema, err)
	}
	out := map[string]tableInfo{}
	builtWide, builtNoKey := false, false
	for _, t := range []struct {
		name  string
		rows  int64
		build func() []string
	}{
		{tableWide, rows, func() []string { return createWideSQL(tableWide, rows) }},
		{tableInc, rows, createIncSQL},
		{table1M, rows1M, func() []string { return createWideSQL(table1M, rows1M) }},
		{tableNoKey, rowsNoKey, createNoKeySQL},
		{tableNoKeyPart, rowsNoKey, createNoKeyPartSQL},
	} {
		if !need[t.name] {
			continue
		}
		ok, err := tableReady(ctx, db, t.name, t.rows)
		if err != nil {
			return nil, err
		}
		if !ok || (t.name == tableInc && builtWide) || (t.name == tableNoKeyPart && builtNoKey) {
			fmt.Printf("loading bench.%s (%s rows)...\n", t.name, thousands(t.rows))
			t0 := time.Now()
			if err := load(ctx, db, t.name, t.build()); err != nil {
				return nil, err
			}
			builtWide = builtWide || t.name == tableWide
			builtNoKey = builtNoKey || t.name == tableNoKey
			fmt.Printf("  loaded in %.1fs\n", time.Since(t0).Seconds())
		}
		info := tableInfo{Name: t.name}
		if err := db.QueryRowContext(ctx, `SELECT rows, text_bytes, pg_table_size($2::regclass) FROM `+schema+`.meta WHERE name = $1`,
			t.name, schema+"."+t.name).Scan(&info.Rows, &info.TextBytes, &info.TableBytes); err != nil {
			return nil, fmt.Errorf("read %s.meta: %w", schema, err)
		}
		out[t.name] = info
	}
	return out, nil
}

// tableReady reports whether the table exists with the given rows and the
// current layout.
func tableReady(ctx context.Context, db *sql.DB, name string, rows int64) (bool, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, schema+"."+name).Scan(&exists); err != nil {
		return false, err
	}
	if !exists {
		return false, nil
	}
	var metaRows, layout int64
	err := db.QueryRowContext(ctx, `SELECT rows, layout FROM `+schema+`.meta WHERE name = $1`, name).Scan(&metaRows, &layout)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if metaRows != rows || layout != layoutVersion {
		return false, nil
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+schema+`.`+name).Scan(&n); err != nil {
		return false, err
	}
	return n == rows, nil
}

// load runs the statements that build a table, then VACUUM ANALYZE, and
// records the table's rows and text size in bench.meta.
func load(ctx context.Context, db *sql.DB, name string, stmts []string) error {
	q := schema + "." + name
	if _, err := db.ExecContext(ctx, `DELETE FROM `+schema+`.meta WHERE name = $1`, name); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("load %s: %w", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE `+q); err != nil {
		return fmt.Errorf("vacuum %s: %w", q, err)
	}
	// The bytes a COPY in text form would carry, near enough: each row's
	// record text, whose commas and parentheses stand in for COPY's tabs and
	// newline. Measured once, here; not for bench.wide_inc, whose only case,
	// (f), reads a row or two.
	measure := `COALESCE(sum(octet_length(w::text)), 0)`
	if name == tableInc {
		measure = `0`
	}
	_, err := db.ExecContext(ctx, `INSERT INTO `+schema+`.meta (name, rows, text_bytes, layout)
SELECT $1, count(*), `+measure+`, $2 FROM `+q+` w`, name, layoutVersion)
	if err != nil {
		return fmt.Errorf("measure %s: %w", q, err)
	}
	return nil
}

// machine describes where the benchmark ran.
type machine struct {
	CPUModel string
	Cores    int
	Memory   string
	Postgres string
	Settings string // server settings that matter here
	Go       string
	Date     string
	Server   string // the URL, password redacted
	// LoadStart and LoadEnd are /proc/loadavg's 1-, 5- and 15-minute load
	// averages when the run began and ended: other work on the machine.
	LoadStart, LoadEnd string
}

// loadAvg returns the three load averages of /proc/loadavg, "unknown" when
// it cannot be read.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(ctx context.Context, db *sql.DB) machine {
	m := machine{
		CPUModel: "unknown CPU",
		Cores:    runtime.NumCPU(),
		Memory:   "unknown",
		Go:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),

		LoadStart: loadAvg(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(f)
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		if kib := memTotalKiB(f); kib > 0 {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
		}
		f.Close()
	}
	if err := db.QueryRowContext(ctx, `SELECT version()`).Scan(&m.Postgres); err != nil {
		m.Postgres = "unknown PostgreSQL (" + err.Error() + ")"
	}
	var parts []string
	for _, s := range []string{"shared_buffers", "work_mem", "max_parallel_workers_per_gather"} {
		var v string
		if err := db.QueryRowContext(ctx, `SELECT current_setting($1)`, s).Scan(&v); err == nil {
			parts = append(parts, s+"="+v)
		}
	}
	m.Settings = strings.Join(parts, ", ")
	return m
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel(f io.Reader) string {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// memTotalKiB returns MemTotal of /proc/meminfo, in KiB; 0 when absent.
func memTotalKiB(f io.Reader) int64 {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
