package jsonlsink

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/digits"
)

// encoder turns rows of one table into JSON lines. It holds the column keys,
// encoded once per Open, and scratch space reused from row to row.
type encoder struct {
	table string // "schema.table", for errors
	cols  []redshiftsync.Column
	// keys[i] is `"name":` of column i, preceded by ',' for i > 0.
	keys [][]byte
	// line is the scratch buffer of the line being encoded.
	line []byte
	// compact is scratch space for JSON values that must be compacted.
	compact bytes.Buffer
	// days[i] is the last date converted in column i, which the next row's
	// often is (timestamps in the order they were written): one cache a
	// column, as a row's dates and timestamps are mostly of different days
	// (one shared cache missed three times a row on bench.wide).
	days []civilDay
}

// civilDay caches civilFromDays of one day. Its zero value holds
// 1970-01-01, day 0, which is right.
type civilDay struct {
	days              int64
	year, month, mday int
}

// date returns civilFromDays(days).
func (c *civilDay) date(days int64) (year, month, day int) {
	if days != c.days || c.year == 0 {
		c.days = days
		c.year, c.month, c.mday = civilFromDays(days)
	}
	return c.year, c.month, c.mday
}

// setColumns encodes the column keys of table.
func (e *encoder) setColumns(table *redshiftsync.Table) {
	e.table = table.QualifiedName()
	e.cols = table.Columns
	e.keys = e.keys[:0]
	for i, c := range table.Columns {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = appendString(k, c.Name)
		e.keys = append(e.keys, append(k, ':'))
	}
	e.days = make([]civilDay, len(table.Columns))
}

// encodeRow encodes row as one line, '\n' included, into e.line and returns
// it. The result is valid until the next call.
func (e *encoder) encodeRow(row []any) ([]byte, error) {
	b, err := e.appendRow(e.line[:0], row)
	e.line = b
	if err != nil {
		return nil, err
	}
	return b, nil
}

// appendRow appends row as one line, '\n' included, to b. On an error it
// returns b as it was given: no partial line.
func (e *encoder) appendRow(b []byte, row []any) ([]byte, error) {
	if len(row) != len(e.cols) {
		return b, e.widthError(row)
	}
	start := len(b)
	b = append(b, '{')
	for i, v := range row {
		b = append(b, e.keys[i]...)
		var err error
		if b, err = e.appendValue(b, &e.cols[i], v, &e.days[i]); err != nil {
			return b[:start], err
		}
	}
	return append(b, '}', '\n'), nil
}

// appendValue appends the JSON encoding of v, a value of column c; day
// caches the column's last date (see civilDay).
func (e *encoder) appendValue(b []byte, c *redshiftsync.Column, v any, day *civilDay) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case redshiftsync.Decimal:
		return appendString(b, string(v)), nil
	case float64:
		return appendFloat(b, v), nil
	case string:
		return appendString(b, v), nil
	case []byte:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"'), nil
	case json.RawMessage:
		return e.appendJSON(b, v), nil
	case time.Time:
		switch c.Type {
		case redshiftsync.TypeNaiveDate:
			b = append(b, '"')
			b, _ = appendWallDate(b, v, day)
			return append(b, '"'), nil
		case redshiftsync.TypeNaiveDateTime:
			b = append(b, '"')
			b = appendDateTime(b, v, day)
			return append(b, '"'), nil
		case redshiftsync.TypeUTCDateTime:
			b = append(b, '"')
			b = appendDateTime(b, v.UTC(), day)
			return append(b, 'Z', '"'), nil
		}
		return b, e.timeError(c)
	}
	return b, e.typeError(c, v)
}

