package pgtext_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/pgtext"
)

var (
	tokyo = time.FixedZone("JST", 9*3600)
	// times covers the forms: BC years (Go's year 0 is 1 BC), a year past
	// 9999, a fraction finer than a microsecond (truncated), a zone other
	// than UTC.
	times = []time.Time{
		time.Date(2024, 1, 31, 13, 45, 1, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(12345, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 7, 1, 8, 30, 0, 500, tokyo),
	}
	floats = []float64{0, math.Copysign(0, -1), 0.1, -2.5, 1e21, 1e-7, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
)

func TestTexts(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{pgtext.Date(times[0]), "2024-01-31"},
		{pgtext.Timestamp(times[0]), "2024-01-31 13:45:01.123456"},
		{pgtext.TimestampTZ(times[0]), "2024-01-31 13:45:01.123456+00"},
		{pgtext.Date(times[1]), "0001-01-01"},
		{pgtext.Date(times[2]), "0001-03-15 BC"},
		{pgtext.Timestamp(times[3]), "0044-03-15 12:00:00.000000 BC"},
		{pgtext.TimestampTZ(times[3]), "0044-03-15 12:00:00.000000+00 BC"},
		{pgtext.Timestamp(times[4]), "12345-12-31 23:59:59.999999"},
		// A naive timestamp is the wall clock; a timestamptz the instant.
		{pgtext.Timestamp(times[5]), "2024-07-01 08:30:00.000000"},
		{pgtext.TimestampTZ(times[5]), "2024-06-30 23:30:00.000000+00"},
		{pgtext.Float(0.1), "0.1"},
		{pgtext.Float(math.Copysign(0, -1)), "-0"},
		{pgtext.Float(1e21), "1e+21"},
		{pgtext.Float(math.Inf(1)), "Infinity"},
		{pgtext.Float(math.Inf(-1)), "-Infinity"},
		{pgtext.Float(math.NaN()), "NaN"},
		{pgtext.Bytea(nil), `\x`},
		{pgtext.Bytea([]byte{0, 0xab, 'z'}), `\x00ab7a`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestServerReadsBack: the server reads every text back to the value it
// was written from (to the microsecond).
func TestServerReadsBack(t *testing.T) {
	db, err := pgtest.Open(t).Conn(t.Context()) // one session, for its TimeZone
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Not UTC, so that a missing or wrong offset would show.
	if _, err := db.ExecContext(t.Context(), "SET TimeZone = 'America/New_York'"); err != nil {
		t.Fatal(err)
	}
	for _, want := range times {
		want = want.Truncate(time.Microsecond)
		var date, ts, tstz time.Time
		if err := db.QueryRowContext(t.Context(), "SELECT $1::date, $2::timestamp, $3::timestamptz",
			pgtext.Date(want), pgtext.Timestamp(want), pgtext.TimestampTZ(want)).Scan(&date, &ts, &tstz); err != nil {
			t.Fatalf("%v: %v", want, err)
		}
		y, m, d := want.Date()
		if gy, gm, gd := date.Date(); gy != y || gm != m || gd != d {
			t.Errorf("date %q read back as %v, want %d-%d-%d", pgtext.Date(want), date, y, m, d)
		}
		wall := time.Date(y, m, d, want.Hour(), want.Minute(), want.Second(), want.Nanosecond(), time.UTC)
		if !ts.Equal(wall) {
			t.Errorf("timestamp %q read back as %v, want %v", pgtext.Timestamp(want), ts, wall)
		}
		if !tstz.Equal(want) {
			t.Errorf("timestamptz %q read back as %v, want %v", pgtext.TimestampTZ(want), tstz, want)
		}
	}
	for _, want := range floats {
		var got float64
		if err := db.QueryRowContext(t.Context(), "SELECT $1::float8", pgtext.Float(want)).Scan(&got); err != nil {
			t.Fatalf("%v: %v", want, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("float8 %q read back as %v, want %v", pgtext.Float(want), got, want)
		}
	}
	want := []byte{0, 1, 0xfe, 0xff, '\\'}
	var got []byte
	// Through text: lib/pq would hand a bytea parameter over as bytes.
	if err := db.QueryRowContext(t.Context(), "SELECT $1::text::bytea", pgtext.Bytea(want)).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("bytea %q read back as %x, want %x", pgtext.Bytea(want), got, want)
	}
}
