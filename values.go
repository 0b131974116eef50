// This file holds the row path's value handling: decoding what lib/pq hands
// over into each logical type's Go value, and the exact text form of key
// values kept in the state.

package redshiftsync

import (
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/pgtext"
)

// decoder turns one driver value of a column into the column's Go value.
// It is chosen once per column, so the row path does no type dispatch on the
// column's metadata.
type decoder func(v driver.Value) (any, error)

// decoderFor returns the decoder of c.
func decoderFor(c Column) decoder {
	switch c.Type {
	case TypeDecimal:
		return decodeDecimal
	case TypeNaiveDate:
		return decodeDate
	case TypeNaiveDateTime:
		return decodeNaiveTimestamp
	case TypeUTCDateTime:
		return decodeUTCTimestamp
	case TypeBinary:
		if st := strings.ToLower(c.SourceType); strings.HasPrefix(st, "varbyte") || strings.HasPrefix(st, "binary varying") || strings.HasPrefix(st, "varbinary") {
			return decodeHexBytes // Redshift prints VARBYTE as hex text
		}
		return decodeBytes
	case TypeJSON:
		return decodeJSON
	case TypeNaiveTime:
		return decodeTime
	case TypeTimeTZ:
		return decodeTimeTZ
	case TypeString, TypeInterval:
		return decodeString
	case TypeShort, TypeInt, TypeLong:
		return decodeInt
	case TypeFloat, TypeDouble:
		return decodeFloat
	case TypeBoolean:
		return decodeBool
	}
	return decodeString
}

// The decoders of integers, floats and booleans keep the value lib/pq
// decodes them into (int64; float64, NaN and the infinities included;
// bool), and parse the text lib/pq hands over for a type whose OID it does
// not know the same way, so the value has the one Go type whatever the path:
// never a string in an INT column.
var (
	decodeInt   = decodeScalar("integer", func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
	decodeFloat = decodeScalar("float", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	decodeBool  = decodeScalar("boolean", parseBoolText)
)

// decodeScalar returns the decoder that keeps NULL and a T as they are and
// parses text with parse, naming kind and the text when it fails.
func decodeScalar[T any](kind string, parse func(string) (T, error)) decoder {
	return func(v driver.Value) (any, error) {
		var s string
		switch x := v.(type) {
		case nil, T:
			return x, nil
		case []byte:
			s = string(x)
		case string:
			s = x
		default:
			return nil, unexpected(kind, v)
		}
		t, err := parse(s)
		if err != nil {
			return nil, unexpected(kind, s)
		}
		return t, nil
	}
}

// parseBoolText reads the server's text of a boolean: "t" / "f".
func parseBoolText(s string) (bool, error) {
	switch s {
	case "t", "true":
		return true, nil
	case "f", "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func decodeDecimal(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return Decimal(x), nil
	case string:
		return Decimal(x), nil
	case int64:
		return Decimal(strconv.FormatInt(x, 10)), nil
	}
	return nil, fmt.Errorf("decimal: unexpected %T", v)
}

func decodeString(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil // already boxed: no copy
	case []byte:
		return string(x), nil
	}
	return fmt.Sprint(v), nil
}

// decodeTime keeps a time of day as the server's text. The row path selects
// it as text already (see selectExpr); a time.Time arrives only from a query
// that does not, such as the max() of a high-water mark. lib/pq parses such a
// value into year 0, January 1, and 24:00:00 into January 2, 00:00:00, which
// must not read as midnight: a high-water mark of "00:00:00" would hide every
// row of the table.
func decodeTime(v driver.Value) (any, error) {
	if t, ok := v.(time.Time); ok {
		return clockText(t), nil
	}
	return decodeString(v)
}

// decodeTimeTZ is decodeTime for time with time zone: a time.Time keeps its
// offset, printed the server's way ("+02", "+05:30", "-08:01:01").
func decodeTimeTZ(v driver.Value) (any, error) {
	if t, ok := v.(time.Time); ok {
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		s := clockText(t) + string(sign) + fmt.Sprintf("%02d", off/3600)
		if off%3600 != 0 {
			s += fmt.Sprintf(":%02d", off%3600/60)
			if off%60 != 0 {
				s += fmt.Sprintf(":%02d", off%60)
			}
		}
		return s, nil
	}
	return decodeString(v)
}

// clockText prints the time of day of a time.Time that lib/pq parsed from a
// time or timetz value, with 24:00:00 (the day after lib/pq's year-0 date)
// kept.
func clockText(t time.Time) string {
	if t.Day() != 1 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "24:00:00"
	}
	return t.Format("15:04:05.999999")
}

