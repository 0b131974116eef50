package redshiftsync

import (
	"testing"
	"time"
)

func TestParseDateTimeText(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	good := []struct {
		in   string
		want time.Time
	}{
		{"2024-01-31", utc(2024, 1, 31, 0, 0, 0, 0)},
		{"2024-01-31 13:45:01", utc(2024, 1, 31, 13, 45, 1, 0)},
		{"2024-01-31 13:45:01.5", utc(2024, 1, 31, 13, 45, 1, 500_000_000)},
		{"2024-01-31 13:45:01.123456", utc(2024, 1, 31, 13, 45, 1, 123_456_000)},
		{"2024-01-31 13:45:01.123456+00", utc(2024, 1, 31, 13, 45, 1, 123_456_000)},
		{"2024-01-31 13:45:01+05:30", utc(2024, 1, 31, 8, 15, 1, 0)},
		{"2024-01-31 13:45:01-04:56:02", utc(2024, 1, 31, 18, 41, 3, 0)},
		{"0044-03-15 BC", utc(-43, 3, 15, 0, 0, 0, 0)},
		{"0001-01-01 00:00:00+00 BC", utc(0, 1, 1, 0, 0, 0, 0)},
		{"294276-12-31 23:59:59.999999", utc(294276, 12, 31, 23, 59, 59, 999_999_000)},
		{"5874897-12-31", utc(5874897, 12, 31, 0, 0, 0, 0)},
	}
	for _, c := range good {
		for _, v := range []any{c.in, []byte(c.in)} {
			got, ok := parseDateTimeText(v)
			if !ok || !got.Equal(c.want) || got.Location() != time.UTC {
				t.Errorf("parse %q (%T) = %v, %v; want %v", c.in, v, got, ok, c.want)
			}
		}
	}
	for _, bad := range []string{"infinity", "-infinity", "", "2024", "2024-1-31", "2024-13-01", "2024-02-30", "2024-01-31T13:45:01", "2024-01-31 13:45", "2024-01-31 13:45:01.", "2024-01-31 13:45:01 junk", "24-01-31"} {
		if got, ok := parseDateTimeText(bad); ok {
			t.Errorf("parse %q = %v, want not ok", bad, got)
		}
	}
	if _, ok := parseDateTimeText(42); ok {
		t.Error("an int parsed as a time")
	}
}

// FuzzParseDateTimeText: whatever the text, no panic, and what parses prints
// back (by keyText, as the server reads it) to text that parses to the same
// instant.
func FuzzParseDateTimeText(f *testing.F) {
	for _, s := range []string{"2024-01-31 13:45:01.123456+00", "0044-03-15 BC", "294276-12-31", "2024-01-31 13:45:01-04:56:02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDateTimeText(s)
		if !ok {
			return
		}
		again, ok := parseDateTimeText(timeText(got, TypeUTCDateTime))
		if !ok || !again.Equal(got.Truncate(time.Microsecond)) {
			t.Fatalf("%q -> %v -> %q -> %v", s, got, timeText(got, TypeUTCDateTime), again)
		}
	})
}

// TestDaysIn: the days of every month of the years around the calendar's
// rules (leap centuries, year 0 = 1 BC, BC years), as time.Date counts them.
func TestDaysIn(t *testing.T) {
	for _, y := range []int{-401, -400, -101, -100, -4, -1, 0, 1, 4, 100, 200, 400, 1900, 2000, 2023, 2024, 2100, 294276, 5874897} {
		for m := 1; m <= 12; m++ {
			want := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if got := daysIn(m, y); got != want {
				t.Errorf("daysIn(%d, %d) = %d, want %d", m, y, got, want)
			}
		}
	}
	for _, c := range []string{"2024-02-29", "2000-02-29", "0001-02-29 BC", "0005-02-29 BC"} {
		if _, ok := parseDateTimeText(c); !ok {
			t.Errorf("%s: not parsed", c)
		}
	}
	for _, c := range []string{"2023-02-29", "1900-02-29", "2024-04-31", "0002-02-29 BC"} {
		if _, ok := parseDateTimeText(c); ok {
			t.Errorf("%s: parsed", c)
		}
	}
}
