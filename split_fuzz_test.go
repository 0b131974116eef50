package redshiftsync

import (
	"math/big"
	"strconv"
	"testing"
	"time"
)

// FuzzSplitRange checks, for any pair of range ends of the kinds the
// decoders deliver (int64, time.Time, "infinity"/"-infinity", Decimal,
// float64, in any combination) and any number of ranges, that splitRange does not panic,
// and that the bounds it returns are fewer than n, strictly increasing, of
// the column's key form, and within [lo, hi]: partitions cover the range
// whatever the bounds, as long as they increase. The seed corpus, in
// testdata/fuzz/FuzzSplitRange, runs as a plain test.
func FuzzSplitRange(f *testing.F) {
	f.Add(uint8(0), int64(1), int64(100), 4)
	f.Add(uint8(1), int64(0), int64(86_400_000_000), 16)
	f.Add(uint8(2), int64(0), int64(1), 4)
	f.Add(uint8(3), int64(0), int64(1), 4)
	f.Add(uint8(6), int64(-5), int64(12345), 4)
	f.Add(uint8(7), int64(1), int64(2), 256)

	f.Fuzz(func(t *testing.T, kind uint8, a, b int64, n int) {
		lts := []LogicalType{TypeLong, TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime}
		lt := lts[int(kind>>4)%len(lts)]
		var lo, hi any
		switch kind % 8 {
		case 0:
			lo, hi = a, b
		case 1:
			lo, hi = time.UnixMicro(a).UTC(), time.UnixMicro(b).UTC()
		case 2:
			lo, hi = time.UnixMicro(a).UTC(), "infinity"
		case 3:
			lo, hi = "-infinity", time.UnixMicro(b).UTC()
		case 4:
			lo, hi = a, time.UnixMicro(b).UTC()
		case 5:
			lo, hi = "-infinity", "infinity"
		case 6:
			lo, hi = Decimal(strconv.FormatInt(a, 10)+".25"), Decimal(strconv.FormatInt(b, 10)+".5")
		case 7:
			lo, hi = float64(a)/3, float64(b)/7
		}
		n %= 1000 // Config.Partitions and maxChunks are far below this
		out, err := splitRange(lo, hi, n, lt)
		if err != nil {
			return // keyText refused a value: an error, not a panic
		}
		if len(out) > max(n-1, 0) {
			t.Fatalf("%d bounds for %d ranges", len(out), n)
		}
		var prev any
		for _, txt := range out {
			v, ok := parseBound(txt, lo)
			if !ok {
				t.Fatalf("bound %q is not in the key form of %T", txt, lo)
			}
			if prev != nil && !less(prev, v) {
				t.Fatalf("bounds %q do not increase", out)
			}
			if less(v, floorTo(lo, lt)) || less(hi, v) {
				t.Fatalf("bound %q outside [%v, %v]", txt, lo, hi)
			}
			prev = v
		}
	})
}

// parseBound reads a bound back as the kind of lo.
func parseBound(txt string, lo any) (any, bool) {
	switch lo.(type) {
	case int64:
		n, err := strconv.ParseInt(txt, 10, 64)
		return n, err == nil
	case time.Time:
		return parseDateTimeText(txt)
	case Decimal:
		r, ok := new(big.Rat).SetString(txt)
		return r, ok
	case float64:
		f, err := strconv.ParseFloat(txt, 64)
		return f, err == nil
	}
	return nil, false
}

// floorTo is lo as a date column holds it: a bound of a date column is the
// day of a cut, which may fall before lo's instant on lo's own day.
func floorTo(lo any, lt LogicalType) any {
	if x, ok := lo.(time.Time); ok && lt == TypeNaiveDate {
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
	}
	return lo
}

func less(a, b any) bool {
	switch x := a.(type) {
	case int64:
		return x < b.(int64)
	case time.Time:
		return x.Before(b.(time.Time))
	case *big.Rat:
		return x.Cmp(asRat(b)) < 0
	case Decimal:
		return asRat(x).Cmp(asRat(b)) < 0
	case float64:
		return x < b.(float64)
	}
	return false
}

// asRat reads a Decimal (or passes a *big.Rat) as a rational.
func asRat(v any) *big.Rat {
	if r, ok := v.(*big.Rat); ok {
		return r
	}
	r, _ := new(big.Rat).SetString(string(v.(Decimal)))
	return r
}
