// This file holds the row path's select expressions and decoders: on
// PostgreSQL, dates, timestamps, doubles and text selected in their binary
// form (the type's send function), and every value built from a unit's
// valueAlloc.

package redshiftsync

import (
	"database/sql/driver"
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/lib/pq/oid"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// rowDecoder decodes one driver value of a column on the row path, taking
// the time.Time, Decimal and string values it builds from a.
type rowDecoder func(a *valueAlloc, v driver.Value) (any, error)

// pgSendFunc returns the function that selects c in its binary form on
// PostgreSQL, or "" for a column selected as selectExpr says.
//
// Why: lib/pq decodes each value of a text, varchar, double or timestamp
// column on its own (a string copied, a float or timestamp parsed), and the
// server prints dates, timestamps and doubles as text first. Selected
// through its send function, a value is a bytea, whose bytes lib/pq hands
// over as it read them when the query is prepared (every page after the
// first, which has parameters) and hex-decodes otherwise; the server does
// no formatting and the client no parsing (BENCHMARKS.md, "The read path:
// session 4"). The forms are PostgreSQL's binary protocol (its source,
// src/backend/utils/adt: date_send, timestamp_send, float8send, textsend):
//
//   - date: a big-endian int32 of days since 2000-01-01; its largest and
//     smallest values are infinity and -infinity;
//   - timestamp, timestamptz: a big-endian int64 of microseconds since
//     2000-01-01 00:00:00 (UTC for timestamptz; every server since 10 has
//     integer timestamps), with the same infinities at int64's ends;
//   - double precision: the IEEE 754 bits, big-endian (exact, as the text
//     the session's extra_float_digits asks for);
//   - text and varchar: the text's bytes in the client's encoding, as the
//     text form sends them. Not char(n), whose cast to text drops its
//     padding, nor a domain or any other type (its SourceType differs).
//
// Redshift has no send functions: its columns keep selectExpr.
func pgSendFunc(c Column) string {
	switch c.Type {
	case TypeNaiveDate:
		return "date_send"
	case TypeNaiveDateTime:
		return "timestamp_send"
	case TypeUTCDateTime:
		return "timestamptz_send"
	case TypeDouble:
		if sourceBase(c.SourceType) == "double precision" {
			return "float8send"
		}
	case TypeString:
		switch sourceBase(c.SourceType) {
		case "text", "character varying", "varchar":
			return "textsend"
		}
	}
	return ""
}

// sourceBase returns a catalog type without its modifier: "character
// varying" for "character varying(32)".
func sourceBase(sourceType string) string {
	t := strings.ToLower(strings.TrimSpace(sourceType))
	if i := strings.IndexByte(t, '('); i >= 0 && strings.HasSuffix(t, ")") {
		t = strings.TrimSpace(t[:i])
	}
	return t
}

// rowExpr returns the select-list expression of c on the row path (the
// pages and streams of a read shape, decoded by rowDecoderFor's decoders),
// in the binary form of pgSendFunc when binary is set.
//
// binary is set for a query with parameters only: lib/pq prepares such a
// query and asks for bytea results in binary, but sends one without
// parameters as a simple query, whose results are all text, where a bytea
// arrives hex-encoded (twice its bytes, for the server to encode and lib/pq
// to decode; a 1 MB text took twice as long under the race detector). Such
// a query (a table's first page, a stream without parameters) selects the
// text forms instead: a date or timestamp as VARCHAR, which lib/pq hands over
// as a string, never as the []byte of the binary form, so that the decoder
// tells the two apart by their Go type.
func rowExpr(c Column, dialect Dialect, binary bool) string {
	if dialect == DialectPostgres {
		if f := pgSendFunc(c); f != "" {
			q := sqlident.Quote(c.Name)
			switch {
			case binary:
				return f + "(" + q + ") AS " + q
			case c.Type == TypeNaiveDate || c.Type == TypeNaiveDateTime || c.Type == TypeUTCDateTime:
				return "CAST(" + q + " AS VARCHAR) AS " + q
			}
			return q
		}
	}
	return selectExpr(c, dialect)
}

// wireExpr returns the select-list expression of c on the row path when
// wire.go's reader reads the rows: a column of pgSendFunc by its name, its
// binary form asked for by format code, which is the send function's output
// without the bytea it is wrapped in and copied into again (PostgreSQL
// formats each value once: the ten columns of the benchmark's table took
// 2.9 s to COPY in binary, 3.6 s with the send functions in the select
// list).
func wireExpr(c Column, dialect Dialect) string {
	if dialect == DialectPostgres && pgSendFunc(c) != "" {
		return sqlident.Quote(c.Name)
	}
	return rowExpr(c, dialect, true)
}

// wireSendOID returns the type of c's result column whose binary form is
// pgSendFunc's, by which wire.go's reader hands it over as those bytes,
// for rowDecoderFor's decoder of that form; 0 for a column of no
// pgSendFunc. A result column of another type (a CAST to VARCHAR of a
// date, in a query selected otherwise) is read as any other.
func wireSendOID(c Column) oid.Oid {
	switch pgSendFunc(c) {
	case "date_send":
		return oid.T_date
	case "timestamp_send":
		return oid.T_timestamp
	case "timestamptz_send":
		return oid.T_timestamptz
	case "float8send":
		return oid.T_float8
	case "textsend":
		if sourceBase(c.SourceType) == "text" {
			return oid.T_text
		}
		return oid.T_varchar
	}
	return 0
}

// rowDecoderFor returns the row path's decoder of c, read as rowExpr
// selects it on dialect (either form). It returns the values decoderFor's
// decoder would return for the column selected as selectExpr says.
func rowDecoderFor(c Column, dialect Dialect) rowDecoder {
	var bin rowDecoder // the decoder of the binary form, a []byte
	if dialect == DialectPostgres {
		switch pgSendFunc(c) {
		case "date_send":
			bin = decodeDateSend
		case "timestamp_send", "timestamptz_send":
			bin = decodeTimestampSend
		case "float8send":
			bin = decodeFloat8Send
		}
	}
	text := textDecoderFor(c)
	if bin == nil {
		return text
	}
	return func(a *valueAlloc, v driver.Value) (any, error) {
		if _, ok := v.([]byte); ok {
			return bin(a, v)
		}
		return text(a, v)
	}
}

// textDecoderFor returns the row path's decoder of c selected as
// selectExpr says, or as text.
func textDecoderFor(c Column) rowDecoder {
	switch c.Type {
	case TypeDecimal:
		return rowDecimal
	case TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime:
		return rowDateTime(decoderFor(c))
	case TypeString, TypeInterval:
		return rowString
	}
	dec := decoderFor(c)
	return func(_ *valueAlloc, v driver.Value) (any, error) { return dec(v) }
}

// rowDecimal is decodeDecimal.
func rowDecimal(a *valueAlloc, v driver.Value) (any, error) {
	if b, ok := v.([]byte); ok {
		return a.decimal(b), nil
	}
	return decodeDecimal(v)
}

// rowString is decodeString.
func rowString(a *valueAlloc, v driver.Value) (any, error) {
	if b, ok := v.([]byte); ok {
		return a.string(b), nil
	}
	return decodeString(v)
}

// rowDateTime returns dec, the decoder of a date or timestamp column, with
// the server's text parsed here: decodeDate, decodeNaiveTimestamp and
// decodeUTCTimestamp all return parseDateTimeText's time for it.
func rowDateTime(dec decoder) rowDecoder {
	return func(a *valueAlloc, v driver.Value) (any, error) {
		var (
			t  time.Time
			ok bool
		)
		switch x := v.(type) {
		case []byte: // the text of a type lib/pq does not decode
			t, ok = parseDateTime(x)
		case string: // Redshift's VARCHAR
			t, ok = parseDateTime(x)
		}
		if ok {
			return a.time(t), nil
		}
		return dec(v)
	}
}

// pgEpoch is PostgreSQL's epoch of dates and timestamps, 2000-01-01 00:00:00
// UTC, in Unix seconds.
const pgEpoch = 946684800

// decodeDateSend decodes date_send's form (see pgSendFunc): midnight UTC of
// the date, or "infinity" / "-infinity".
func decodeDateSend(a *valueAlloc, v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if len(x) == 4 {
			switch d := int32(binary.BigEndian.Uint32(x)); d {
			case math.MaxInt32:
				return "infinity", nil
			case math.MinInt32:
				return "-infinity", nil
			default:
				return a.time(time.Unix(pgEpoch+int64(d)*86400, 0).UTC()), nil
			}
		}
	}
	return nil, unexpected("date", v)
}

// decodeTimestampSend decodes timestamp_send's and timestamptz_send's form
// (see pgSendFunc): the instant (a naive timestamp's wall clock) in UTC, or
// "infinity" / "-infinity".
func decodeTimestampSend(a *valueAlloc, v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if len(x) == 8 {
			switch us := int64(binary.BigEndian.Uint64(x)); us {
			case math.MaxInt64:
				return "infinity", nil
			case math.MinInt64:
				return "-infinity", nil
			default:
				sec, frac := us/1e6, us%1e6
				if frac < 0 {
					sec, frac = sec-1, frac+1e6
				}
				return a.time(time.Unix(pgEpoch+sec, frac*1000).UTC()), nil
			}
		}
	}
	return nil, unexpected("timestamp", v)
}

// decodeFloat8Send decodes float8send's form (see pgSendFunc).
func decodeFloat8Send(a *valueAlloc, v driver.Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if len(x) == 8 {
			return a.float(math.Float64frombits(binary.BigEndian.Uint64(x))), nil
		}
	}
	return nil, unexpected("float", v)
}
