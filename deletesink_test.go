package redshiftsync_test

import (
	"testing"
	"time"

	rs "github.com/seed2085993a/redshiftsync"
)

func TestCompareKeys(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		a, b rs.Key
		want int
	}{
		{rs.Key{int64(1)}, rs.Key{int64(2)}, -1},
		{rs.Key{int64(2), "b"}, rs.Key{int64(2), "a"}, 1},
		{rs.Key{"B"}, rs.Key{"a"}, -1},  // bytewise: upper case first
		{rs.Key{"_x"}, rs.Key{"a"}, -1}, // '_' (0x5f) < 'a'
		{rs.Key{"é"}, rs.Key{"z"}, 1},   // multi-byte UTF-8 after ASCII
		{rs.Key{rs.Decimal("10.5")}, rs.Key{rs.Decimal("9.75")}, 1},
		{rs.Key{rs.Decimal("-1")}, rs.Key{rs.Decimal("-1.000")}, 0},
		{rs.Key{rs.Decimal("NaN")}, rs.Key{rs.Decimal("1e30")}, 1},
		{rs.Key{day(2)}, rs.Key{day(1)}, 1},
		{rs.Key{[]byte{0, 1}}, rs.Key{[]byte{0, 2}}, -1},
		{rs.Key{1.5}, rs.Key{-2.0}, 1},
		{rs.Key{true}, rs.Key{false}, 1},
	}
	for _, c := range cases {
		if got := rs.CompareKeys(c.a, c.b); got != c.want {
			t.Errorf("CompareKeys(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := rs.CompareKeys(c.b, c.a); got != -c.want {
			t.Errorf("CompareKeys(%v, %v) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
	r := rs.KeyRange{Lower: rs.Key{int64(10)}, Upper: rs.Key{int64(20)}}
	for k, want := range map[int64]bool{9: false, 10: true, 19: true, 20: false} {
		if got := r.Contains(rs.Key{k}); got != want {
			t.Errorf("%v.Contains(%d) = %v, want %v", r, k, got, want)
		}
	}
	if !(rs.KeyRange{}).Contains(rs.Key{"anything"}) {
		t.Error("an open range holds every key")
	}
}
