package pgsink

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync"
)

func TestEncodeValue(t *testing.T) {
	bc := time.Date(-43, 3, 15, 12, 34, 56, 789012345, time.UTC) // 44 BC
	far := time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC)
	paris := time.FixedZone("CEST", 2*3600)
	cases := []struct {
		v    any
		lt   redshiftsync.LogicalType
		want any
	}{
		{nil, redshiftsync.TypeString, nil},
		{true, redshiftsync.TypeBoolean, "t"},
		{false, redshiftsync.TypeBoolean, "f"},
		{int64(math.MinInt64), redshiftsync.TypeLong, int64(math.MinInt64)},
		{redshiftsync.Decimal("-12345678901234567890.1234567890"), redshiftsync.TypeDecimal, "-12345678901234567890.1234567890"},
		{math.NaN(), redshiftsync.TypeDouble, "NaN"},
		{math.Inf(1), redshiftsync.TypeDouble, "Infinity"},
		{math.Inf(-1), redshiftsync.TypeFloat, "-Infinity"},
		{math.Copysign(0, -1), redshiftsync.TypeDouble, "-0"},
		{0.1, redshiftsync.TypeDouble, "0.1"},
		{5e-324, redshiftsync.TypeDouble, "5e-324"},
		{float64(float32(0.1)), redshiftsync.TypeFloat, "0.10000000149011612"},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), redshiftsync.TypeNaiveDate, "2024-02-29"},
		{bc, redshiftsync.TypeNaiveDate, "0044-03-15 BC"},
		{bc, redshiftsync.TypeNaiveDateTime, "0044-03-15 12:34:56.789012 BC"},
		{bc, redshiftsync.TypeUTCDateTime, "0044-03-15 12:34:56.789012+00 BC"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), redshiftsync.TypeNaiveDate, "0001-01-01 BC"},
		{far, redshiftsync.TypeNaiveDateTime, "294276-12-31 23:59:59.999999"},
		{time.Date(2024, 6, 1, 12, 0, 0, 1000, paris), redshiftsync.TypeNaiveDateTime, "2024-06-01 12:00:00.000001"},
		{time.Date(2024, 6, 1, 12, 0, 0, 1000, paris), redshiftsync.TypeUTCDateTime, "2024-06-01 10:00:00.000001+00"},
		{"infinity", redshiftsync.TypeNaiveDate, "infinity"},
		{"-infinity", redshiftsync.TypeUTCDateTime, "-infinity"},
		{"24:00:00", redshiftsync.TypeNaiveTime, "24:00:00"},
		{[]byte{0, 0xff, '\\', '\n'}, redshiftsync.TypeBinary, `\x00ff5c0a`},
		{[]byte{}, redshiftsync.TypeBinary, `\x`},
		{json.RawMessage(`{"a": [1, "\t"]}`), redshiftsync.TypeJSON, `{"a": [1, "\t"]}`},
		{[]byte(`null`), redshiftsync.TypeJSON, `null`},
		{"tab\there\\", redshiftsync.TypeString, "tab\there\\"},
	}
	for _, c := range cases {
		got, err := encodeValue(c.v, c.lt)
		if err != nil || got != c.want {
			t.Errorf("encodeValue(%#v, %s) = %#v, %v; want %#v", c.v, c.lt, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		v  any
		lt redshiftsync.LogicalType
	}{
		{struct{}{}, redshiftsync.TypeString},
		{"a\x00b", redshiftsync.TypeString},
		{time.Now(), redshiftsync.TypeLong},
	} {
		if _, err := encodeValue(bad.v, bad.lt); err == nil {
			t.Errorf("encodeValue(%#v, %s) succeeded", bad.v, bad.lt)
		}
	}
}

func TestResyncName(t *testing.T) {
	if got := resyncName("s", "orders"); !strings.HasPrefix(got, "orders_") || len(got) != len("orders_")+12 {
		t.Errorf("resyncName(s, orders) = %q", got)
	}
	for _, name := range []string{strings.Repeat("x", 63), strings.Repeat("ü", 31) + "x", strings.Repeat("y", 52)} {
		got := resyncName("s", name)
		if len(got) > 63 || !utf8.ValidString(got) {
			t.Errorf("resyncName(s, %q) = %q (%d bytes)", name, got, len(got))
		}
	}
	// Tables of the same name in other schemas, long names that differ at
	// their end, and a dot moved between schema and name all get copies of
	// their own.
	names := map[string]bool{}
	for _, sn := range [][2]string{{"s", "t"}, {"u", "t"}, {"a.b", "c"}, {"a", "b.c"}, {"s", strings.Repeat("x", 60) + "a"}, {"s", strings.Repeat("x", 60) + "b"}} {
		got := resyncName(sn[0], sn[1])
		if names[got] {
			t.Errorf("resyncName(%q, %q) = %q, taken by another table", sn[0], sn[1], got)
		}
		names[got] = true
	}
}

func TestMergeSQL(t *testing.T) {
	m := mergeSQL([]string{"id", "v", `a"b`}, []string{"id"}, "seq", false)
	if got, want := m(`"s"."t"`, mergeUpsert), `INSERT INTO "s"."t" AS d ("id", "v", "a""b") SELECT "id", "v", "a""b" FROM pg_temp.redshiftsync_stage ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v", "a""b" = EXCLUDED."a""b" WHERE ROW(d."v", d."a""b") IS DISTINCT FROM ROW(EXCLUDED."v", EXCLUDED."a""b")`; got != want {
		t.Errorf("upsert:\n got %s\nwant %s", got, want)
	}
	if got := m(`"s"."t"`, mergeDedupe); !strings.Contains(got, `SELECT DISTINCT ON ("id")`) || !strings.Contains(got, `ORDER BY "id", "seq" DESC`) {
		t.Errorf("dedupe: %s", got)
	}
	if got := mergeSQL([]string{"id"}, []string{"id"}, "seq", false)("t", mergeUpsert); !strings.HasSuffix(got, `DO NOTHING`) {
		t.Errorf("key-only table: %s", got)
	}
	if got := mergeSQL([]string{"a"}, nil, "seq", false)("t", mergeUpsert); strings.Contains(got, "CONFLICT") {
		t.Errorf("keyless table: %s", got)
	}
	if got := uniqueColumn("redshiftsync_seq", []string{"redshiftsync_seq", "redshiftsync_seq_"}); got != "redshiftsync_seq__" {
		t.Errorf("uniqueColumn = %q", got)
	}
}

func TestColumnType(t *testing.T) {
	for _, c := range []struct {
		col    redshiftsync.Column
		native bool
		want   string
	}{
		{redshiftsync.Column{Type: redshiftsync.TypeDecimal, Precision: 38, Scale: 10}, false, "numeric(38,10)"},
		{redshiftsync.Column{Type: redshiftsync.TypeDecimal}, false, "numeric"},
		{redshiftsync.Column{Type: redshiftsync.TypeInterval}, false, "text"},
		{redshiftsync.Column{Type: redshiftsync.TypeInterval}, true, "interval"},
		{redshiftsync.Column{Type: redshiftsync.TypeJSON}, false, "jsonb"},
		{redshiftsync.Column{Type: redshiftsync.TypeUTCDateTime}, false, "timestamptz"},
		{redshiftsync.Column{Type: "SOMETHING_NEW"}, false, "text"},
	} {
		if got := columnType(c.col, c.native); got != c.want {
			t.Errorf("columnType(%+v) = %q, want %q", c.col, got, c.want)
		}
	}
}