// check returns the error appendRow would return for row, without encoding
// it, and the bytes of text its strings, decimals, []byte and JSON values
// hold (what keeping row alive costs beyond its interface values). Write
// calls it on the caller's goroutine, so that a row the encoder goroutine
// could not encode fails the Write that delivered it.
func (e *encoder) check(row []any) (size int, err error) {
	if len(row) != len(e.cols) {
		return 0, e.widthError(row)
	}
	for i, v := range row {
		switch v := v.(type) {
		case nil, bool, int64, float64:
		case string:
			size += len(v)
		case redshiftsync.Decimal:
			size += len(v)
		case []byte:
			size += len(v)
		case json.RawMessage:
			size += len(v)
		case time.Time:
			switch e.cols[i].Type {
			case redshiftsync.TypeNaiveDate, redshiftsync.TypeNaiveDateTime, redshiftsync.TypeUTCDateTime:
			default:
				return 0, e.timeError(&e.cols[i])
			}
		default:
			return 0, e.typeError(&e.cols[i], v)
		}
	}
	return size, nil
}

// widthError is the error of a row whose length is not the table's.
func (e *encoder) widthError(row []any) error {
	return fmt.Errorf("jsonlsink: table %s: row has %d values, the table has %d columns",
		e.table, len(row), len(e.cols))
}

// timeError is the error of a time.Time value in column c, which is not a
// date or timestamp.
func (e *encoder) timeError(c *redshiftsync.Column) error {
	return fmt.Errorf("jsonlsink: table %s column %q: time.Time value in a %s column (want NAIVE_DATE, NAIVE_DATETIME or UTC_DATETIME)",
		e.table, c.Name, c.Type)
}

// typeError is the error of a value v of a Go type no logical type uses.
func (e *encoder) typeError(c *redshiftsync.Column, v any) error {
	return fmt.Errorf("jsonlsink: table %s column %q (%s): unsupported Go type %T", e.table, c.Name, c.Type, v)
}

// appendFloat appends f as the shortest JSON number that reads back to f, or
// as the string "NaN", "Infinity" or "-Infinity".
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// 'g' with the shortest precision gives "1e+21", "1e-07", "0.1", "-0":
	// all valid JSON numbers.
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendJSON appends raw as the JSON value it holds, compacted when it spans
// lines, or as a JSON string when it is not valid JSON.
func (e *encoder) appendJSON(b []byte, raw json.RawMessage) []byte {
	if !utf8.Valid(raw) {
		// Invalid UTF-8 can only sit inside strings of valid JSON, where
		// U+FFFD keeps the structure intact. Rare: the copy is fine.
		raw = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		// Valid JSON has raw line breaks only as insignificant space.
		e.compact.Reset()
		if err := json.Compact(&e.compact, raw); err == nil {
			return append(b, e.compact.Bytes()...)
		}
		return appendString(b, string(raw))
	}
	if json.Valid(raw) {
		return append(b, raw...)
	}
	return appendString(b, string(raw))
}

// appendDateTime appends the wall clock of t as
// "YYYY-MM-DDTHH:MM:SS.ffffff", with expanded years outside 1..9999.
//
// It computes the date and the clock from one count of seconds, where
// t.Date and t.Clock would each convert t on their own (the profile of a
// JSONL sync had this function at 4.7%): the seconds of the wall clock since
// 1970 (t.Unix plus the zone's offset, one zone look-up) give the day number
// and the second of the day; civilFromDays turns the day into the date.
func appendDateTime(b []byte, t time.Time, day *civilDay) []byte {
	b, sod := appendWallDate(b, t, day)
	hh, mm, ss := int(sod/3600), int(sod/60%60), int(sod%60)
	us := t.Nanosecond() / 1000
	return append(b, 'T',
		twoDigits[2*hh], twoDigits[2*hh+1], ':',
		twoDigits[2*mm], twoDigits[2*mm+1], ':',
		twoDigits[2*ss], twoDigits[2*ss+1], '.',
		twoDigits[2*(us/10000)], twoDigits[2*(us/10000)+1],
		twoDigits[2*(us/100%100)], twoDigits[2*(us/100%100)+1],
		twoDigits[2*(us%100)], twoDigits[2*(us%100)+1])
}