func decodeBytes(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		// Never nil: an empty value is not SQL NULL, and a nil slice
		// would marshal as JSON null.
		return append(make([]byte, 0, len(x)), x...), nil
	case string:
		return append(make([]byte, 0, len(x)), x...), nil
	}
	return nil, fmt.Errorf("binary: unexpected %T", v)
}

func decodeHexBytes(v driver.Value) (any, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		s = string(x)
	case string:
		s = x
	default:
		return nil, fmt.Errorf("varbyte: unexpected %T", v)
	}
	s = strings.TrimPrefix(s, `\x`)
	b := make([]byte, hex.DecodedLen(len(s))) // never nil, as in decodeBytes
	if _, err := hex.Decode(b, []byte(s)); err != nil {
		return nil, fmt.Errorf("varbyte: not hex text: %w", err)
	}
	return b, nil
}

func decodeJSON(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return json.RawMessage(append([]byte(nil), x...)), nil
	case string:
		return json.RawMessage(x), nil
	}
	return nil, fmt.Errorf("json: unexpected %T", v)
}

// infinity returns "infinity" or "-infinity" for lib/pq's text of an
// infinite date or timestamp (lib/pq hands over []byte("infinity") unless the
// program called pq.EnableInfinityTs). Any other text is not a value the
// type can hold.
func infinity(v driver.Value) (any, bool) {
	var s string
	switch x := v.(type) {
	case []byte:
		s = string(x)
	case string:
		s = x
	default:
		return nil, false
	}
	if s != "infinity" && s != "-infinity" {
		return nil, false
	}
	return s, true
}

// decodeDateTimeText decodes what lib/pq hands over as text for a date or
// timestamp (kind, for the error): the server's ISO text or an infinity.
func decodeDateTimeText(kind string, v driver.Value) (any, error) {
	if t, ok := parseDateTimeText(v); ok {
		return t, nil
	}
	if s, ok := infinity(v); ok {
		return s, nil
	}
	return nil, unexpected(kind, v)
}

func decodeDate(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		if _, off := x.Zone(); off == 0 && x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.UTC(), nil // lib/pq's midnight at offset 0: same date, cheaper
		}
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	return decodeDateTimeText("date", v)
}

// decodeNaiveTimestamp keeps the wall clock as the server printed it, moved
// into the UTC location without shifting it.
func decodeNaiveTimestamp(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		if _, off := x.Zone(); off == 0 {
			return x.UTC(), nil // offset 0: the same wall clock, cheaper than rebuilding it
		}
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	}
	return decodeDateTimeText("timestamp", v)
}

func decodeUTCTimestamp(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		if x.Location() == time.UTC {
			return v, nil // already boxed: no copy
		}
		return x.UTC(), nil
	}
	return decodeDateTimeText("timestamptz", v)
}

// unexpected describes a driver value a decoder cannot take, quoting short
// text so that the error says what the server sent.
func unexpected(kind string, v driver.Value) error {
	switch x := v.(type) {
	case []byte:
		if len(x) <= 64 {
			return fmt.Errorf("%s: unexpected text %q", kind, x)
		}
	case string:
		if len(x) <= 64 {
			return fmt.Errorf("%s: unexpected text %q", kind, x)
		}
	}
	return fmt.Errorf("%s: unexpected %T", kind, v)
}

// keyText returns the exact text form of a decoded key value, which the
// server reads back to the same value when it is cast to the column's type.
func keyText(v any, lt LogicalType) (string, error) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return floatKeyText(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case Decimal:
		return decimalKeyText(x), nil
	case string:
		return x, nil
	case []byte:
		return pgtext.Bytea(x), nil
	case time.Time:
		return timeText(x, lt), nil
	}
	return "", fmt.Errorf("cannot use a %T value as a key", v)
}

