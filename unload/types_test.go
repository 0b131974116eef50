// This file tests the decoding of every Parquet type UNLOAD writes into the
// Go value the SQL path delivers for the column's logical type.

package unload

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/seed2085993a/redshiftsync"
)

// fixed16 returns n as a 16-byte big-endian two's complement integer, the
// FIXED_LEN_BYTE_ARRAY form of a DECIMAL(38,s)'s unscaled value.
func fixed16(n *big.Int) []byte {
	m := new(big.Int).Set(n)
	if m.Sign() < 0 {
		m.Add(m, new(big.Int).Lsh(big.NewInt(1), 128))
	}
	b := m.FillBytes(make([]byte, 16))
	return b
}

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ts(y int, m time.Month, d, hh, mm, ss, us int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, us*1000, time.UTC)
}

// typeCase is one column of TestDecodeEveryType: the table column, the
// Parquet node UNLOAD writes for it, the Parquet values of rows 0-2 (row 3
// is NULL) and the Go values expected.
type typeCase struct {
	col    redshiftsync.Column
	node   parquet.Node
	values []parquet.Value
	want   []any
}

func typeCases() []typeCase {
	nines38 := strings.Repeat("9", 38)
	col := func(name, source string, lt redshiftsync.LogicalType, extra ...int) redshiftsync.Column {
		c := redshiftsync.Column{Name: name, SourceType: source, Type: lt, Nullable: true}
		if len(extra) == 1 {
			c.Length = extra[0]
		}
		if len(extra) == 2 {
			c.Precision, c.Scale = extra[0], extra[1]
		}
		return c
	}
	str := func(ss ...string) []parquet.Value {
		out := make([]parquet.Value, len(ss))
		for i, s := range ss {
			out[i] = parquet.ByteArrayValue([]byte(s))
		}
		return out
	}
	days := func(t time.Time) parquet.Value { return parquet.Int32Value(int32(t.Unix() / 86400)) }
	micros := func(t time.Time) parquet.Value { return parquet.Int64Value(t.UnixMicro()) }
	return []typeCase{
		{col("c_bool", "boolean", redshiftsync.TypeBoolean), parquet.Leaf(parquet.BooleanType),
			[]parquet.Value{parquet.BooleanValue(true), parquet.BooleanValue(false), parquet.BooleanValue(true)},
			[]any{true, false, true}},
		{col("c_short", "smallint", redshiftsync.TypeShort), parquet.Int(16),
			[]parquet.Value{parquet.Int32Value(1), parquet.Int32Value(math.MaxInt16), parquet.Int32Value(math.MinInt16)},
			[]any{int64(1), int64(math.MaxInt16), int64(math.MinInt16)}},
		{col("c_int", "integer", redshiftsync.TypeInt), parquet.Int(32),
			[]parquet.Value{parquet.Int32Value(2), parquet.Int32Value(math.MaxInt32), parquet.Int32Value(math.MinInt32)},
			[]any{int64(2), int64(math.MaxInt32), int64(math.MinInt32)}},
		{col("c_long", "bigint", redshiftsync.TypeLong), parquet.Int(64),
			[]parquet.Value{parquet.Int64Value(3), parquet.Int64Value(math.MaxInt64), parquet.Int64Value(math.MinInt64)},
			[]any{int64(3), int64(math.MaxInt64), int64(math.MinInt64)}},
		{col("c_dec9", "numeric(9,2)", redshiftsync.TypeDecimal, 9, 2), parquet.Decimal(2, 9, parquet.Int32Type),
			[]parquet.Value{parquet.Int32Value(12345), parquet.Int32Value(999999999), parquet.Int32Value(-5)},
			[]any{redshiftsync.Decimal("123.45"), redshiftsync.Decimal("9999999.99"), redshiftsync.Decimal("-0.05")}},
		{col("c_dec18", "numeric(18,4)", redshiftsync.TypeDecimal, 18, 4), parquet.Decimal(4, 18, parquet.Int64Type),
			[]parquet.Value{parquet.Int64Value(0), parquet.Int64Value(999999999999999999), parquet.Int64Value(-1)},
			[]any{redshiftsync.Decimal("0.0000"), redshiftsync.Decimal("99999999999999.9999"), redshiftsync.Decimal("-0.0001")}},
		{col("c_dec38", "numeric(38,10)", redshiftsync.TypeDecimal, 38, 10), parquet.Decimal(10, 38, parquet.FixedLenByteArrayType(16)),
			[]parquet.Value{
				parquet.FixedLenByteArrayValue(fixed16(big.NewInt(1))),
				parquet.FixedLenByteArrayValue(fixed16(bigInt(nines38))),
				parquet.FixedLenByteArrayValue(fixed16(bigInt("-" + nines38))),
			},
			[]any{redshiftsync.Decimal("0.0000000001"), redshiftsync.Decimal(nines38[:28] + "." + nines38[28:]), redshiftsync.Decimal("-" + nines38[:28] + "." + nines38[28:])}},
		{col("c_dec38s0", "numeric(38,0)", redshiftsync.TypeDecimal, 38, 0), parquet.Decimal(0, 38, parquet.FixedLenByteArrayType(16)),
			[]parquet.Value{
				parquet.FixedLenByteArrayValue(fixed16(big.NewInt(-42))),
				parquet.FixedLenByteArrayValue(fixed16(bigInt(nines38))),
				parquet.FixedLenByteArrayValue(fixed16(bigInt("-1" + strings.Repeat("0", 37)))),
			},
			[]any{redshiftsync.Decimal("-42"), redshiftsync.Decimal(nines38), redshiftsync.Decimal("-1" + strings.Repeat("0", 37))}},
		{col("c_dec_text", "numeric", redshiftsync.TypeDecimal), parquet.String(),
			str("123456789012345678901234567890.123456789", "NaN", "-0.5"),
			[]any{redshiftsync.Decimal("123456789012345678901234567890.123456789"), redshiftsync.Decimal("NaN"), redshiftsync.Decimal("-0.5")}},
		{col("c_real", "real", redshiftsync.TypeFloat), parquet.Leaf(parquet.FloatType),
			[]parquet.Value{parquet.FloatValue(1.1), parquet.FloatValue(math.MaxFloat32), parquet.FloatValue(float32(math.Inf(-1)))},
			[]any{float64(float32(1.1)), float64(float32(math.MaxFloat32)), math.Inf(-1)}},
		{col("c_double", "double precision", redshiftsync.TypeDouble), parquet.Leaf(parquet.DoubleType),
			[]parquet.Value{parquet.DoubleValue(1.1), parquet.DoubleValue(math.MaxFloat64), parquet.DoubleValue(-math.SmallestNonzeroFloat64)},
			[]any{1.1, math.MaxFloat64, -math.SmallestNonzeroFloat64}},
		{col("c_date", "date", redshiftsync.TypeNaiveDate), parquet.Date(),
			[]parquet.Value{days(date(2024, 2, 29)), days(date(294276, 12, 31)), days(date(-4712, 11, 24))},
			[]any{date(2024, 2, 29), date(294276, 12, 31), date(-4712, 11, 24)}},
		{col("c_ts", "timestamp without time zone", redshiftsync.TypeNaiveDateTime), parquet.TimestampAdjusted(parquet.Microsecond, false),
			[]parquet.Value{micros(ts(2024, 1, 31, 13, 45, 1, 123456)), micros(ts(9999, 12, 31, 23, 59, 59, 999999)), micros(ts(1969, 12, 31, 23, 59, 59, 999999))},
			[]any{ts(2024, 1, 31, 13, 45, 1, 123456), ts(9999, 12, 31, 23, 59, 59, 999999), ts(1969, 12, 31, 23, 59, 59, 999999)}},
		{col("c_ts_bc", "timestamp without time zone", redshiftsync.TypeNaiveDateTime), parquet.TimestampAdjusted(parquet.Microsecond, false),
			[]parquet.Value{micros(ts(-4712, 1, 1, 0, 0, 0, 1)), micros(ts(1, 1, 1, 12, 0, 0, 0)), micros(ts(1900, 2, 28, 23, 0, 0, 500000))},
			[]any{ts(-4712, 1, 1, 0, 0, 0, 1), ts(1, 1, 1, 12, 0, 0, 0), ts(1900, 2, 28, 23, 0, 0, 500000)}},
		{col("c_tstz", "timestamp with time zone", redshiftsync.TypeUTCDateTime), parquet.TimestampAdjusted(parquet.Microsecond, true),
			[]parquet.Value{micros(ts(2024, 6, 1, 0, 0, 0, 0)), micros(ts(3000, 1, 1, 0, 0, 0, 1)), micros(ts(1900, 1, 1, 0, 0, 0, 1))},
			[]any{ts(2024, 6, 1, 0, 0, 0, 0), ts(3000, 1, 1, 0, 0, 0, 1), ts(1900, 1, 1, 0, 0, 0, 1)}},
		{col("c_ts_ms", "timestamp without time zone", redshiftsync.TypeNaiveDateTime), parquet.TimestampAdjusted(parquet.Millisecond, false),
			[]parquet.Value{parquet.Int64Value(1), parquet.Int64Value(-1), parquet.Int64Value(0)},
			[]any{ts(1970, 1, 1, 0, 0, 0, 1000), ts(1969, 12, 31, 23, 59, 59, 999000), ts(1970, 1, 1, 0, 0, 0, 0)}},
		{col("c_time", "time without time zone", redshiftsync.TypeNaiveTime), parquet.TimeAdjusted(parquet.Microsecond, false),
			[]parquet.Value{parquet.Int64Value((13*3600+45*60+1)*1e6 + 500000), parquet.Int64Value(24 * 3600 * 1e6), parquet.Int64Value(0)},
			[]any{"13:45:01.5", "24:00:00", "00:00:00"}},
		{col("c_time_text", "time without time zone", redshiftsync.TypeNaiveTime), parquet.String(),
			str("13:45:01.123456", "24:00:00", "00:00:00"),
			[]any{"13:45:01.123456", "24:00:00", "00:00:00"}},
		{col("c_timetz", "time with time zone", redshiftsync.TypeTimeTZ), parquet.String(),
			str("10:35:00+00", "23:59:59.999999+00", "00:00:00+00"),
			[]any{"10:35:00+00", "23:59:59.999999+00", "00:00:00+00"}},
		{col("c_interval", "interval", redshiftsync.TypeInterval), parquet.String(),
			str("1 year 2 mons 3 days 04:05:06", "-00:00:01", "00:00:00"),
			[]any{"1 year 2 mons 3 days 04:05:06", "-00:00:01", "00:00:00"}},
		{col("c_varchar", "character varying(256)", redshiftsync.TypeString, 256), parquet.String(),
			str("héllo, 世界", "", "line\nbreak 'quote' \\"),
			[]any{"héllo, 世界", "", "line\nbreak 'quote' \\"}},
		{col("c_char", "character(5)", redshiftsync.TypeString, 5), parquet.String(),
			str("ab", "abcde", ""),
			[]any{"ab   ", "abcde", "     "}},
		{col("c_super", "super", redshiftsync.TypeJSON), parquet.JSON(),
			str(`{"a":[1,2.50,"x"],"b":null}`, `null`, `"str"`),
			[]any{json.RawMessage(`{"a":[1,2.50,"x"],"b":null}`), json.RawMessage(`null`), json.RawMessage(`"str"`)}},
		{col("c_varbyte", "varbyte(16)", redshiftsync.TypeBinary, 16), parquet.Leaf(parquet.ByteArrayType),
			[]parquet.Value{parquet.ByteArrayValue([]byte{0, 1, 2, 255}), parquet.ByteArrayValue([]byte{}), parquet.ByteArrayValue([]byte{0})},
			[]any{[]byte{0, 1, 2, 255}, []byte{}, []byte{0}}},
		{col("c_bytea_text", "bytea", redshiftsync.TypeBinary), parquet.String(),
			str(`\x0001ff`, `\x`, "abcdef"),
			[]any{[]byte{0, 1, 255}, []byte{}, []byte{0xab, 0xcd, 0xef}}},
		{col("c_geometry", "geometry", redshiftsync.TypeString), parquet.String(),
			str("0101000020E6100000000000000000F03F0000000000000040", "010100000000000000000000000000000000000000", ""),
			[]any{"0101000020E6100000000000000000F03F0000000000000040", "010100000000000000000000000000000000000000", ""}},
		{col("c_uuid", "uuid", redshiftsync.TypeString), parquet.UUID(),
			[]parquet.Value{
				parquet.FixedLenByteArrayValue([]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}),
				parquet.FixedLenByteArrayValue(make([]byte, 16)),
				parquet.FixedLenByteArrayValue(bytesOf(0xff, 16)),
			},
			[]any{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"}},
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestDecodeEveryType writes a part with a column of every Parquet type
// UNLOAD writes (and the text form of the types the SELECT casts), serves
// it from an S3-compatible endpoint and checks that ReadPart delivers each
// value as the Go value and type the SQL path gives (types.go's table):
// extremes (38-digit decimals, far and BC dates, pre-1970 timestamps,
// 24:00:00), empty values apart from NULL, and a row of NULLs.
func TestDecodeEveryType(t *testing.T) {
	cases := typeCases()
	const rows = 4 // rows 0-2 the cases' values, row 3 NULL
	var cols []pqColumn
	table := &redshiftsync.Table{Schema: "public", Name: "every_type"}
	for _, c := range cases {
		vals := c.values
		cols = append(cols, pqColumn{name: c.col.Name, node: c.node, value: func(i int) *parquet.Value {
			if i < len(vals) {
				return v(vals[i])
			}
			return nil
		}})
		table.Columns = append(table.Columns, c.col)
	}
	f := newFakeS3(t, nil)
	data := writeParquet(t, cols, rows, 0, 0)
	f.put("run/every_type/0000_part_00.parquet", data)
	got, _ := readAll(t, f.r, table, redshiftsync.UnloadPart{URL: "s3://" + testBucket + "/run/every_type/0000_part_00.parquet", Bytes: int64(len(data)), Rows: rows}, 100, 0)
	if len(got) != rows {
		t.Fatalf("%d rows, want %d", len(got), rows)
	}
	for j, c := range cases {
		for i := range rows {
			var want any
			if i < len(c.want) {
				want = c.want[i]
			}
			if g := got[i][j]; !reflect.DeepEqual(g, want) {
				t.Errorf("%s (%s) row %d: got %T %v, want %T %v", c.col.Name, c.col.Type, i, g, show(g), want, show(want))
			}
		}
	}
}

// show prints a value so that a time's location and a byte slice's nilness
// show.
func show(x any) string {
	switch y := x.(type) {
	case time.Time:
		return y.Format(time.RFC3339Nano) + " " + y.Location().String()
	case []byte:
		return fmt.Sprintf("%#v", y)
	case json.RawMessage:
		return string(y)
	}
	return fmt.Sprintf("%#v", x)
}

// TestFormatDecimal checks the text of unscaled decimals, negative scales
// (PostgreSQL 15's numeric(p,-s)) included.
func TestFormatDecimal(t *testing.T) {
	for _, c := range []struct {
		digits string
		scale  int
		want   string
	}{
		{"0", 0, "0"}, {"0", 2, "0.00"}, {"-0", 2, "0.00"}, {"5", 1, "0.5"}, {"-5", 3, "-0.005"},
		{"12345", 2, "123.45"}, {"-12345", 5, "-0.12345"}, {"123", -2, "12300"}, {"-7", -3, "-7000"}, {"0", -2, "0"},
	} {
		if got := formatDecimal(c.digits, c.scale); got != c.want {
			t.Errorf("formatDecimal(%q, %d) = %q, want %q", c.digits, c.scale, got, c.want)
		}
	}
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{[]byte{0xff}, "-1"}, {[]byte{0x7f}, "127"}, {[]byte{0x80, 0}, "-32768"}, {[]byte{}, "0"},
		{fixed16(big.NewInt(-1)), "-1"}, {fixed16(bigInt("170141183460469231731687303715884105727")), "170141183460469231731687303715884105727"},
		{fixed16(bigInt("-170141183460469231731687303715884105728")), "-170141183460469231731687303715884105728"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, "-2"},
	} {
		if got := unscaledText(c.b); got != c.want {
			t.Errorf("unscaledText(%x) = %q, want %q", c.b, got, c.want)
		}
	}
}
