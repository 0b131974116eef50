// Tests of the row path's decoders and value allocator without a server:
// the values they build, their allocations, and that a value handed out is
// never written again.

package redshiftsync

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"
)

// sendBytes returns v's big-endian bytes, as a send function sends them.
func sendBytes[T int32 | int64 | uint64](v T) []byte {
	switch x := any(v).(type) {
	case int32:
		return binary.BigEndian.AppendUint32(nil, uint32(x))
	case int64:
		return binary.BigEndian.AppendUint64(nil, uint64(x))
	case uint64:
		return binary.BigEndian.AppendUint64(nil, x)
	}
	return nil
}

func TestSendFormsDecode(t *testing.T) {
	col := func(lt LogicalType, st string) Column { return Column{Name: "c", Type: lt, SourceType: st} }
	date := rowDecoderFor(col(TypeNaiveDate, "date"), DialectPostgres)
	ts := rowDecoderFor(col(TypeNaiveDateTime, "timestamp without time zone"), DialectPostgres)
	dbl := rowDecoderFor(col(TypeDouble, "double precision"), DialectPostgres)
	txt := rowDecoderFor(col(TypeString, "character varying(40)"), DialectPostgres)
	var a valueAlloc
	for _, c := range []struct {
		name string
		dec  rowDecoder
		in   []byte
		want any
	}{
		{"date 2000-01-01", date, sendBytes(int32(0)), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"date 44 BC", date, sendBytes(int32(-746_117)), time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC)}, // date_send('0044-03-15 BC'), PostgreSQL 15
		{"date infinity", date, sendBytes(int32(math.MaxInt32)), "infinity"},
		{"date -infinity", date, sendBytes(int32(math.MinInt32)), "-infinity"},
		{"timestamp before 2000, microseconds", ts, sendBytes(int64(-1)), time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
		{"timestamp", ts, sendBytes(int64(1_000_001)), time.Date(2000, 1, 1, 0, 0, 1, 1000, time.UTC)},
		{"timestamp infinity", ts, sendBytes(int64(math.MaxInt64)), "infinity"},
		{"timestamp -infinity", ts, sendBytes(int64(math.MinInt64)), "-infinity"},
		{"double -0", dbl, sendBytes(math.Float64bits(math.Copysign(0, -1))), math.Copysign(0, -1)},
		{"double max", dbl, sendBytes(math.Float64bits(math.MaxFloat64)), math.MaxFloat64},
		{"text", txt, []byte("Zürich\t\\"), "Zürich\t\\"},
		{"empty text", txt, []byte{}, ""},
	} {
		got, err := c.dec(&a, c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if g, ok := got.(time.Time); ok {
			if w, _ := c.want.(time.Time); !g.Equal(w) || g.Location() != time.UTC {
				t.Errorf("%s: %v (%v), want %v", c.name, g, g.Location(), c.want)
			}
			continue
		}
		if f, ok := got.(float64); ok && math.Signbit(f) != math.Signbit(c.want.(float64)) {
			t.Errorf("%s: %v, want %v", c.name, f, c.want)
		}
		if got != c.want {
			t.Errorf("%s: %#v, want %#v", c.name, got, c.want)
		}
	}
	for _, bad := range [][]byte{{1, 2, 3}, sendBytes(int64(7))} {
		if v, err := date(&a, bad); err == nil {
			t.Errorf("date from %d bytes: %v, want an error", len(bad), v)
		}
	}
	if v, err := ts(&a, sendBytes(int32(7))); err == nil {
		t.Errorf("timestamp from 4 bytes: %v, want an error", v)
	}
}

// TestValueAllocValuesStay decodes many values of every kind valueAlloc
// builds, through several chunks, and checks that none of the values handed
// out changed: a sink may keep them past Write.
func TestValueAllocValuesStay(t *testing.T) {
	var a valueAlloc
	const n = 5 * valueChunkLen
	type kept struct {
		v    any
		want any
	}
	var all []kept
	for i := range n {
		s := strings.Repeat(string(rune('a'+i%26)), i%(2*valueOwnBytes))
		d := Decimal("-" + strings.Repeat("9", i%40) + ".5")
		tm := time.Unix(int64(i)*86_400_123, int64(i)).UTC()
		all = append(all, kept{a.string([]byte(s)), s}, kept{a.decimal([]byte(d)), d}, kept{a.time(tm), tm}, kept{a.float(float64(i) / 3), float64(i) / 3})
	}
	for i, k := range all {
		if k.v != k.want {
			t.Fatalf("value %d is %#v, want %#v", i, k.v, k.want)
		}
	}
}

// TestRowDecodersAmortizeAllocations: decoding a value of each kind the
// row path builds costs a fraction of an allocation, not one or two (the
// interface value and a string's bytes) as before valueAlloc.
func TestRowDecodersAmortizeAllocations(t *testing.T) {
	col := func(lt LogicalType, st string) Column { return Column{Name: "c", Type: lt, SourceType: st} }
	for _, c := range []struct {
		name    string
		col     Column
		dialect Dialect
		in      any // as lib/pq hands it over
	}{
		{"timestamp (binary)", col(TypeUTCDateTime, "timestamp with time zone"), DialectPostgres, sendBytes(int64(123_456_789_012))},
		{"date (binary)", col(TypeNaiveDate, "date"), DialectPostgres, sendBytes(int32(9000))},
		{"double (binary)", col(TypeDouble, "double precision"), DialectPostgres, sendBytes(math.Float64bits(1.5e300))},
		{"text (binary)", col(TypeString, "text"), DialectPostgres, []byte("a text of some forty bytes, say, or so")},
		{"numeric (text)", col(TypeDecimal, "numeric(18,4)"), DialectPostgres, []byte("-12345678901234.5678")},
		{"timestamp (Redshift text)", col(TypeNaiveDateTime, "timestamp without time zone"), DialectRedshift, "2024-01-31 13:45:01.123456"}, // VARCHAR: a string
	} {
		dec := rowDecoderFor(c.col, c.dialect)
		in := c.in // boxed once, as lib/pq boxes it
		var a valueAlloc
		var sink any
		allocs := testing.AllocsPerRun(4*valueChunkLen, func() {
			v, err := dec(&a, in)
			if err != nil {
				t.Fatal(err)
			}
			sink = v
		})
		if allocs > 0.1 {
			t.Errorf("%s: %.2f allocations per value, want a fraction of one", c.name, allocs)
		}
		_ = sink
	}
}
