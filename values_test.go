package redshiftsync_test

// Lossless types, end to end: one table per type family, filled with edge
// values, synced by the Extractor into a memSink, then compared value by
// value with what the source holds, read back through queries of their own
// (to_char, encode, ::text under extra_float_digits=3), never through the
// library's code. The database has hostile defaults (a time zone with DST,
// DateStyle SQL/DMY, bytea_output escape, extra_float_digits 0): the
// library's session settings must make them irrelevant.

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// typeTables creates the tables of every type family in schema.
const typeTables = `
CREATE TYPE %[1]s.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN %[1]s.day AS date;
CREATE DOMAIN %[1]s.money2 AS numeric(10,2);
CREATE DOMAIN %[1]s.money3 AS %[1]s.money2 CHECK (VALUE > -100000);
CREATE DOMAIN %[1]s.blob AS bytea;

CREATE TABLE %[1]s.ints (id int PRIMARY KEY, s smallint, i integer, b bigint);
INSERT INTO %[1]s.ints VALUES
	(1, -32768, -2147483648, -9223372036854775808),
	(2, 32767, 2147483647, 9223372036854775807),
	(3, 0, 0, 0),
	(4, NULL, NULL, NULL);

CREATE TABLE %[1]s.nums (id int PRIMARY KEY, a numeric(38,0), b numeric(38,10), c numeric, d numeric(5,2));
INSERT INTO %[1]s.nums VALUES
	(1, 99999999999999999999999999999999999999, 9999999999999999999999999999.9999999999, ('1' || repeat('0', 1000))::numeric, 999.99),
	(2, -99999999999999999999999999999999999999, -0.0000000001, ('0.' || repeat('0', 1000) || '1')::numeric, -999.99),
	(3, 0, 0, 'NaN', 0),
	(4, 12345678901234567890123456789012345678, 1234567890123456789012345678.0123456789, 1.50, 1.5),
	(5, NULL, NULL, NULL, NULL),
	(6, 1, 1, 'Infinity', NULL),
	(7, -1, -1, '-Infinity', NULL),
	(8, 0, 0, -0.000, NULL);

CREATE TABLE %[1]s.floats (id int PRIMARY KEY, r real, d double precision);
INSERT INTO %[1]s.floats VALUES
	(1, 'NaN', 'NaN'),
	(2, 'Infinity', 'Infinity'),
	(3, '-Infinity', '-Infinity'),
	(4, '-0', '-0'),
	(5, 1.4e-45, 5e-324),
	(6, 3.4028235e38, 1.7976931348623157e308),
	(7, 0.1, 0.1),
	(8, 1.17549435e-38, 2.2250738585072014e-308),
	(9, 123456.79, 1234567890.123456789),
	(10, NULL, NULL),
	(11, 16777217, 0.30000000000000004),
	(12, -3.1415927, 9007199254740993);

CREATE TABLE %[1]s.bools (id int PRIMARY KEY, b boolean);
INSERT INTO %[1]s.bools VALUES (1, true), (2, false), (3, NULL);

CREATE TABLE %[1]s.strs (id int PRIMARY KEY, c char(5), v varchar, t text);
INSERT INTO %[1]s.strs VALUES
	(1, 'ab', '', 'x'),
	(2, NULL, NULL, NULL),
	(3, 'é中😀', '😀👍🏽 漢字かな', E'e\u0301 combining, ﬁ ligature, \u200b zero width'),
	(4, E'\t\n\x01', E'tab\there\nnew\r\x01\x1f\x7f', E'back\\slash ''single'' "double" ; -- $1'),
	(5, '     ', '  padded  ', repeat('0123456789abcdef', 4096)),
	(6, 'abcde', repeat('é', 40000), 'NULL');

CREATE TABLE %[1]s.dates (id int PRIMARY KEY, d date);
INSERT INTO %[1]s.dates VALUES
	(1, '0044-03-15 BC'), (2, '5874897-12-31'), (3, 'infinity'), (4, '-infinity'),
	(5, '4713-01-01 BC'), (6, '2000-02-29'), (7, '1970-01-01'), (8, NULL), (9, '0001-01-01');

CREATE TABLE %[1]s.stamps (id int PRIMARY KEY, ts timestamp, tz timestamptz);
INSERT INTO %[1]s.stamps VALUES
	(1, '2024-03-10 02:30:00.123456', '2024-03-10 07:30:00.123456+00'),
	(2, '2024-11-03 01:30:00', '2024-11-03 05:30:00.5+00'),
	(3, '0044-03-15 12:00:00.000001 BC', '0044-03-15 12:00:00.000001+00 BC'),
	(4, '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00'),
	(5, '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC'),
	(6, 'infinity', 'infinity'),
	(7, '-infinity', '-infinity'),
	(8, '1970-01-01 00:00:00', '1970-01-01 00:00:00+00'),
	(9, '1883-11-18 12:00:00', '1883-11-18 16:59:59.999999+00'),
	(10, NULL, NULL),
	(11, '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00+14');

CREATE TABLE %[1]s.times (id int PRIMARY KEY, t time, tz timetz);
INSERT INTO %[1]s.times VALUES
	(1, '00:00:00', '00:00:00+00'),
	(2, '24:00:00', '24:00:00-15:59'),
	(3, '23:59:59.999999', '23:59:59.999999+15:59'),
	(4, '12:34:56.5', '12:00:00+05:30'),
	(5, NULL, NULL),
	(6, '00:00:00.000001', '12:00:00-08:01:01');

CREATE TABLE %[1]s.intervals (id int PRIMARY KEY, i interval, ym interval year to month, ds interval day to second(6));
INSERT INTO %[1]s.intervals VALUES
	(1, '1 year 2 mons 3 days 04:05:06.789012', '1 year 2 months', '3 days 04:05:06.123456'),
	(2, '-1 year +2 mons -3 days', '-5 months', '-00:00:00.000001'),
	(3, '0', '0', '0'),
	(4, '178000000 years', '-178000000 years', '1 day -1 microsecond'),
	(5, NULL, NULL, NULL);

CREATE TABLE %[1]s.bins (id int PRIMARY KEY, b bytea);
INSERT INTO %[1]s.bins VALUES (1, ''), (2, NULL), (3, '\x00'), (4, E'\\xdeadbeef');
INSERT INTO %[1]s.bins SELECT 5, decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 255) i;

CREATE TABLE %[1]s.jsons (id int PRIMARY KEY, j json, jb jsonb);
INSERT INTO %[1]s.jsons VALUES
	(1, '{"a":1,"b":[1,2,{"c":null}]}', '{"a":1,"b":[1,2,{"c":null}]}'),
	(2, '[1,"two",3.0e10]', '[1,"two",3.0e10]'),
	(3, '"scalar string"', '"scalar string"'),
	(4, '42', '42'),
	(5, 'true', 'false'),
	(6, 'null', 'null'),
	(7, NULL, NULL),
	(8, '{"u":"\u00e9\ud83d\ude00 \"q\" \\"}', '{"u":"\u00e9\ud83d\ude00 \"q\" \\"}'),
	(9, '{"big":123456789012345678901234567890.000000000000000000001}', '{"big":123456789012345678901234567890.000000000000000000001}'),
	(10, '  {"spaces" :  1 ,"dup":1,"dup":2}  ', '{"spaces" :  1 ,"dup":1,"dup":2}');

CREATE TABLE %[1]s.misc (id int PRIMARY KEY, u uuid, ai int[], at text[], tv tsvector);
INSERT INTO %[1]s.misc VALUES
	(1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,NULL,-3}', '{"a b","c,d","\"q\"",NULL,""}', 'fat cat:3 rat'),
	(2, '00000000-0000-0000-0000-000000000000', '{}', '{}', ''),
	(3, NULL, '{{1,2},{3,4}}', NULL, NULL);

CREATE TABLE %[1]s.unknowns (id int PRIMARY KEY, e %[1]s.mood, p point, r int4range);
INSERT INTO %[1]s.unknowns VALUES (1, 'happy', '(1.5,-2)', '[1,10)'), (2, NULL, NULL, 'empty'), (3, 'sad', '(0,0)', NULL);

CREATE TABLE %[1]s.domains (id int PRIMARY KEY, d %[1]s.day, m %[1]s.money3, b %[1]s.blob);
INSERT INTO %[1]s.domains VALUES (1, '0044-03-15 BC', 12345678.90, '\x00ff'), (2, 'infinity', -0.01, ''), (3, NULL, NULL, NULL);
`

