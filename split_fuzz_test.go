package redshiftsync

import (
	"strconv"
	"testing"
	"time"
)

// FuzzSplitRange checks, for any pair of range ends of the kinds the
// decoders deliver (int64, time.Time, "infinity"/"-infinity", in any
// combination) and any number of ranges, that splitRange does not panic,
// and that the bounds it returns are fewer than n, strictly increasing, of
// the column's key form, and within [lo, hi]: partitions cover the range
// whatever the bounds, as long as they increase. The seed corpus, in
// testdata/fuzz/FuzzSplitRange, runs as a plain test.
func FuzzSplitRange(f *testing.F) {
	f.Add(uint8(0), int64(1), int64(100), 4)
	f.Add(uint8(1), int64(0), int64(86_400_000_000), 16)
	f.Add(uint8(2), int64(0), int64(1), 4)
	f.Add(uint8(3), int64(0), int64(1), 4)

	f.Fuzz(func(t *testing.T, kind uint8, a, b int64, n int) {
		lts := []LogicalType{TypeLong, TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime}
		lt := lts[int(kind>>4)%len(lts)]
		var lo, hi any
		switch kind % 6 {
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
	}
	return false
}
