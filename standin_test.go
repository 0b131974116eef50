package redshiftsync_test

// Syncs through the Redshift stand-in (internal/cmd/redshift-standin): a
// PostgreSQL wire-protocol proxy that answers as Redshift documents, so the
// Redshift dialect's SQL meets Redshift's rules (no casts that 8.0.2 lacks,
// no row comparisons, its system views and functions).

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// discover returns an extractor for cfg (closed in the test's cleanup) and
// its discovery.
func discover(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink) (*redshiftsync.Extractor, *redshiftsync.Discovery) {
	t.Helper()
	ex, err := redshiftsync.New(cfg, sink, &redshiftsync.MemoryStore{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := ex.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ex, d
}

// TestRedshiftStandinSync: with the dialect detected from version(), a full
// sync then an incremental one through the stand-in deliver the source's
// rows value by value.
func TestRedshiftStandinSync(t *testing.T) {
	db, dsn := pgtest.OpenRedshiftSource(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.orders (id bigint PRIMARY KEY, note varchar(64), amount numeric(12,2), ok boolean, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.orders VALUES %[2]s;
CREATE TABLE %[1]s.pairs (a int, b int, v varchar(16), PRIMARY KEY (a, b));
INSERT INTO %[1]s.pairs VALUES %[3]s;
CREATE TABLE %[1]s.logs (line varchar(16));
INSERT INTO %[1]s.logs VALUES %[4]s;`, s,
		pgtest.Values(400, func(i int) string {
			return fmt.Sprintf("(%d, 'n%d', %d * 1.25, %v, timestamp '2024-01-01' + interval '%d minutes')", i, i, i, i%2 == 0, i)
		}),
		pgtest.Values(150, func(i int) string { return fmt.Sprintf("(%d, %d, 'v%d')", (i-1)/10, (i-1)%10, i-1) }),
		pgtest.Values(30, func(i int) string { return fmt.Sprintf("('l%d')", i) })))
	cfg := configFor(t, dsn, s)
	cfg.MaxParallelWorkers = 2
	cfg.BatchSize = 64
	sink := newMemSink()
	ex, d := discover(t, cfg, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if d.Dialect != redshiftsync.DialectRedshift {
		t.Fatalf("dialect detected as %s through the stand-in", d.Dialect)
	}
	keys := map[string]string{}
	for _, p := range d.Plans {
		keys[p.Table.Name] = fmt.Sprint(p.Table.PrimaryKey)
		if p.Table.PrimaryKeyEnforced {
			t.Errorf("%s: primary key enforced on Redshift", p.Table.Name)
		}
	}
	if keys["orders"] != "[id]" || keys["pairs"] != "[a b]" || keys["logs"] != "[]" {
		t.Errorf("primary keys read through the stand-in: %v", keys)
	}
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		if diff := diffMaps(sourceMap(t, db, `SELECT id::text, note FROM `+s+`.orders`), sink.column(s+".orders", "note")); diff != "" {
			t.Errorf("%s: orders.note: %s", stage, diff)
		}
		if diff := diffMaps(sourceMap(t, db, `SELECT id::text, amount::text FROM `+s+`.orders`), sink.column(s+".orders", "amount")); diff != "" {
			t.Errorf("%s: orders.amount: %s", stage, diff)
		}
		// (A boolean is not cast to text: Redshift has no such cast.)
		if diff := diffMaps(sourceMap(t, db, `SELECT id::text, CASE WHEN ok THEN 'true' ELSE 'false' END FROM `+s+`.orders`), sink.column(s+".orders", "ok")); diff != "" {
			t.Errorf("%s: orders.ok: %s", stage, diff)
		}
		if got := len(sink.column(s+".pairs", "v")); got != 150 {
			t.Errorf("%s: pairs: %d rows, want 150", stage, got)
		}
		if got := len(sink.column(s+".logs", "line")); got != 30 {
			t.Errorf("%s: logs: %d rows, want 30", stage, got)
		}
	}
	check("full sync")
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.orders SET note = 'changed', updated_at = timestamp '2024-06-01' WHERE mod(id, 9) = 0;
INSERT INTO %[1]s.orders VALUES (1000, 'late', 1, true, timestamp '2024-06-02')`, s))
	if _, err := ex.Run(ctx); err != nil {
		t.Fatal(err)
	}
	check("incremental sync")
}

// TestRedshiftStandinSkipsMaterializedViewBackingTables: Redshift keeps a
// materialized view's rows in a table named mv_tbl__<view>__0 in the view's
// schema, which its catalog lists as an ordinary table; discovery must not
// sync it as a user table (the view's owner never created it, and it is
// rewritten whole on every refresh).
func TestRedshiftStandinSkipsMaterializedViewBackingTables(t *testing.T) {
	db, dsn := pgtest.OpenRedshiftSource(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.sales (id bigint PRIMARY KEY, amount numeric(12,2));
INSERT INTO %[1]s.sales VALUES %[2]s;
CREATE TABLE %[1]s.mv_tbl__daily_sales__0 (day date, total numeric(38,2));
INSERT INTO %[1]s.mv_tbl__daily_sales__0 VALUES (date '2024-01-01', 210);
CREATE TABLE %[1]s.mv_tblx (id int);`, s, pgtest.Values(20, func(i int) string { return fmt.Sprintf("(%d, %d)", i, i) })))
	cfg := configFor(t, dsn, s)
	_, d := discover(t, cfg, newMemSink())
	var names []string
	for _, p := range d.Plans {
		names = append(names, p.Table.Name)
	}
	if fmt.Sprint(names) != "[mv_tblx sales]" {
		t.Errorf("discovered %v, want [mv_tblx sales] (no materialized view backing table)", names)
	}
}

// TestRedshiftStandinRealRoundTrips: Redshift prints a REAL with 8
// significant digits at extra_float_digits 2 (its maximum), which do not
// always read back as the same REAL; every REAL must arrive as the value the
// source holds.
func TestRedshiftStandinRealRoundTrips(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.r (id int PRIMARY KEY, v real);
INSERT INTO %[1]s.r SELECT i, (1000 + i / 997.0)::real FROM generate_series(1, 300) i;
INSERT INTO %[1]s.r VALUES (0, NULL), (-1, 'NaN'), (-2, '-Infinity'), (-3, 1.17549435e-38), (-4, 3.4028235e+38);`, s))
	// The source's values, exactly: the shortest text that reads back as
	// the same REAL.
	want := map[string]float32{}
	rows, err := db.Query(`SELECT id::text, v::text FROM ` + s + `.r WHERE v IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		f, err := strconv.ParseFloat(v, 32)
		if err != nil && v != "NaN" && v != "-Infinity" {
			t.Fatal(err)
		}
		want[id] = float32(f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	got := sink.rows[s+".r"]
	if len(got) != 305 {
		t.Fatalf("%d rows arrived, want 305", len(got))
	}
	wrong := 0
	for _, row := range got {
		id := fmt.Sprint(row[0])
		if row[1] == nil {
			if id != "0" {
				t.Errorf("row %s: NULL", id)
			}
			continue
		}
		f, ok := row[1].(float64)
		if !ok {
			t.Fatalf("row %s: %T %v, want a float64", id, row[1], row[1])
		}
		w := want[id]
		if float32(f) != w && !(math.IsNaN(f) && math.IsNaN(float64(w))) {
			if wrong < 5 {
				t.Errorf("row %s: %v arrived, the source holds %v", id, f, w)
			}
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d of 305 REAL values did not arrive as the source holds them", wrong)
	}
}

// TestRedshiftStandinVarbyte: Redshift prints VARBYTE values in
// hexadecimal (no \x); every byte value arrives as the source holds it.
func TestRedshiftStandinVarbyte(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	// The stand-in creates the varbyte domain in a database when a client
	// first connects to it through the stand-in: do so before the table.
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	pgtest.Exec(t, rs, `SELECT 1`)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.b (id int PRIMARY KEY, v varbyte);
INSERT INTO %[1]s.b SELECT i, decode(lpad(to_hex(i), 2, '0') || 'ff00' || repeat('5c78', i %% 3), 'hex') FROM generate_series(0, 255) i;
INSERT INTO %[1]s.b VALUES (-1, NULL), (-2, ''::bytea);`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	_, d := discover(t, cfg, newMemSink())
	if c := d.Plans[0].Table.Columns[1]; c.Type != redshiftsync.TypeBinary || c.SourceType != "varbyte" {
		t.Errorf("column v: %s %s, want varbyte BINARY", c.SourceType, c.Type)
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	want := sourceMap(t, db, `SELECT id::text, encode(v, 'hex') FROM `+s+`.b WHERE v IS NOT NULL`)
	got := map[string]string{}
	for k, row := range sink.rows[s+".b"] {
		if row[1] == nil {
			continue
		}
		b, ok := row[1].([]byte)
		if !ok {
			t.Fatalf("row %s: %T", k, row[1])
		}
		got[fmt.Sprint(row[0])] = hex.EncodeToString(b)
	}
	if diff := diffMaps(want, got); diff != "" {
		t.Errorf("varbyte values: %s", diff)
	}
}

// TestRedshiftStandinIdentityLateCommit: Redshift does not assign IDENTITY
// values in load order (r_CREATE_TABLE_NEW), so a transaction that commits
// after a sync may hold values below that sync's maximum. The sync after
// it must read them: the mark of an identity key is held for the Redshift
// floor, and while SVV_TRANSACTIONS shows a transaction older than it.
func TestRedshiftStandinIdentityLateCommit(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	// The stand-in creates the identity function in a database when a
	// client first connects to it through the stand-in: do so before the
	// table.
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	pgtest.Exec(t, rs, `SELECT 1`)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.events (id bigint DEFAULT identity(0, 0, '1,1'::text) PRIMARY KEY, kind text);
INSERT INTO %[1]s.events SELECT i, 'k' || i FROM generate_series(1, 4) i;`, s))
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	_, d := discover(t, cfg, newMemSink())
	if p := d.Plans[0]; p.Mode != redshiftsync.ModeIncremental || p.ReplicationKey != "id" || !p.AppendOnly || !p.Table.Columns[0].Identity {
		t.Fatalf("plan %s %q append-only %v identity %v, want incremental on the identity key id", p.Mode, p.ReplicationKey, p.AppendOnly, p.Table.Columns[0].Identity)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// late opens a transaction that loads id (below the rows committed
	// after it) and leaves it open; commit ends it.
	late := func(id int) (commit func()) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s.events VALUES (%d, 'late')`, s, id)); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		return func() {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	arrived := func(stage string, want int) {
		t.Helper()
		if got := len(sink.rows[s+".events"]); got != want {
			t.Errorf("%s: %d rows arrived, the source holds %d", stage, got, want)
		}
	}

	// Within the floor (15 minutes by default): the mark is not released.
	commit := late(5)
	pgtest.Exec(t, db, `INSERT INTO `+s+`.events SELECT i, 'k' || i FROM generate_series(6, 10) i`)
	mustRun(t, cfg, sink, store)
	arrived("sync while id 5 was loading", 9)
	commit()
	mustRun(t, cfg, sink, store)
	arrived("sync after id 5 committed", 10)

	// With no floor, SVV_TRANSACTIONS alone: a transaction in progress
	// that began before the mark holds it.
	defer redshiftsync.SetWatermarkTimings(time.Second, 0, 5*time.Minute)()
	mustRun(t, cfg, sink, store) // releases the marks above
	commit = late(15)
	pgtest.Exec(t, db, `INSERT INTO `+s+`.events SELECT i, 'k' || i FROM generate_series(16, 20) i`)
	mustRun(t, cfg, sink, store)
	arrived("sync while id 15 was loading", 15)
	commit()
	mustRun(t, cfg, sink, store)
	arrived("sync after id 15 committed", 16)
}

// ewkbHex returns the hexadecimal EWKB (little-endian, upper case, as
// Redshift prints it) of a 2D geometry of kind (1 point, 2 linestring, 3
// polygon of one ring) with SRID srid (0: none) and the points xy.
func ewkbHex(kind uint32, srid uint32, xy ...float64) string {
	var b []byte
	b = append(b, 1)
	if srid != 0 {
		b = binary.LittleEndian.AppendUint32(b, kind|0x20000000)
		b = binary.LittleEndian.AppendUint32(b, srid)
	} else {
		b = binary.LittleEndian.AppendUint32(b, kind)
	}
	switch kind {
	case 3:
		b = binary.LittleEndian.AppendUint32(b, 1)
		fallthrough
	case 2:
		b = binary.LittleEndian.AppendUint32(b, uint32(len(xy)/2))
	}
	for _, f := range xy {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// TestRedshiftStandinGeometry: GEOMETRY and GEOGRAPHY values arrive as the
// hexadecimal EWKB Redshift sends for a column selected raw, exactly as the
// source holds them: coordinates with all 17 significant digits (ST_AsEWKT
// prints 15) and geometries whose text passes 64 KB (where ST_AsEWKT
// fails).
func TestRedshiftStandinGeometry(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	// The stand-in creates the geometry domains in a database when a
	// client first connects to it through the stand-in: do so before the
	// table.
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	pgtest.Exec(t, rs, `SELECT 1`)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.geo (id int PRIMARY KEY, g geometry, h geography)`, s))
	long := make([]float64, 0, 6000)
	for i := range 3000 {
		long = append(long, -122.35000000000001+float64(i)/7, 37.550000000000004+float64(i)/11)
	}
	values := map[int][2]string{
		1: {ewkbHex(1, 4326, 0.1+0.2, -122.35000000000001), ewkbHex(1, 4326, -122.35000000000001, 37.550000000000004)},
		2: {ewkbHex(3, 0, 0, 0, 0, 1, 1.0000000000000002, 1, 0, 0), ewkbHex(3, 4326, 0, 0, 0, 1, 1, 1, 0, 0)},
		3: {ewkbHex(2, 3857, long...), ewkbHex(2, 4326, long[:20]...)},
		4: {ewkbHex(1, 0, 1e-300, 5e-324), ""},
	}
	for id, v := range values {
		h := any(v[1])
		if v[1] == "" {
			h = nil
		}
		pgtest.Exec(t, db, `INSERT INTO `+s+`.geo VALUES ($1, $2, $3)`, id, v[0], h)
	}
	pgtest.Exec(t, db, `INSERT INTO `+s+`.geo VALUES (5, NULL, NULL)`)
	cfg := configFor(t, pgtest.RedshiftDSN(t), s)
	_, d := discover(t, cfg, newMemSink())
	for _, c := range d.Plans[0].Table.Columns[1:] {
		if c.Type != redshiftsync.TypeString || (c.SourceType != "geometry" && c.SourceType != "geography") {
			t.Errorf("column %s: %s %s, want geometry or geography STRING", c.Name, c.SourceType, c.Type)
		}
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{})
	got := sink.rows[s+".geo"]
	if len(got) != 5 {
		t.Fatalf("%d rows arrived, want 5", len(got))
	}
	for _, row := range got {
		id, _ := strconv.Atoi(fmt.Sprint(row[0]))
		for col, v := range values[id] {
			want := any(v)
			if v == "" || id == 5 {
				want = nil
			}
			if row[col+1] != want {
				t.Errorf("row %d column %d: %.80v arrived, the source holds %.80v", id, col+1, row[col+1], want)
			}
		}
	}
}
