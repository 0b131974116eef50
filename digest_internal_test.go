// This file tests the Go digests of delete detection against the source's
// own: PostgreSQL's hashtextextended and Redshift's FNV_HASH (through the
// stand-in), over texts of every length the hashes' tails handle.

package redshiftsync

import (
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