// check compares one sink value with the source's independent text of it.
type check func(want string, got any) error

// typeColumn is one column of a type family and how to verify it: expr is an
// SQL expression over the column (written %s) that yields the source's text.
type typeColumn struct {
	table, column, expr string
	check               check
}

func typeColumns() []typeColumn {
	text := "%s::text"
	stamp := "CASE WHEN isfinite(%[1]s) THEN to_char(%[1]s, 'YYYY-MM-DD HH24:MI:SS.US BC') ELSE %[1]s::text END"
	utcStamp := "CASE WHEN isfinite(%[1]s) THEN to_char(%[1]s AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US BC') ELSE %[1]s::text END"
	date := "%s::text" // to_char would go through timestamp, whose range is smaller
	strHex := "CASE WHEN %[1]s IS NOT NULL THEN encode(convert_to(format('%%s', %[1]s), 'UTF8'), 'hex') END"
	return []typeColumn{
		{"ints", "s", text, checkInt},
		{"ints", "i", text, checkInt},
		{"ints", "b", text, checkInt},
		{"nums", "a", text, checkDecimal},
		{"nums", "b", text, checkDecimal},
		{"nums", "c", text, checkDecimal},
		{"nums", "d", text, checkDecimal},
		{"floats", "r", text, checkFloat(32)},
		{"floats", "d", text, checkFloat(64)},
		{"bools", "b", text, checkBool},
		{"strs", "c", strHex, checkStringHex},
		{"strs", "v", strHex, checkStringHex},
		{"strs", "t", strHex, checkStringHex},
		{"dates", "d", date, checkTime(false)},
		{"stamps", "ts", stamp, checkTime(true)},
		{"stamps", "tz", utcStamp, checkTime(true)},
		{"times", "t", text, checkString},
		{"times", "tz", text, checkString},
		{"intervals", "i", text, checkInterval},
		{"intervals", "ym", text, checkInterval},
		{"intervals", "ds", text, checkInterval},
		{"bins", "b", "encode(%s, 'hex')", checkBytes},
		{"jsons", "j", text, checkJSON},
		{"jsons", "jb", text, checkJSON},
		{"misc", "u", text, checkString},
		{"misc", "ai", text, checkString},
		{"misc", "at", text, checkString},
		{"misc", "tv", text, checkString},
		{"unknowns", "e", text, checkString},
		{"unknowns", "p", text, checkString},
		{"unknowns", "r", text, checkString},
		{"domains", "d", date, checkTime(false)},
		{"domains", "m", text, checkDecimal},
		{"domains", "b", "encode(%s, 'hex')", checkBytes},
	}
}

