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
	case TypeString, TypeNaiveTime, TypeTimeTZ, TypeInterval:
		return decodeString
	}
	return decodeAsIs
}

// decodeAsIs keeps bool, int64 and float64 as lib/pq decoded them from
// their text form; a []byte (a type lib/pq does not decode) becomes a string.
func decodeAsIs(v driver.Value) (any, error) {
	if b, ok := v.([]byte); ok {
		return string(b), nil
	}
	return v, nil
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
		return x, nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.Format("15:04:05.999999"), nil
	}
	return fmt.Sprint(v), nil
}

func decodeBytes(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		return append([]byte(nil), x...), nil
	case string:
		return []byte(x), nil
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
	b, err := hex.DecodeString(s)
	if err != nil {
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
// infinite date or timestamp.
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
	return s, true
}

func decodeDate(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	if s, ok := infinity(v); ok {
		return s, nil
	}
	return nil, fmt.Errorf("date: unexpected %T", v)
}

// decodeNaiveTimestamp keeps the wall clock as the server printed it, moved
// into the UTC location without shifting it.
func decodeNaiveTimestamp(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	}
	if s, ok := infinity(v); ok {
		return s, nil
	}
	return nil, fmt.Errorf("timestamp: unexpected %T", v)
}

func decodeUTCTimestamp(v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return x.UTC(), nil
	}
	if s, ok := infinity(v); ok {
		return s, nil
	}
	return nil, fmt.Errorf("timestamptz: unexpected %T", v)
}

// keyText returns the exact text form of a decoded key value, which the
// server reads back to the same value when it is cast to the column's type.
func keyText(v any, lt LogicalType) (string, error) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case Decimal:
		return string(x), nil
	case string:
		return x, nil
	case []byte:
		return `\x` + hex.EncodeToString(x), nil
	case time.Time:
		return timeText(x, lt), nil
	}
	return "", fmt.Errorf("cannot use a %T value as a key", v)
}

// timeText prints t in PostgreSQL's ISO input form, with BC years written
// the server's way ("0044-03-15 BC") and microseconds kept.
func timeText(t time.Time, lt LogicalType) string {
	y, bc := t.Year(), ""
	if y <= 0 {
		y, bc = 1-y, " BC"
	}
	var s string
	switch lt {
	case TypeNaiveDate:
		s = fmt.Sprintf("%04d-%02d-%02d", y, t.Month(), t.Day())
	default:
		s = fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d", y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
		if lt == TypeUTCDateTime {
			s += "+00"
		}
	}
	return s + bc
}
