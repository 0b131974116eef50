// Tests of the row path's binary forms and value allocator against a real
// PostgreSQL: many batches and pages, the values a sink keeps compared with
// the server's own afterwards.

package redshiftsync_test

import (
	"context"
	"database/sql"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// TestRowPathKeptValuesMatchSource syncs 3,000 rows in batches of 100
// (pages of 1,000: the first read without parameters, so in text, the
// others prepared, so in binary) into a sink that keeps every value it is
// given, then compares each kept value with the server's: text of every
// length (past a chunk of the value allocator), in UTF-8 and with control
// characters, doubles, decimals, dates and timestamps of both eras and
// infinities, NULLs. A value written over after Write, or decoded from the
// wrong form, shows here.
func TestRowPathKeptValuesMatchSource(t *testing.T) {
	dsn, conn := hostileDatabase(t)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA rp;
CREATE TABLE rp.r (id bigint PRIMARY KEY, t text, v varchar(40), c char(4), d double precision, n numeric(20,6),
	dt date, ts timestamp, tz timestamptz);
INSERT INTO rp.r SELECT g,
	CASE WHEN g % 17 = 0 THEN NULL WHEN g % 19 = 0 THEN '' ELSE left(repeat(md5(g::text) || E'Zürich 😀\t\\\x01', 1 + g / 10), (g * 7) % 2600) END,
	CASE WHEN g % 13 = 0 THEN NULL ELSE left('v' || g || ' é ' || md5(g::text), 40) END,
	CASE WHEN g % 11 = 0 THEN NULL ELSE left('c' || g, 3) END,
	CASE WHEN g % 23 = 0 THEN NULL WHEN g % 29 = 0 THEN '-0' WHEN g = 31 THEN 'NaN' WHEN g = 37 THEN '-Infinity' ELSE sin(g) * 10 ^ (g % 300) END,
	CASE WHEN g % 41 = 0 THEN NULL ELSE (g * 7919 % 1000003 - 500000)::numeric / 1000 END,
	CASE WHEN g % 43 = 0 THEN NULL WHEN g = 44 THEN 'infinity' WHEN g = 88 THEN '-infinity' WHEN g % 3 = 0 THEN date '0044-03-15 BC' + g ELSE date '1999-12-01' + g * 17 END,
	CASE WHEN g % 47 = 0 THEN NULL WHEN g = 94 THEN '-infinity' ELSE timestamp '1999-12-31 23:59:59.999999' + (g - 1500) * interval '3 days 1.000001 seconds' END,
	CASE WHEN g % 53 = 0 THEN NULL WHEN g = 106 THEN 'infinity' ELSE timestamptz '2000-01-01 00:00:00+00' - (g - 1500) * interval '5 hours 7.123457 seconds' END
FROM generate_series(1, 3000) g`); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(t, dsn, "rp")
	cfg.BatchSize, cfg.MaxParallelWorkers = 100, 1
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	got := sink.rows["rp.r"]
	if len(got) != 3000 {
		t.Fatalf("%d rows delivered, want 3000", len(got))
	}
	tbl := sink.tables["rp.r"]
	col := func(name string) int { return tbl.ColumnIndex(name) }
	rows, err := conn.QueryContext(ctx, `SELECT id, t, v, c, d, n::text,
	CASE WHEN isfinite(dt) THEN dt - date '2000-01-01' END, CASE WHEN NOT isfinite(dt) THEN dt::text END,
	CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::bigint END, CASE WHEN NOT isfinite(ts) THEN ts::text END,
	CASE WHEN isfinite(tz) THEN (extract(epoch FROM tz) * 1000000)::bigint END, CASE WHEN NOT isfinite(tz) THEN tz::text END
FROM rp.r ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id                 int64
			tx, v, c, n        sql.NullString
			d                  sql.NullFloat64
			days, tsus, tzus   sql.NullInt64
			dtInf, tsInf, tzIn sql.NullString
		)
		if err := rows.Scan(&id, &tx, &v, &c, &d, &n, &days, &dtInf, &tsus, &tsInf, &tzus, &tzIn); err != nil {
			t.Fatal(err)
		}
		row := got[strconv.FormatInt(id, 10)]
		if row == nil {
			t.Fatalf("id %d not delivered", id)
		}
		text := func(name string, want sql.NullString) {
			if g := row[col(name)]; (!want.Valid && g != nil) || (want.Valid && g != want.String) {
				t.Errorf("id %d %s: %#v, want %#v", id, name, g, want)
			}
		}
		text("t", tx)
		text("v", v)
		text("c", c)
		if g := row[col("n")]; (!n.Valid && g != nil) || (n.Valid && g != redshiftsync.Decimal(n.String)) {
			t.Errorf("id %d n: %#v, want %v", id, g, n)
		}
		if g, ok := row[col("d")].(float64); d.Valid != ok || (ok && (math.Float64bits(g) != math.Float64bits(d.Float64) && !(math.IsNaN(g) && math.IsNaN(d.Float64)))) {
			t.Errorf("id %d d: %#v, want %v", id, row[col("d")], d)
		}
		// unit 0: days (a Duration of days overflows before the BC years).
		when := func(name string, unit time.Duration, n sql.NullInt64, inf sql.NullString, epoch time.Time) {
			g := row[col(name)]
			switch {
			case inf.Valid:
				if g != inf.String {
					t.Errorf("id %d %s: %#v, want %q", id, name, g, inf.String)
				}
			case !n.Valid:
				if g != nil {
					t.Errorf("id %d %s: %#v, want NULL", id, name, g)
				}
			default:
				want := epoch.Add(time.Duration(n.Int64) * unit)
				if unit == 0 {
					want = epoch.AddDate(0, 0, int(n.Int64))
				}
				if tm, ok := g.(time.Time); !ok || !tm.Equal(want) || tm.Location() != time.UTC {
					t.Errorf("id %d %s: %#v, want %v", id, name, g, want)
				}
			}
		}
		when("dt", 0, days, dtInf, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		when("ts", time.Microsecond, tsus, tsInf, time.Unix(0, 0).UTC())
		when("tz", time.Microsecond, tzus, tzIn, time.Unix(0, 0).UTC())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