func checkInt(want string, got any) error {
	v, ok := got.(int64)
	if !ok {
		return fmt.Errorf("got %T, want int64", got)
	}
	if s := strconv.FormatInt(v, 10); s != want {
		return fmt.Errorf("got %s", s)
	}
	return nil
}

func checkDecimal(want string, got any) error {
	v, ok := got.(redshiftsync.Decimal)
	if !ok {
		return fmt.Errorf("got %T, want Decimal", got)
	}
	if string(v) != want {
		return fmt.Errorf("got %.80q", v)
	}
	// The JSON form is a string, which no JSON reader rounds.
	b, err := json.Marshal(v)
	if err != nil || string(b) != strconv.Quote(want) {
		return fmt.Errorf("JSON form %s, %v", b, err)
	}
	return nil
}

// checkFloat compares bit for bit: want is the server's shortest exact text
// (extra_float_digits=3), which parses to exactly the stored value. A real
// arrives as the float64 that lib/pq parses from the same text; converted
// back to float32 it must be the stored real.
func checkFloat(bits int) check {
	return func(want string, got any) error {
		v, ok := got.(float64)
		if !ok {
			return fmt.Errorf("got %T, want float64", got)
		}
		w, err := strconv.ParseFloat(want, 64)
		if err != nil {
			return err
		}
		if math.IsNaN(w) {
			if !math.IsNaN(v) {
				return fmt.Errorf("got %v, want NaN", v)
			}
			return nil
		}
		if math.Float64bits(v) != math.Float64bits(w) {
			return fmt.Errorf("got %s (bits %x), want bits %x", strconv.FormatFloat(v, 'g', -1, 64), math.Float64bits(v), math.Float64bits(w))
		}
		if bits == 32 {
			w32, err := strconv.ParseFloat(want, 32)
			if err != nil {
				return err
			}
			if math.Float32bits(float32(v)) != math.Float32bits(float32(w32)) {
				return fmt.Errorf("as float32: got %v, want %v", float32(v), float32(w32))
			}
			if s := strconv.FormatFloat(v, 'g', -1, 32); !sameFloatText(s, want) {
				return fmt.Errorf("shortest float32 text %s, server %s", s, want)
			}
			return nil
		}
		if s := strconv.FormatFloat(v, 'g', -1, 64); !sameFloatText(s, want) {
			return fmt.Errorf("shortest text %s, server %s", s, want)
		}
		return nil
	}
}