// appendWallDate appends the date of t's wall clock as appendDate does
// ("YYYY-MM-DD", expanded years outside 1..9999) and returns the second of
// the day, from one count of seconds (see appendDateTime): for a NAIVE_DATE
// it replaces t.Date, which converts t on its own. day remembers the last
// day converted.
func appendWallDate(b []byte, t time.Time, day *civilDay) ([]byte, int64) {
	_, off := t.Zone()
	sec := t.Unix() + int64(off)
	days, sod := sec/86400, sec%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	y, m, d := day.date(days)
	if y >= 1 && y <= 9999 {
		b = append(b, twoDigits[2*(y/100)], twoDigits[2*(y/100)+1], twoDigits[2*(y%100)], twoDigits[2*(y%100)+1], '-')
	} else {
		b = appendYear(b, y)
		b = append(b, '-')
	}
	return append(b, twoDigits[2*m], twoDigits[2*m+1], '-', twoDigits[2*d], twoDigits[2*d+1]), sod
}

// twoDigits holds "00" to "99": the two digits of n at [2n] and [2n+1].
const twoDigits = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// civilFromDays returns the proleptic Gregorian date of the day days after
// 1970-01-01 (negative before it), the year astronomical as Go's (0 is 1
// BC). It is Howard Hinnant's days_from_civil inverse
// (https://howardhinnant.github.io/date_algorithms.html#civil_from_days):
// eras of 400 years (146,097 days) starting on 1 March, so the leap day is
// the last day of its year.
func civilFromDays(days int64) (year, month, day int) {
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era-- // floor division
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], 0 is March
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = int(yoe + era*400)
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendDate appends "YYYY-MM-DD", the year in ISO 8601 expanded form
// ("+0000", "-0043", "+294276") when it is outside 1..9999. Go years are
// astronomical, like ISO 8601 ones: year 0 is 1 BC.
func appendDate(b []byte, y int, m time.Month, d int) []byte {
	b = appendYear(b, y)
	b = append(b, '-')
	b = digits.AppendPadded(b, int(m), 2)
	b = append(b, '-')
	return digits.AppendPadded(b, d, 2)
}

// appendYear appends y as four digits when it is in 1..9999, in ISO 8601
// expanded form ("+0000", "-0043", "+294276") otherwise.
func appendYear(b []byte, y int) []byte {
	switch {
	case y >= 1 && y <= 9999:
	case y < 0:
		b = append(b, '-')
		y = -y
	default:
		b = append(b, '+')
	}
	return digits.AppendPadded(b, y, 4)
}

// safeASCII[c] is true for the ASCII bytes a JSON string holds as they are:
// not '"', '\\', a control character or DEL. Bytes from 0x80 are false: they
// take the UTF-8 path.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// safe8 reports whether all 8 bytes of s (len(s) == 8) are safeASCII, testing
// them at once in a 64-bit word (the has-zero-byte and has-less-than tricks
// of https://graphics.stanford.edu/~seander/bithacks.html#HasLessInWord):
// a byte is unsafe when it is below 0x20, '"', '\\', 0x7f or from 0x80. A
// false answer only sends appendString to its byte-by-byte loop, which
// finds the byte; a true one is exact. It reads the text column of a
// typical table 8 bytes to a step instead of one (BENCHMARKS.md,
// "jsonlsink: session 4").
func safe8(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	q := x ^ lo*'"'
	bs := x ^ lo*'\\'
	// x+lo sets the high bit of a byte 0x7f..0xfe (and of 0xff's neighbour,
	// a carry that only repeats that 0xff, whose own high bit x has).
	return (x|(x+lo)|((x-lo*0x20)&^x)|((q-lo)&^q)|((bs-lo)&^bs))&hi == 0
}

// appendString appends s as a JSON string. The result is valid UTF-8: each
// byte of invalid UTF-8 in s becomes \ufffd. '"', '\\', control characters,
// U+2028 and U+2029 are escaped. Runs of bytes that need no escape (one
// table lookup each) are copied whole.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && safe8(s[i:i+8]) {
			i += 8
		}
		for i < len(s) && safeASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028', r == '\u2029', r >= 0x80 && r <= 0x9f:
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
