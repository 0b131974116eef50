// This file tests the Go digests of delete detection against the source's
// own: PostgreSQL's hashtextextended and hashint8extended, and Redshift's
// FNV_HASH (through the stand-in), over texts of every length the hashes'
// tails handle; and the shapes of the digest query against each other.

package redshiftsync

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

func TestFNVHashDocumentedValues(t *testing.T) {
	// The examples of https://docs.aws.amazon.com/redshift/latest/dg/r_FNV_HASH.html.
	if got := int64(fnv1a(fnvOffset, "Amazon Redshift")); got != 7783490368944507294 {
		t.Errorf("fnv_hash('Amazon Redshift') = %d, want 7783490368944507294", got)
	}
	if got := int64(fnv1a(fnvOffset, "abcd")); got != -281581062704388899 {
		t.Errorf("fnv_hash('abcd') = %d, want -281581062704388899", got)
	}
}

func TestDigestHashesMatchTheServer(t *testing.T) {
	texts := []string{"", "a", "é", "_x", "B"}
	for n := 1; n <= 30; n++ {
		texts = append(texts, strings.Repeat("x", n)[:n-1]+string(rune('a'+n%26)))
	}
	texts = append(texts, "12345678901234567890", "2024-01-31 13:45:01.5", "日本語のキー")
	db := pgtest.Open(t)
	for _, s := range texts {
		for _, seed := range []int64{0, -5968735742475085980, 42} {
			want := pgtest.QueryValue[int64](t, db, "SELECT hashtextextended($1, $2)", s, seed)
			if got := int64(hashBytesExtended([]byte(s), uint64(seed))); got != want {
				t.Errorf("hashtextextended(%q, %d) = %d, Go computes %d", s, seed, want, got)
			}
		}
	}
	rs := pgtest.OpenDSN(t, pgtest.RedshiftDSN(t))
	for _, s := range texts {
		want := pgtest.QueryValue[int64](t, rs, "SELECT FNV_HASH(CAST($1 AS VARCHAR))", s)
		if got := int64(fnv1a(fnvOffset, s)); got != want {
			t.Errorf("FNV_HASH(%q) = %d through the stand-in, Go computes %d", s, want, got)
		}
		want = pgtest.QueryValue[int64](t, rs, "SELECT FNV_HASH(CAST($1 AS VARCHAR), FNV_HASH(CAST('k' AS VARCHAR)))", s)
		if got := int64(fnv1a(fnv1a(fnvOffset, "k"), s)); got != want {
			t.Errorf("FNV_HASH(%q, FNV_HASH('k')) = %d through the stand-in, Go computes %d", s, want, got)
		}
	}
}

// TestCanonicalTextMatchesTheServer checks that the text Go hashes for a
// decoded key value is the server's own text of it (CAST AS TEXT in the
// session's settings), so that unchanged chunks digest equal on both sides.
func TestCanonicalTextMatchesTheServer(t *testing.T) {
	db := pgtest.Open(t)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ typ, value string }{
		{"bigint", "-9223372036854775808"}, {"integer", "42"}, {"numeric(10,2)", "1.50"}, {"numeric", "12345678901234567890.000100"},
		{"text", "é_x"}, {"varchar(5)", "ab"}, {"date", "2024-02-29"}, {"timestamp", "2024-01-31 13:45:01.5"},
		{"timestamp", "2024-01-31 13:45:00"}, {"timestamptz", "2024-01-31 13:45:01.123456+02"},
	} {
		lt, _, _, _, _ := logicalType(c.typ)
		col := Column{Name: "v", SourceType: c.typ, Type: lt}
		var want, raw string
		q := "SELECT CAST(x.v AS TEXT), " + strings.Replace(selectExpr(col, DialectPostgres), `"v"`, `x."v"`, 1) + " FROM (SELECT CAST($1 AS " + c.typ + ") AS v) x"
		if err := conn.QueryRowContext(t.Context(), q, c.value).Scan(&want, &raw); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		v, err := decoderFor(col)(raw)
		if err != nil {
			t.Fatalf("%s %q: %v", c.typ, raw, err)
		}
		if got := canonicalText(v, lt); got != want {
			t.Errorf("%s %s: Go hashes %q, the server %q", c.typ, c.value, got, want)
		}
	}
}