// sameFloatText reports whether Go's 'g' text and PostgreSQL's text of a
// float write the same significant digits at the same decimal exponent: they
// may differ in notation only (Go writes 1.234567e+06 where PostgreSQL
// writes 1234567, and +Inf where it writes Infinity).
func sameFloatText(goText, pgText string) bool {
	special := map[string]string{"+Inf": "Infinity", "-Inf": "-Infinity", "NaN": "NaN"}
	if sp, ok := special[goText]; ok {
		return sp == pgText
	}
	gd, ge, gneg := sigDigits(goText)
	pd, pe, pneg := sigDigits(pgText)
	return gd == pd && ge == pe && gneg == pneg
}

// sigDigits returns the significant digits of a decimal text, the decimal
// exponent of the first of them, and the sign.
func sigDigits(s string) (digits string, exp int, neg bool) {
	s = strings.ToLower(s)
	neg = strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	mant, e, _ := strings.Cut(s, "e")
	if e != "" {
		exp, _ = strconv.Atoi(e)
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	all := intPart + frac
	lz := len(all) - len(strings.TrimLeft(all, "0"))
	digits = strings.TrimRight(all[lz:], "0")
	if digits == "" {
		return "0", 0, neg
	}
	return digits, len(intPart) - lz - 1 + exp, neg
}

func checkBool(want string, got any) error {
	v, ok := got.(bool)
	if !ok {
		return fmt.Errorf("got %T, want bool", got)
	}
	if strconv.FormatBool(v) != want {
		return fmt.Errorf("got %v", v)
	}
	return nil
}

func checkString(want string, got any) error {
	v, ok := got.(string)
	if !ok {
		return fmt.Errorf("got %T, want string", got)
	}
	if v != want {
		return fmt.Errorf("got %.80q", v)
	}
	return nil
}

func checkStringHex(want string, got any) error {
	v, ok := got.(string)
	if !ok {
		return fmt.Errorf("got %T, want string", got)
	}
	if h := hex.EncodeToString([]byte(v)); h != want {
		return fmt.Errorf("got %.80q (%d bytes), want %d bytes", v, len(v), len(want)/2)
	}
	return nil
}

// checkInterval compares the server's text, and reads the sink's text back
// as an interval (below, in the test) to prove it is a valid input form.
func checkInterval(want string, got any) error { return checkString(want, got) }

func checkBytes(want string, got any) error {
	v, ok := got.([]byte)
	if !ok {
		return fmt.Errorf("got %T, want []byte", got)
	}
	if v == nil {
		return fmt.Errorf("got a nil []byte for a non-NULL value (JSON would write null)")
	}
	if h := hex.EncodeToString(v); h != want {
		return fmt.Errorf("got %x", v)
	}
	return nil
}

func checkJSON(want string, got any) error {
	v, ok := got.(json.RawMessage)
	if !ok {
		return fmt.Errorf("got %T, want json.RawMessage", got)
	}
	if string(v) != want {
		return fmt.Errorf("got %q", v)
	}
	// Raw, never re-encoded: marshalling the value gives the JSON itself,
	// not a JSON string holding it.
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		return err
	}
	if _, isString := back.(string); isString && !strings.HasPrefix(strings.TrimSpace(want), `"`) {
		return fmt.Errorf("double-encoded: %s", b)
	}
	return nil
}

