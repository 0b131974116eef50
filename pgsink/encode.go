// This file holds the row path's value handling: the text that COPY is given
// for each Go value of a Batch.

package pgsink

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtext"
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
		return pgtext.Float(x), nil
	case redshiftsync.Decimal:
		return string(x), nil
	case time.Time:
		return timeText(x, lt)
	case []byte:
		if lt == redshiftsync.TypeJSON {
			return checkText(string(x))
		}
		return pgtext.Bytea(x), nil
	case json.RawMessage:
		if lt == redshiftsync.TypeBinary {
			return pgtext.Bytea(x), nil
		}
		return checkText(string(x))
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case float32:
		return pgtext.Float(float64(x)), nil
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

// timeText prints t for a column of type lt in PostgreSQL's ISO input form
// (see package pgtext): a date is t's calendar day, a naive timestamp t's
// wall clock (never shifted), a UTC timestamp the instant.
func timeText(t time.Time, lt redshiftsync.LogicalType) (any, error) {
	switch lt {
	case redshiftsync.TypeNaiveDate:
		return pgtext.Date(t), nil
	case redshiftsync.TypeNaiveDateTime:
		return pgtext.Timestamp(t), nil
	case redshiftsync.TypeUTCDateTime:
		return pgtext.TimestampTZ(t), nil
	case redshiftsync.TypeNaiveTime:
		return t.Format("15:04:05.999999"), nil
	case redshiftsync.TypeTimeTZ:
		return t.Format("15:04:05.999999-07:00"), nil
	case redshiftsync.TypeString:
		return t.Format(time.RFC3339Nano), nil
	}
	return nil, fmt.Errorf("cannot write a Go time.Time value into a %s column", lt)
}