// Key texts are canonical: two values that the server holds equal have the
// same text. Pages compare the texts of ordering tuples to find a tie group,
// and a tie group told apart by its texts alone would be cut in two, losing
// the rows between the halves.

// floatKeyText prints f exactly, in a form PostgreSQL and Redshift both
// read: -0 as 0 (they are equal), infinities as "Infinity" and "-Infinity"
// (Go's "+Inf" is not Redshift's input form).
func floatKeyText(f float64) string {
	if f == 0 {
		return "0"
	}
	return pgtext.Float(f)
}

// decimalKeyText drops the trailing fractional zeros of a decimal's text, so
// that 1.0 and 1.00 (equal in a numeric column without a scale) and -0.00 and
// 0 print the same. The value is unchanged: the text is read back as the
// column's type.
func decimalKeyText(d Decimal) string {
	s := string(d)
	if strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != '-' && r != '+' }) >= 0 {
		return s // NaN, Infinity: no digits to trim
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if strings.Trim(s, "+-0") == "" {
		return "0"
	}
	return s
}

// timeText prints t in PostgreSQL's ISO input form (see package pgtext),
// with BC years written the server's way ("0044-03-15 BC") and
// microseconds kept.
func timeText(t time.Time, lt LogicalType) string {
	switch lt {
	case TypeNaiveDate:
		return pgtext.Date(t)
	case TypeUTCDateTime:
		return pgtext.TimestampTZ(t)
	}
	return pgtext.Timestamp(t)
}

// daysIn returns the days of month (1-12) in year, of the proleptic
// Gregorian calendar both servers use (year 0 is 1 BC, a leap year). It
// checks a parsed date without time.Time.Day, which would compute the
// calendar date back from the instant just built.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseDateTimeText parses the server's ISO text of a date, timestamp or
// timestamptz (the session runs in UTC with ISO dates): "2024-01-31",
// "2024-01-31 13:45:01.123456", "2024-01-31 13:45:01+00", with years of
// any length and a " BC" suffix. The instant is returned in UTC; a naive
// timestamp's wall clock is kept as is. ok is false for any other text
// ("infinity", say), which the caller handles.
func parseDateTimeText(v any) (time.Time, bool) {
	switch x := v.(type) {
	case []byte:
		return parseDateTime(x)
	case string:
		return parseDateTime(x)
	}
	return time.Time{}, false
}

func parseDateTime[T string | []byte](b T) (time.Time, bool) {
	bc := false
	if n := len(b); n > 3 && string(b[n-3:]) == " BC" {
		bc, b = true, b[:n-3]
	}
	i := 0
	num := func(min, max int) (int, bool) {
		start, n := i, 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < max {
			n = n*10 + int(b[i]-'0')
			i++
		}
		return n, i-start >= min
	}
	sep := func(c byte) bool {
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	year, ok := num(4, 9)
	if !ok || !sep('-') {
		return time.Time{}, false
	}
	month, ok1 := num(2, 2)
	ok2 := sep('-')
	day, ok3 := num(2, 2)
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec, offset int
	if sep(' ') {
		var okh, okm, oks bool
		hour, okh = num(2, 2)
		if !okh || !sep(':') {
			return time.Time{}, false
		}
		minute, okm = num(2, 2)
		if !okm || !sep(':') {
			return time.Time{}, false
		}
		sec, oks = num(2, 2)
		if !oks {
			return time.Time{}, false
		}
		if sep('.') {
			start := i
			frac, okf := num(1, 9)
			if !okf {
				return time.Time{}, false
			}
			for d := i - start; d < 9; d++ {
				frac *= 10
			}
			nsec = frac
		}
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			i++
			oh, okoh := num(2, 2)
			if !okoh {
				return time.Time{}, false
			}
			offset = oh * 3600
			if sep(':') {
				om, _ := num(2, 2)
				offset += om * 60
				if sep(':') {
					os, _ := num(2, 2)
					offset += os
				}
			}
			offset *= sign
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	if bc {
		year = 1 - year
	}
	if day > daysIn(month, year) { // 2024-02-30 and the like: not what the server sends
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}