// checkTime formats a date or timestamp as toChar does; infinite values arrive as strings. Every
// time.Time must be in the UTC location: wall clock for naive types, the
// instant for timestamptz.
func checkTime(withClock bool) check {
	return func(want string, got any) error {
		if s, ok := got.(string); ok {
			if s != want || (s != "infinity" && s != "-infinity") {
				return fmt.Errorf("got string %q", s)
			}
			return nil
		}
		t, ok := got.(time.Time)
		if !ok {
			return fmt.Errorf("got %T, want time.Time", got)
		}
		if t.Location() != time.UTC {
			return fmt.Errorf("location %v, want UTC", t.Location())
		}
		if s := toChar(t, withClock); s != want {
			return fmt.Errorf("got %s", s)
		}
		return nil
	}
}

// toChar prints t as to_char(t, 'YYYY-MM-DD HH24:MI:SS.US BC') does, or
// without a clock as a date's ISO text does ("2024-01-31", "0044-03-15 BC").
func toChar(t time.Time, withClock bool) string {
	y, era := t.Year(), "AD"
	if y <= 0 {
		y, era = 1-y, "BC"
	}
	s := fmt.Sprintf("%04d-%02d-%02d", y, t.Month(), t.Day())
	if !withClock {
		if t.Hour()+t.Minute()+t.Second()+t.Nanosecond() != 0 {
			return s + " with a clock " + t.Format("15:04:05.999999999")
		}
		if era == "BC" {
			s += " BC"
		}
		return s
	}
	return s + fmt.Sprintf(" %02d:%02d:%02d.%06d %s", t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000, era)
}

// hostileDatabase returns a fresh database whose defaults would shift,
// reformat or round values if the library's session did not pin them, and a
// connection to it with extra_float_digits=3 for the independent reads.
func hostileDatabase(t *testing.T) (dsn string, check *sql.DB) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := pgtest.Open(t)
	for _, set := range []string{
		`timezone TO 'America/New_York'`, `"DateStyle" TO 'SQL, DMY'`,
		`bytea_output TO 'escape'`, `extra_float_digits TO 0`,
	} {
		pgtest.Exec(t, admin, `ALTER DATABASE "`+name+`" SET `+set)
	}
	// The independent reads print floats exactly (shortest form).
	cu := *u
	q := cu.Query()
	q.Set("options", "-c extra_float_digits=3")
	cu.RawQuery = q.Encode()
	check = pgtest.OpenDSN(t, cu.String())
	var tz, digits string
	if err := check.QueryRow(`SELECT current_setting('TimeZone'), current_setting('extra_float_digits')`).Scan(&tz, &digits); err != nil || tz != "America/New_York" || digits != "3" {
		t.Fatalf("the test database's time zone is %q and extra_float_digits %q (%v): the test would not test what it says", tz, digits, err)
	}
	return dsn, check
}

