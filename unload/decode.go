// This file holds the decoding of Parquet values into the Go value of each
// column's LogicalType, exactly as the SQL path (values.go) delivers it:
// which Parquet types each logical type accepts, and how each is converted.

package unload

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/seed2085993a/redshiftsync"
)

// decoder turns one non-NULL Parquet value of a column into its Go value.
// Byte arrays are copied: the value's bytes belong to a page that is reused.
type decoder func(v parquet.Value) (any, error)

// parquetType describes a Parquet column's type for errors, such as
// "INT64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))".
func parquetType(t parquet.Type) string {
	s := t.Kind().String()
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		s += " (" + lt.String() + ")"
	}
	return s
}

// decoderFor returns the decoder of column c whose Parquet type is t, or an
// error naming both when UNLOAD cannot have written c's type as t.
func decoderFor(c redshiftsync.Column, t parquet.Type) (decoder, error) {
	lt := logicalOf(t)
	kind := t.Kind()
	text := kind == parquet.ByteArray && lt.text
	bad := func() (decoder, error) {
		return nil, fmt.Errorf("column %q (%s, %s) arrives as Parquet %s, which does not carry it: cast it in the UNLOAD's SELECT (to VARCHAR) or read the table with the SQL path", c.Name, c.SourceType, c.Type, parquetType(t))
	}
	switch c.Type {
	case redshiftsync.TypeBoolean:
		switch {
		case kind == parquet.Boolean:
			return func(v parquet.Value) (any, error) { return v.Boolean(), nil }, nil
		case text:
			return decodeText(c, func(s string) (any, error) {
				switch s {
				case "t", "true":
					return true, nil
				case "f", "false":
					return false, nil
				}
				return nil, fmt.Errorf("not a boolean")
			}), nil
		}
	case redshiftsync.TypeShort, redshiftsync.TypeInt, redshiftsync.TypeLong:
		if lt.decimal != nil && lt.decimal.Scale != 0 {
			return bad()
		}
		switch {
		case kind == parquet.Int32:
			return func(v parquet.Value) (any, error) { return int64(v.Int32()), nil }, nil
		case kind == parquet.Int64 && (lt.integer == nil || lt.integer.IsSigned):
			return func(v parquet.Value) (any, error) { return v.Int64(), nil }, nil
		case text:
			return decodeText(c, func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) }), nil
		}
	case redshiftsync.TypeDecimal:
		return decimalDecoder(c, t, lt, text, bad)
	case redshiftsync.TypeFloat, redshiftsync.TypeDouble:
		// A REAL arrives as FLOAT and is widened exactly, as the SQL path
		// selects it on Redshift (CAST AS DOUBLE PRECISION).
		switch {
		case kind == parquet.Float:
			return func(v parquet.Value) (any, error) { return float64(v.Float()), nil }, nil
		case kind == parquet.Double:
			return func(v parquet.Value) (any, error) { return v.Double(), nil }, nil
		case text:
			return decodeText(c, func(s string) (any, error) { return strconv.ParseFloat(s, 64) }), nil
		}
	case redshiftsync.TypeNaiveDate:
		switch {
		case kind == parquet.Int32 && lt.date:
			return func(v parquet.Value) (any, error) {
				return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil
			}, nil
		case kind == parquet.Int32 || kind == parquet.Int64:
			if ts := lt.timestamp; ts != nil {
				// A date as a timestamp at midnight: its day.
				dec := timestampDecoder(kind, ts.Unit)
				return func(v parquet.Value) (any, error) {
					t := dec(v)
					return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
				}, nil
			}
		}
	case redshiftsync.TypeNaiveDateTime, redshiftsync.TypeUTCDateTime:
		// Both arrive as TIMESTAMP, with isAdjustedToUTC false for
		// TIMESTAMP and true for TIMESTAMPTZ: either way the stored
		// number is the wall clock (or instant) from the epoch, which
		// the SQL path delivers in the UTC location, never shifted.
		switch {
		case (kind == parquet.Int64 || kind == parquet.Int32) && lt.timestamp != nil:
			dec := timestampDecoder(kind, lt.timestamp.Unit)
			return func(v parquet.Value) (any, error) { return dec(v), nil }, nil
		case kind == parquet.Int96:
			// The legacy Impala/Spark timestamp: nanoseconds of the day
			// and a Julian day number.
			return func(v parquet.Value) (any, error) {
				i := v.Int96()
				nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
				day := int64(i[2])
				return time.Unix((day-2440588)*86400, nanos).UTC(), nil
			}, nil
		}
	case redshiftsync.TypeNaiveTime, redshiftsync.TypeTimeTZ:
		switch {
		case text:
			return decodeText(c, func(s string) (any, error) { return s, nil }), nil
		case lt.time != nil && (kind == parquet.Int32 || kind == parquet.Int64):
			// TIME is a time of day from midnight; TIMETZ is stored in
			// UTC and printed by Redshift with "+00".
			if c.Type == redshiftsync.TypeTimeTZ && !lt.time.IsAdjustedToUTC {
				return bad()
			}
			suffix := ""
			if c.Type == redshiftsync.TypeTimeTZ {
				suffix = "+00"
			}
			unit := unitNanos(lt.time.Unit)
			return func(v parquet.Value) (any, error) {
				var n int64
				if kind == parquet.Int32 {
					n = int64(v.Int32())
				} else {
					n = v.Int64()
				}
				return clockText(n*unit) + suffix, nil
			}, nil
		}
	case redshiftsync.TypeInterval:
		// Only the server's text of an interval is what the SQL path
		// delivers (its IntervalStyle): the SELECT casts it.
		if text {
			return decodeText(c, func(s string) (any, error) { return s, nil }), nil
		}
	case redshiftsync.TypeBinary:
		switch {
		case text:
			// Hexadecimal text, as Redshift prints VARBYTE and
			// PostgreSQL bytea ("\x" first).
			return decodeText(c, func(s string) (any, error) {
				s = strings.TrimPrefix(s, `\x`)
				b := make([]byte, hex.DecodedLen(len(s)))
				if _, err := hex.Decode(b, []byte(s)); err != nil {
					return nil, fmt.Errorf("not hexadecimal text")
				}
				return b, nil
			}), nil
		case kind == parquet.ByteArray || kind == parquet.FixedLenByteArray:
			return func(v parquet.Value) (any, error) {
				b := v.ByteArray()
				return append(make([]byte, 0, len(b)), b...), nil // never nil: empty is not NULL
			}, nil
		}
	case redshiftsync.TypeJSON:
		// SUPER arrives as JSON (or plain UTF8) text, delivered as it is.
		if kind == parquet.ByteArray {
			return func(v parquet.Value) (any, error) {
				return json.RawMessage(append([]byte(nil), v.ByteArray()...)), nil
			}, nil
		}
	default: // STRING, and any type the library does not know
		switch {
		case kind == parquet.ByteArray:
			if n := charLength(c); n > 0 {
				return func(v parquet.Value) (any, error) { return padChar(string(v.ByteArray()), n), nil }, nil
			}
			return func(v parquet.Value) (any, error) { return string(v.ByteArray()), nil }, nil
		case kind == parquet.FixedLenByteArray && lt.uuid:
			return func(v parquet.Value) (any, error) { return uuidText(v.ByteArray()), nil }, nil
		}
	}
	return bad()
}