// TestDigestSQLGroupsAsGoDoes checks each shape of the digest query against
// digests computed in Go over the same keys: width_bucket for single-column
// keys (a text key under a non-C collation, whose ranges must still compare
// bytewise, and an integer key), the CASE tree for a composite key, with
// ids that merge intervals and skip one (-1), as chunk digests use them.
func TestDigestSQLGroupsAsGoDoes(t *testing.T) {
	db := pgtest.Open(t)
	schema := "digest_shapes"
	for _, q := range []string{
		"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema,
		`CREATE TABLE ` + schema + `.t (k text COLLATE "en-x-icu", n bigint, PRIMARY KEY (k, n))`,
		`INSERT INTO ` + schema + `.t VALUES ('a', 1), ('B', 2), ('b', 3), ('Z', 4), ('é', 5), ('_x', 6), ('bb', 7), ('a', 8), ('', 9)`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	text := Column{Name: "k", SourceType: "text", Type: TypeString}
	long := Column{Name: "n", SourceType: "bigint", Type: TypeLong}
	ids := []int{0, -1, 1, 1}
	for _, c := range []struct {
		name   string
		cols   []Column
		bounds [][]string
		keys   func(k string, n int64) Key
	}{
		{"text key", []Column{text}, [][]string{{"B"}, {"a"}, {"b"}}, func(k string, _ int64) Key { return Key{k} }},
		{"integer key", []Column{long}, [][]string{{"3"}, {"5"}, {"8"}}, func(_ string, n int64) Key { return Key{n} }},
		{"composite key", []Column{text, long}, [][]string{{"B", "2"}, {"a", "8"}, {"b", "3"}}, func(k string, n int64) Key { return Key{k, n} }},
	} {
		tab := &Table{Schema: schema, Name: "t", Columns: []Column{text, long}}
		for _, col := range c.cols {
			tab.PrimaryKey = append(tab.PrimaryKey, col.Name)
		}
		ks, why := newKeySpace(tab, DialectPostgres)
		if ks == nil {
			t.Fatalf("%s: %s", c.name, why)
		}
		bounds := make([]Key, len(c.bounds))
		for i, b := range c.bounds {
			k, err := ks.parse(b)
			if err != nil {
				t.Fatal(err)
			}
			bounds[i] = k
		}
		want := map[int]*digest{}
		rows, err := db.QueryContext(t.Context(), "SELECT k, n FROM "+schema+".t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			key := c.keys(k, n)
			in := 0
			for in < len(bounds) && CompareKeys(bounds[in], key) <= 0 {
				in++
			}
			if want[ids[in]] == nil {
				want[ids[in]] = &digest{}
			}
			want[ids[in]].add(ks.hash(key))
		}
		rows.Close()
		q, args := ks.digestSQL(c.bounds, ids, "", nil)
		got := serverDigests(t, db, q, args)
		if len(got) != len(want) {
			t.Errorf("%s: %d groups from the server, %d in Go (%v)", c.name, len(got), len(want), got)
		}
		for id, d := range want {
			if got[id] != d.String() {
				t.Errorf("%s: group %d digests %q on the server, %q in Go (query %s)", c.name, id, got[id], d.String(), q)
			}
		}
	}
}

// TestHashInt8ExtendedMatchesTheServer checks the Go twin of PostgreSQL's
// hashint8extended, which the integer hash scheme applies to integer key
// columns, over values whose halves fold differently (negative, beyond 32
// bits, the extremes) and chained seeds.
func TestHashInt8ExtendedMatchesTheServer(t *testing.T) {
	db := pgtest.Open(t)
	values := []int64{0, 1, -1, 42, -42, 1<<31 - 1, -1 << 31, 1 << 32, -(1 << 32) - 5, 123456789012, -987654321098765, 1<<63 - 1, -1 << 63}
	for _, v := range values {
		for _, seed := range []int64{0, -5968735742475085980, 42} {
			want := pgtest.QueryValue[int64](t, db, "SELECT hashint8extended($1::bigint, $2)", v, seed)
			if got := int64(hashInt8Extended(v, uint64(seed))); got != want {
				t.Errorf("hashint8extended(%d, %d) = %d, Go computes %d", v, seed, want, got)
			}
		}
	}
	// An integer column is hashed as its bigint value, whatever its width.
	if want := pgtest.QueryValue[int64](t, db, "SELECT hashint8extended(CAST(CAST(-7 AS smallint) AS BIGINT), 0)"); int64(hashInt8Extended(-7, 0)) != want {
		t.Errorf("smallint -7 hashes to %d on the server, %d in Go", want, int64(hashInt8Extended(-7, 0)))
	}
}

// TestRangeScanSQLDigestsAsGoDoes checks the per-range aggregates against
// digests computed in Go and against the one scan, for an integer key and a
// date key, with an empty range (no row, as the one scan sends none), the
// first and last ranges open-ended, and a single bound (no inner ranges).
func TestRangeScanSQLDigestsAsGoDoes(t *testing.T) {
	db := pgtest.Open(t)
	schema := "digest_ranges"
	for _, q := range []string{
		"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema,
		`CREATE TABLE ` + schema + `.i (n bigint PRIMARY KEY)`,
		`INSERT INTO ` + schema + `.i SELECT g FROM generate_series(-50, 300) g WHERE g NOT BETWEEN 100 AND 149`,
		`CREATE TABLE ` + schema + `.d (d date PRIMARY KEY)`,
		`INSERT INTO ` + schema + `.d SELECT date '2024-01-01' + g FROM generate_series(0, 99) g`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, c := range []struct {
		table  string
		col    Column
		bounds [][]string
	}{
		{"i", Column{Name: "n", SourceType: "bigint", Type: TypeLong}, [][]string{{"0"}, {"100"}, {"150"}, {"200"}}},
		{"i", Column{Name: "n", SourceType: "bigint", Type: TypeLong}, [][]string{{"120"}}},
		{"d", Column{Name: "d", SourceType: "date", Type: TypeNaiveDate}, [][]string{{"2024-01-10"}, {"2024-02-01"}}},
	} {
		tab := &Table{Schema: schema, Name: c.table, Columns: []Column{c.col}, PrimaryKey: []string{c.col.Name}}
		ks, why := newKeySpace(tab, DialectPostgres)
		if ks == nil {
			t.Fatalf("%s: %s", c.table, why)
		}
		ids := make([]int, len(c.bounds)+1)
		for i := range ids {
			ids[i] = i
		}
		if !ks.rangeScannable(c.bounds, ids) {
			t.Fatalf("%s: a single-column %s key is not range-scannable", c.table, c.col.SourceType)
		}
		bounds := make([]Key, len(c.bounds))
		for i, b := range c.bounds {
			k, err := ks.parse(b)
			if err != nil {
				t.Fatal(err)
			}
			bounds[i] = k
		}
		want := map[int]string{}
		digests := map[int]*digest{}
		rows, err := db.QueryContext(t.Context(), "SELECT "+ks.selectList()+" FROM "+ks.from())
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var raw string
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			key, err := ks.decode([]driver.Value{raw})
			if err != nil {
				t.Fatal(err)
			}
			in := 0
			for in < len(bounds) && CompareKeys(bounds[in], key) <= 0 {
				in++
			}
			if digests[in] == nil {
				digests[in] = &digest{}
			}
			digests[in].add(ks.hash(key))
		}
		rows.Close()
		for id, d := range digests {
			want[id] = d.String()
		}
		for _, shape := range []string{"per-range aggregates", "one scan"} {
			q, args := ks.rangeScanSQL(c.bounds)
			if shape == "one scan" {
				q, args = ks.digestSQL(c.bounds, ids, "", nil)
			}
			if got := serverDigests(t, db, q, args); !maps.Equal(got, want) {
				t.Errorf("%s, %s: the server digests %v, Go %v (query %s)", c.table, shape, got, want, q)
			}
		}
	}
}

// TestRangeIndexSQL checks when the per-range aggregates are chosen: a
// single-column key that is not text, on PostgreSQL, whose table has a
// B-tree index led by the key and is mostly all-visible (VACUUMed); not a
// table never vacuumed, nor one whose only index leads with another
// column, is partial, or that has none (a key given by a table spec).
func TestRangeIndexSQL(t *testing.T) {
	db := pgtest.Open(t)
	schema := "digest_index"
	for _, q := range []string{
		"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema,
		`CREATE TABLE ` + schema + `.pk (id bigint PRIMARY KEY, v int)`,
		`CREATE TABLE ` + schema + `.fresh (id bigint PRIMARY KEY, v int)`,
		`CREATE TABLE ` + schema + `.other (id bigint NOT NULL, v int)`,
		`CREATE INDEX ON ` + schema + `.other (v, id)`,
		`CREATE TABLE ` + schema + `.partial (id bigint NOT NULL, v int)`,
		`CREATE INDEX ON ` + schema + `.partial (id) WHERE v > 0`,
		`CREATE TABLE ` + schema + `.none (id bigint NOT NULL, v int)`,
		`CREATE TABLE "` + schema + `"."Mixed Case" ("Id" bigint PRIMARY KEY)`,
	} {
		pgtest.Exec(t, db, q)
	}
	for _, name := range []string{"pk", "fresh", "other", "partial", "none", "Mixed Case"} {
		id := `"Id"`
		if name != "Mixed Case" {
			id = "id"
		}
		pgtest.Exec(t, db, `INSERT INTO "`+schema+`"."`+name+`" (`+id+`) SELECT generate_series(1, 5000)`)
		if name != "fresh" {
			pgtest.Exec(t, db, `VACUUM ANALYZE "`+schema+`"."`+name+`"`)
		}
	}
	long := Column{Name: "id", SourceType: "bigint", Type: TypeLong}
	for _, c := range []struct {
		table string
		col   Column
		want  bool
	}{
		{"pk", long, true},
		{"Mixed Case", Column{Name: "Id", SourceType: "bigint", Type: TypeLong}, true},
		{"fresh", long, false},
		{"other", long, false},
		{"partial", long, false},
		{"none", long, false},
	} {
		ks, _ := newKeySpace(&Table{Schema: schema, Name: c.table, Columns: []Column{c.col}, PrimaryKey: []string{c.col.Name}}, DialectPostgres)
		q, args := ks.rangeIndexSQL()
		if got := pgtest.QueryValue[bool](t, db, q, args...); got != c.want {
			t.Errorf("%s: rangeIndexSQL says %v, want %v", c.table, got, c.want)
		}
	}
	text := Column{Name: "k", SourceType: "text", Type: TypeString}
	bounds, ids := [][]string{{"5"}}, []int{0, 1}
	for _, c := range []struct {
		name    string
		cols    []Column
		dialect Dialect
		ids     []int
	}{
		{"a text key", []Column{text}, DialectPostgres, ids},
		{"a composite key", []Column{long, text}, DialectPostgres, ids},
		{"Redshift", []Column{long}, DialectRedshift, ids},
		{"merged ranges", []Column{long}, DialectPostgres, []int{0, 0}},
	} {
		tab := &Table{Schema: schema, Name: "pk", Columns: c.cols}
		for _, col := range c.cols {
			tab.PrimaryKey = append(tab.PrimaryKey, col.Name)
		}
		b := bounds
		if len(c.cols) == 2 {
			b = [][]string{{"5", "x"}}
		}
		if ks, _ := newKeySpace(tab, c.dialect); ks.rangeScannable(b, c.ids) {
			t.Errorf("%s: range-scannable, want the one scan", c.name)
		}
	}
}

// serverDigests runs a digest query and returns "count:sum" by group id.
func serverDigests(t *testing.T, db *sql.DB, q string, args []any) map[int]string {
	t.Helper()
	got := map[int]string{}
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var count int64
		var sum string
		if err := rows.Scan(&id, &count, &sum); err != nil {
			t.Fatal(err)
		}
		got[id] = fmt.Sprintf("%d:%s", count, sum)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
