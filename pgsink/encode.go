// This file holds the row path's value handling: the text that COPY is given
// for each Go value of a Batch.

package pgsink

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// encoder turns one value of a column into what the COPY statement is given:
// nil for NULL, else a string (or an int64) holding the value's exact text
// form, which lib/pq escapes for the COPY stream.
type encoder func(v any) (any, error)

// encoderFor returns the encoder of column c.
func encoderFor(c redshiftsync.Column) encoder {
	lt := c.Type
	return func(v any) (any, error) { return encodeValue(v, lt) }
}

// encodeValue returns the text form of v for a column of type lt. It accepts
// the Go value that redshiftsync documents for each logical type, and the
// strings "infinity" and "-infinity" for dates and timestamps; a string is
// taken as the value's text for any type.
func encodeValue(v any, lt redshiftsync.LogicalType) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return checkText(x)
	case int64:
		return x, nil
	case bool:
		if x {
			return "t", nil
		}
		return "f", nil
	case float64:
		return floatText(x), nil
	case redshiftsync.Decimal:
		return string(x), nil
	case time.Time:
		return timeText(x, lt)
	case []byte:
		if lt == redshiftsync.TypeJSON {
			return checkText(string(x))
		}
		return byteaText(x), nil
	case json.RawMessage:
		if lt == redshiftsync.TypeBinary {
			return byteaText(x), nil
		}
		return checkText(string(x))
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case float32:
		return floatText(float64(x)), nil
	}
	return nil, fmt.Errorf("cannot write a Go %T value into a %s column", v, lt)
}

// checkText refuses a string that PostgreSQL text cannot hold.
func checkText(s string) (any, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("the value holds a NUL byte, which PostgreSQL text cannot store")
	}
	return s, nil
}

// floatText prints f so that PostgreSQL reads back the same value: the
// shortest text that round-trips, or NaN, Infinity, -Infinity.
func floatText(f float64) string {
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

// byteaText is bytea's hex input form.
func byteaText(b []byte) string {
	out := make([]byte, 2+hex.EncodedLen(len(b)))
	out[0], out[1] = '\\', 'x'
	hex.Encode(out[2:], b)
	return string(out)
}

// timeText prints t for a column of type lt in PostgreSQL's ISO input form,
// to the microsecond (finer fractions are truncated), with BC years written
// the server's way ("0044-03-15 BC") and years past 9999 in full. A date
// is t's calendar day, a naive timestamp t's wall clock (never shifted), a
// UTC timestamp the instant, written in UTC.
func timeText(t time.Time, lt redshiftsync.LogicalType) (any, error) {
	switch lt {
	case redshiftsync.TypeNaiveDate, redshiftsync.TypeNaiveDateTime:
	case redshiftsync.TypeUTCDateTime:
		t = t.UTC()
	case redshiftsync.TypeNaiveTime:
		return t.Format("15:04:05.999999"), nil
	case redshiftsync.TypeTimeTZ:
		return t.Format("15:04:05.999999-07:00"), nil
	case redshiftsync.TypeString:
		return t.Format(time.RFC3339Nano), nil
	default:
		return nil, fmt.Errorf("cannot write a Go time.Time value into a %s column", lt)
	}
	b := make([]byte, 0, 40)
	y, bc := t.Year(), false
	if y <= 0 {
		y, bc = 1-y, true // astronomical year 0 is 1 BC
	}
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int(t.Month()), 2)
	b = append(b, '-')
	b = appendPadded(b, t.Day(), 2)
	if lt != redshiftsync.TypeNaiveDate {
		b = append(b, ' ')
		b = appendPadded(b, t.Hour(), 2)
		b = append(b, ':')
		b = appendPadded(b, t.Minute(), 2)
		b = append(b, ':')
		b = appendPadded(b, t.Second(), 2)
		b = append(b, '.')
		b = appendPadded(b, t.Nanosecond()/1000, 6)
		if lt == redshiftsync.TypeUTCDateTime {
			b = append(b, "+00"...)
		}
	}
	if bc {
		b = append(b, " BC"...)
	}
	return string(b), nil
}

// appendPadded appends n (>= 0) in decimal, zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	var digits [20]byte
	i := len(digits)
	for n >= 10 {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	digits[i] = byte('0' + n)
	for pad := width - (len(digits) - i); pad > 0; pad-- {
		b = append(b, '0')
	}
	return append(b, digits[i:]...)
}