// decodeText returns the decoder of a column that arrives as UTF8 text,
// parsed by parse; a failure names the column and quotes short text.
func decodeText(c redshiftsync.Column, parse func(string) (any, error)) decoder {
	return func(v parquet.Value) (any, error) {
		s := string(v.ByteArray())
		x, err := parse(s)
		if err != nil {
			if len(s) > 64 {
				s = s[:64] + "..."
			}
			return nil, fmt.Errorf("column %q (%s): text %q: %v", c.Name, c.Type, s, err)
		}
		return x, nil
	}
}

// decimalDecoder returns the decoder of a DECIMAL column: a Parquet
// DECIMAL(p,s) on INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY (the
// unscaled value, big-endian two's complement for the byte arrays),
// printed as the server prints numeric(p,s): exactly s fractional digits.
// A plain integer is the value itself, printed with the column's scale;
// text (a numeric without precision cast to VARCHAR) is kept as it is.
func decimalDecoder(c redshiftsync.Column, t parquet.Type, lt logical, text bool, bad func() (decoder, error)) (decoder, error) {
	kind := t.Kind()
	if text {
		return decodeText(c, func(s string) (any, error) { return redshiftsync.Decimal(s), nil }), nil
	}
	scale, unscaled := max(c.Scale, 0), false
	if lt.decimal != nil {
		scale, unscaled = int(lt.decimal.Scale), true
	}
	shift := func(digits string) string {
		if unscaled {
			return digits
		}
		return digits + strings.Repeat("0", scale)
	}
	switch kind {
	case parquet.Int32:
		return func(v parquet.Value) (any, error) {
			return redshiftsync.Decimal(formatDecimal(shift(strconv.FormatInt(int64(v.Int32()), 10)), scale)), nil
		}, nil
	case parquet.Int64:
		return func(v parquet.Value) (any, error) {
			return redshiftsync.Decimal(formatDecimal(shift(strconv.FormatInt(v.Int64(), 10)), scale)), nil
		}, nil
	case parquet.FixedLenByteArray, parquet.ByteArray:
		if !unscaled {
			return bad()
		}
		return func(v parquet.Value) (any, error) {
			return redshiftsync.Decimal(formatDecimal(unscaledText(v.ByteArray()), scale)), nil
		}, nil
	}
	return bad()
}

