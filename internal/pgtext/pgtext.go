// Package pgtext writes Go values in the text forms PostgreSQL (and
// Redshift) read back to the same value: the ISO date and timestamp forms
// with the server's BC suffix, float8's exact shortest form, bytea's hex
// form. The root package uses them for the key values it keeps in the state
// and casts in SQL, pgsink for the values it hands COPY: one writer, so the
// two cannot drift apart.
package pgtext

import (
	"encoding/hex"
	"math"
	"strconv"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/digits"
)

// Float returns the shortest text that reads back to f as a float8
// ("0.1", "1e+21", "-0"), or "NaN", "Infinity", "-Infinity" (Go's "+Inf"
// is not an input form the servers accept).
func Float(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Bytea returns b in bytea's hex input form: `\x` and two hex digits a byte.
func Bytea(b []byte) string {
	out := make([]byte, 2+hex.EncodedLen(len(b)))
	out[0], out[1] = '\\', 'x'
	hex.Encode(out[2:], b)
	return string(out)
}

// Date returns t's calendar day as "YYYY-MM-DD": "2024-01-31",
// "0044-03-15 BC" (Go's astronomical year 0 is 1 BC), "12345-01-01".
func Date(t time.Time) string {
	return string(appendDateTime(make([]byte, 0, 16), t, false, false))
}

// Timestamp returns t's wall clock (never shifted to another zone) to the
// microsecond, finer fractions truncated: "2024-01-31 13:45:01.123456",
// "0044-03-15 12:00:00.000000 BC".
func Timestamp(t time.Time) string {
	return string(appendDateTime(make([]byte, 0, 32), t, true, false))
}

// TimestampTZ returns the instant t, written in UTC, as Timestamp does with
// the offset "+00": "2024-01-31 13:45:01.123456+00". The server reads it
// back to the same instant whatever the session's TimeZone.
func TimestampTZ(t time.Time) string {
	return string(appendDateTime(make([]byte, 0, 40), t.UTC(), true, true))
}

// appendDateTime appends the date of t, its clock when clock is set, "+00"
// when utc is set, and " BC" for a year before 1, which is where the server
// puts it.
func appendDateTime(b []byte, t time.Time, clock, utc bool) []byte {
	y, bc := t.Year(), false
	if y <= 0 {
		y, bc = 1-y, true
	}
	b = digits.AppendPadded(b, y, 4)
	b = append(b, '-')
	b = digits.AppendPadded(b, int(t.Month()), 2)
	b = append(b, '-')
	b = digits.AppendPadded(b, t.Day(), 2)
	if clock {
		b = append(b, ' ')
		b = digits.AppendPadded(b, t.Hour(), 2)
		b = append(b, ':')
		b = digits.AppendPadded(b, t.Minute(), 2)
		b = append(b, ':')
		b = digits.AppendPadded(b, t.Second(), 2)
		b = append(b, '.')
		b = digits.AppendPadded(b, t.Nanosecond()/1000, 6)
		if utc {
			b = append(b, "+00"...)
		}
	}
	if bc {
		b = append(b, " BC"...)
	}
	return b
}