// compareTypes checks every typeColumn of schema against sink.
func compareTypes(t *testing.T, conn *sql.DB, schema string, sink *memSink, cols []typeColumn) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range cols {
		qn := schema + "." + tc.table
		tbl := sink.tables[qn]
		if tbl == nil {
			t.Errorf("%s: not delivered", qn)
			continue
		}
		idx := tbl.ColumnIndex(tc.column)
		if idx < 0 {
			t.Errorf("%s: no column %s", qn, tc.column)
			continue
		}
		expr := fmt.Sprintf(tc.expr, `"`+tc.column+`"`)
		rows, err := conn.QueryContext(ctx, `SELECT id::text, `+expr+` FROM `+schema+`.`+tc.table+` ORDER BY id`)
		if err != nil {
			t.Fatalf("%s.%s: %v", qn, tc.column, err)
		}
		n := 0
		for rows.Next() {
			var id string
			var want sql.NullString
			if err := rows.Scan(&id, &want); err != nil {
				t.Fatal(err)
			}
			n++
			row, ok := sink.rows[qn][id]
			if !ok {
				t.Errorf("%s id %s: row not delivered", qn, id)
				continue
			}
			got := row[idx]
			switch {
			case !want.Valid && got != nil:
				t.Errorf("%s.%s id %s: SQL NULL arrived as %T %v", qn, tc.column, id, got, got)
			case want.Valid && got == nil:
				t.Errorf("%s.%s id %s: %q arrived as NULL", qn, tc.column, id, want.String)
			case want.Valid:
				if err := tc.check(want.String, got); err != nil {
					t.Errorf("%s.%s (%s) id %s: source %.80q: %v", qn, tc.column, tbl.Columns[idx].SourceType, id, want.String, err)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n != len(sink.rows[qn]) {
			t.Errorf("%s: source has %d rows, sink %d", qn, n, len(sink.rows[qn]))
		}
	}
}

// TestTypesLossless syncs every type family and compares each value with the
// source's own text of it.
func TestTypesLossless(t *testing.T) {
	dsn, conn := hostileDatabase(t)
	const schema = "types"
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA `+schema+`;`+fmt.Sprintf(typeTables, schema)); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(t, dsn, schema)
	logs := &logBuffer{}
	sink := newMemSink()
	rep := mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)))
	if len(rep.Tables) != 14 {
		t.Errorf("%d tables synced, want 14", len(rep.Tables))
	}
	cols := typeColumns()
	compareTypes(t, conn, schema, sink, cols)

	// The logical types, as discovered.
	wantTypes := map[string]redshiftsync.LogicalType{
		"ints.s": redshiftsync.TypeShort, "ints.i": redshiftsync.TypeInt, "ints.b": redshiftsync.TypeLong,
		"nums.a": redshiftsync.TypeDecimal, "nums.c": redshiftsync.TypeDecimal,
		"floats.r": redshiftsync.TypeFloat, "floats.d": redshiftsync.TypeDouble, "bools.b": redshiftsync.TypeBoolean,
		"strs.c": redshiftsync.TypeString, "dates.d": redshiftsync.TypeNaiveDate,
		"stamps.ts": redshiftsync.TypeNaiveDateTime, "stamps.tz": redshiftsync.TypeUTCDateTime,
		"times.t": redshiftsync.TypeNaiveTime, "times.tz": redshiftsync.TypeTimeTZ,
		"intervals.ym": redshiftsync.TypeInterval, "bins.b": redshiftsync.TypeBinary,
		"jsons.j": redshiftsync.TypeJSON, "jsons.jb": redshiftsync.TypeJSON, "misc.u": redshiftsync.TypeString,
		"unknowns.e": redshiftsync.TypeString, "domains.d": redshiftsync.TypeNaiveDate,
		"domains.m": redshiftsync.TypeDecimal, "domains.b": redshiftsync.TypeBinary,
	}
	for k, want := range wantTypes {
		table, col, _ := strings.Cut(k, ".")
		c, ok := sink.tables[schema+"."+table].Column(col)
		if !ok || c.Type != want {
			t.Errorf("%s: logical type %q (source %q), want %s", k, c.Type, c.SourceType, want)
		}
	}
	if c, _ := sink.tables[schema+".nums"].Column("b"); c.Precision != 38 || c.Scale != 10 || c.FivetranType() != "DECIMAL(38,10)" {
		t.Errorf("nums.b: precision %d scale %d Fivetran %s", c.Precision, c.Scale, c.FivetranType())
	}
	if c, _ := sink.tables[schema+".domains"].Column("m"); c.FivetranType() != "DECIMAL(10,2)" {
		t.Errorf("a domain over numeric(10,2): Fivetran type %s", c.FivetranType())
	}

	// Interval texts are valid input: read back, each equals the source's.
	for _, col := range []string{"i", "ym", "ds"} {
		idx := sink.tables[schema+".intervals"].ColumnIndex(col)
		for id, row := range sink.rows[schema+".intervals"] {
			if row[idx] == nil {
				continue
			}
			var same bool
			err := conn.QueryRowContext(ctx, `SELECT $1::interval::text = `+col+`::text FROM `+schema+`.intervals WHERE id = $2`, row[idx], id).Scan(&same)
			if err != nil || !same {
				t.Errorf("intervals.%s id %s: %q does not read back as the source's value (%v)", col, id, row[idx], err)
			}
		}
	}

	// Unknown types: text, and one warning each naming table, column and type.
	warned := map[string]string{}
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.Contains(fmt.Sprint(r["msg"]), "unknown column type") {
			warned[fmt.Sprint(r["table"])+"|"+fmt.Sprint(r["column"])] = fmt.Sprint(r["source_type"])
		}
	}
	for col, typ := range map[string]string{"e": "mood", "p": "point", "r": "int4range"} {
		if got := warned[schema+".unknowns|"+col]; !strings.Contains(got, typ) {
			t.Errorf("no warning naming table %s.unknowns, column %s and type %s; warnings: %v", schema, col, typ, warned)
		}
	}
	if len(warned) != 3 {
		t.Errorf("warnings for %v, want exactly the 3 unknown columns (domains resolve to their base type)", warned)
	}
}

// keyTable is a table without a primary key whose column k, of one type,
// is synced as the replication key in pages of two rows: every edge value
// becomes a page bound and a bookmark, read back by the server as the
// column's type. Equal values with different texts (-0 and 0, 1.0 and 1.00)
// form tie groups that must not be cut.
const keyTables = `
CREATE TABLE %[1]s.k_float (id int, k double precision);
INSERT INTO %[1]s.k_float VALUES (1, 0), (2, '-0'), (3, 0), (4, '-0'), (5, 'Infinity'), (6, '-Infinity'),
	(7, 'NaN'), (8, 'NaN'), (9, 5e-324), (10, 0.1), (11, NULL), (12, 1.7976931348623157e308), (13, '-0');
CREATE TABLE %[1]s.k_real (id int, k real);
INSERT INTO %[1]s.k_real VALUES (1, 0.1), (2, 0.1), (3, '-0'), (4, 0), (5, 3.4028235e38), (6, 1.4e-45), (7, 'NaN');
CREATE TABLE %[1]s.k_num (id int, k numeric);
INSERT INTO %[1]s.k_num VALUES (1, 1.0), (2, 1.00), (3, 1), (4, 1.000), (5, -0.00), (6, 0), (7, 'NaN'),
	(8, ('1' || repeat('0', 60))::numeric), (9, -0.0000000000000000000001), (10, 'Infinity'), (11, '-Infinity'), (12, 2.50), (13, 2.5);
CREATE TABLE %[1]s.k_date (id int, k date);
INSERT INTO %[1]s.k_date VALUES (1, '0044-03-15 BC'), (2, '5874897-12-31'), (3, 'infinity'), (4, '-infinity'),
	(5, '4713-01-01 BC'), (6, '0001-01-01'), (7, '0001-12-31 BC'), (8, NULL), (9, '2024-01-01');
CREATE TABLE %[1]s.k_ts (id int, k timestamp);
INSERT INTO %[1]s.k_ts VALUES (1, '0044-03-15 12:00:00.000001 BC'), (2, '294276-12-31 23:59:59.999999'),
	(3, 'infinity'), (4, '-infinity'), (5, '2024-03-10 02:30:00.5'), (6, '2024-03-10 02:30:00.5'), (7, '2024-11-03 01:30:00'), (8, '10000-01-01');
CREATE TABLE %[1]s.k_tz (id int, k timestamptz);
INSERT INTO %[1]s.k_tz VALUES (1, '0044-03-15 12:00:00.000001+00 BC'), (2, '294276-12-31 23:59:59.999999+00'),
	(3, 'infinity'), (4, '-infinity'), (5, '2024-03-10 07:30:00.5+00'), (6, '2024-03-10 02:30:00.5-05'), (7, '2024-11-03 05:30:00+00');
CREATE TABLE %[1]s.k_time (id int, k time);
INSERT INTO %[1]s.k_time VALUES (1, '00:00:00'), (2, '24:00:00'), (3, '23:59:59.999999'), (4, '24:00:00'), (5, '12:00:00.5'), (6, NULL);
CREATE TABLE %[1]s.k_text (id int, k text);
INSERT INTO %[1]s.k_text VALUES (1, ''), (2, E'\t'), (3, E'a\nb'), (4, 'é'), (5, E'e\u0301'), (6, '😀'), (7, 'a'), (8, 'A'),
	(9, 'a '), (10, E'\x01'), (11, ''''), (12, '"'), (13, E'\\'), (14, 'a');
CREATE TABLE %[1]s.k_char (id int, k char(3));
INSERT INTO %[1]s.k_char VALUES (1, 'a'), (2, 'a  '), (3, ''), (4, 'b'), (5, 'a');
CREATE TABLE %[1]s.k_big (id int, k bigint);
INSERT INTO %[1]s.k_big VALUES (1, -9223372036854775808), (2, 9223372036854775807), (3, 0), (4, 0), (5, 0), (6, NULL);
`

// TestKeysRoundTrip syncs each key table incrementally, twice, in pages of
// two: the page bounds, tie groups, high-water marks and bookmarks all pass
// through the key's text form and back.
func TestKeysRoundTrip(t *testing.T) {
	dsn, conn := hostileDatabase(t)
	const schema = "keys"
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA `+schema+`;`+fmt.Sprintf(keyTables, schema)); err != nil {
		t.Fatal(err)
	}
	cfg := configFor(t, dsn, schema)
	cfg.TablesFromSpecs = true
	cfg.BatchSize = 2
	tables := []string{"k_float", "k_real", "k_num", "k_date", "k_ts", "k_tz", "k_time", "k_text", "k_char", "k_big"}
	var specs []redshiftsync.TableSpec
	for _, tb := range tables {
		specs = append(specs, redshiftsync.TableSpec{Table: tb, Strategy: redshiftsync.StrategyIncremental, ReplicationKey: "k"})
	}
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	for run := 1; run <= 2; run++ {
		rep := mustRun(t, cfg, sink, store, redshiftsync.WithTableSpecs(specs))
		for _, tr := range rep.Tables {
			if tr.Mode != redshiftsync.ModeIncremental || tr.Key != "k" {
				t.Errorf("run %d: %s planned %s/%q", run, tr.Table, tr.Mode, tr.Key)
			}
		}
		for _, tb := range tables {
			qn := schema + "." + tb
			// Rows are keyed by their whole text (no primary key): compare
			// the set of ids delivered with the source's.
			got := map[string]string{}
			for _, v := range sink.column(qn, "id") {
				got[v] = v
			}
			want := sourceMap(t, conn, `SELECT id::text, id::text FROM `+qn)
			if d := diffMaps(want, got); d != "" {
				t.Errorf("run %d: %s: %s", run, qn, d)
			}
		}
	}
	// The values themselves, as in TestTypesLossless.
	kcols := []typeColumn{
		{"k_float", "k", "%s::text", checkFloat(64)},
		{"k_real", "k", "%s::text", checkFloat(32)},
		{"k_num", "k", "%s::text", checkDecimal},
		{"k_date", "k", "%s::text", checkTime(false)},
		{"k_ts", "k", "CASE WHEN isfinite(%[1]s) THEN to_char(%[1]s, 'YYYY-MM-DD HH24:MI:SS.US BC') ELSE %[1]s::text END", checkTime(true)},
		{"k_time", "k", "%s::text", checkString},
		{"k_char", "k", "CASE WHEN %[1]s IS NOT NULL THEN format('%%s', %[1]s) END", checkString},
	}
	byID := newMemSink()
	for qn, tbl := range sink.tables {
		byID.tables[qn] = tbl
		byID.rows[qn] = map[string][]any{}
		for _, r := range sink.rows[qn] {
			byID.rows[qn][fmtVal(r[0])] = r
		}
	}
	compareTypes(t, conn, schema, byID, kcols)
}