// unscaledText prints a big-endian two's complement integer in base 10.
func unscaledText(b []byte) string {
	if len(b) == 0 {
		return "0"
	}
	if len(b) <= 8 {
		var u uint64
		for _, x := range b {
			u = u<<8 | uint64(x)
		}
		if shift := 64 - 8*len(b); shift > 0 {
			return strconv.FormatInt(int64(u<<shift)>>shift, 10) // sign-extended
		}
		return strconv.FormatInt(int64(u), 10)
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.String()
}

// formatDecimal places the decimal point of the unscaled integer text
// digits ("-12345") for scale (2: "-123.45"), with a zero before the point
// and exactly scale fractional digits ("0.05", "0.00"), as PostgreSQL and
// Redshift print numeric. A negative scale (PostgreSQL 15's numeric(p,-s))
// multiplies by ten to the -scale.
func formatDecimal(digits string, scale int) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	switch {
	case scale < 0:
		if digits != "0" {
			digits += strings.Repeat("0", -scale)
		}
	case scale > 0:
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg && strings.Trim(digits, "0.") != "" {
		return "-" + digits
	}
	return digits
}

// logical is what decoding needs of a Parquet column's logical type.
type logical struct {
	text      bool // STRING (UTF8), JSON or ENUM: UTF-8 text
	date      bool
	uuid      bool
	decimal   *format.DecimalType
	integer   *format.IntType
	time      *format.TimeType
	timestamp *format.TimestampType
}

func logicalOf(t parquet.Type) logical {
	var l logical
	lt := t.LogicalType()
	if lt == nil {
		return l
	}
	switch x := lt.Value.(type) {
	case *format.StringType, *format.JsonType, *format.EnumType:
		l.text = true
	case *format.DateType:
		l.date = true
	case *format.UUIDType:
		l.uuid = true
	case *format.DecimalType:
		l.decimal = x
	case *format.IntType:
		l.integer = x
	case *format.TimeType:
		l.time = x
	case *format.TimestampType:
		l.timestamp = x
	}
	return l
}

// unitNanos returns the nanoseconds of one tick of a Parquet time unit.
func unitNanos(u format.TimeUnit) int64 {
	if u.Value == nil {
		return 1e3
	}
	return int64(u.Value.Duration())
}

// timestampDecoder returns the time of a TIMESTAMP value of unit, in UTC.
func timestampDecoder(kind parquet.Kind, u format.TimeUnit) func(parquet.Value) time.Time {
	raw := func(v parquet.Value) int64 { return v.Int64() }
	if kind == parquet.Int32 {
		raw = func(v parquet.Value) int64 { return int64(v.Int32()) }
	}
	switch unitNanos(u) {
	case 1e6:
		return func(v parquet.Value) time.Time { return time.UnixMilli(raw(v)).UTC() }
	case 1:
		return func(v parquet.Value) time.Time { return time.Unix(0, raw(v)).UTC() }
	}
	return func(v parquet.Value) time.Time { return time.UnixMicro(raw(v)).UTC() }
}

// clockText prints a time of day given in nanoseconds from midnight as the
// server does ("15:04:05", "15:04:05.5", "24:00:00"), to microseconds.
func clockText(n int64) string {
	if n < 0 || n > 24*int64(time.Hour) {
		return strconv.FormatInt(n, 10) // not a time of day: shown as it is
	}
	us := n / 1e3
	s := fmt.Sprintf("%02d:%02d:%02d", us/3600e6, us/60e6%60, us/1e6%60)
	if frac := us % 1e6; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
	}
	return s
}

// charLength returns the declared length of a blank-padded character
// column (char(n), character(n), nchar(n), bpchar(n)), whose values the
// SQL path delivers padded to n, or 0 for any other column.
func charLength(c redshiftsync.Column) int {
	if c.Length <= 0 {
		return 0
	}
	st := strings.ToLower(strings.TrimSpace(c.SourceType))
	base, _, _ := strings.Cut(st, "(")
	switch strings.TrimSpace(base) {
	case "character", "char", "bpchar", "nchar":
		return c.Length
	}
	return 0
}

// padChar pads s with blanks to n characters, as the server prints a
// char(n) value (Parquet may carry it without its trailing blanks).
func padChar(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// uuidText prints 16 bytes as PostgreSQL prints a uuid.
func uuidText(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// valueBytes estimates the memory of a decoded value, as the extractor's
// batches count it (16 bytes per value plus the bytes of text).
func valueBytes(v any) int64 {
	switch x := v.(type) {
	case string:
		return 16 + int64(len(x))
	case []byte:
		return 16 + int64(len(x))
	case redshiftsync.Decimal:
		return 16 + int64(len(x))
	case json.RawMessage:
		return 16 + int64(len(x))
	}
	return 16
}
