// This file tests the Go digests of delete detection against the source's
// own: PostgreSQL's hashtextextended and Redshift's FNV_HASH (through the
// stand-in), over texts of every length the hashes' tails handle.

package redshiftsync

import (
	"fmt"
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
		got := map[int]string{}
		rows, err = db.QueryContext(t.Context(), q, args...)
		if err != nil {
			t.Fatalf("%s: %s: %v", c.name, q, err)
		}
		for rows.Next() {
			var id int
			var count int64
			var sum string
			if err := rows.Scan(&id, &count, &sum); err != nil {
				t.Fatal(err)
			}
			got[id] = fmt.Sprintf("%d:%s", count, sum)
		}
		rows.Close()
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
