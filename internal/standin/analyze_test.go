package standin

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// TestAnalyzeRejects: each construct the stand-in claims to reject, with
// Redshift's SQLSTATE and text.
func TestAnalyzeRejects(t *testing.T) {
	for _, c := range []struct{ sql, code, msg string }{
		{`INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING`, "42601", `syntax error at or near "ON"`},
		{`insert into t values (1) on  conflict (id) do update set v = 1`, "42601", `syntax error at or near "on"`},
		{`SELECT count(*) FILTER (WHERE x > 1) FROM t`, "42601", `syntax error at or near "("`},
		{`SELECT * FROM t, LATERAL (SELECT 1) s`, "42601", `syntax error at or near "("`},
		{`SELECT * FROM t JOIN LATERAL f(t.x) s ON true`, "42601", `syntax error at or near "f"`},
		{`SELECT * FROM t WHERE (a, b) > ($1, $2)`, "0A000", "row value constructors and row comparisons are not supported"},
		{`SELECT * FROM t WHERE x = 1 AND (a, b) >= (1, 2) ORDER BY a`, "0A000", "row value constructors and row comparisons are not supported"},
		{`SELECT * FROM t WHERE ROW(a, b) = ROW(1, 2)`, "0A000", "row value constructors and row comparisons are not supported"},
		{`SELECT (a, b) FROM t`, "0A000", "ROW expression, implicit or explicit, is not supported in target list"},
		{`SELECT a, (b, c) FROM t`, "0A000", "ROW expression, implicit or explicit, is not supported in target list"},
		{`COPY t FROM STDIN`, "42601", `syntax error at or near "STDIN"`},
		{`copy t (a, b) from stdin with csv`, "42601", `syntax error at or near "stdin"`},
		{`SELECT a FROM t WHERE a IS DISTINCT FROM b`, "XX000", "Not implemented"},
		{`UPDATE s.t SET v = 1 WHERE v IS NOT DISTINCT FROM $1`, "XX000", "Not implemented"},
		{`SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b`, "0A000", "SELECT DISTINCT ON is not supported"},
		{`SELECT a FROM t WHERE a <> ANY (SELECT b FROM u)`, "0A000", "ANY or SOME with <, >, <=, >=, <>, or != comparison condition is not supported"},
		{`SELECT a FROM t WHERE a > some(SELECT b FROM u)`, "0A000", "ANY or SOME with <, >, <=, >=, <>, or != comparison condition is not supported"},
		{`CREATE TABLE public.pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL)`, "0A000", `Column "pgmigrations.id" has unsupported type "serial".`},
		{`create table if not exists "S"."T" (a int, b numeric(10, 2), doc jsonb)`, "0A000", `Column "T.doc" has unsupported type "jsonb".`},
		{`COPY t TO STDOUT`, "42601", `syntax error at or near "TO"`},
		{`SET idle_in_transaction_session_timeout TO 300000`, "42704", `unrecognized configuration parameter "idle_in_transaction_session_timeout"`},
		{`SET extra_float_digits TO 3`, "22023", `3 is outside the valid range for parameter "extra_float_digits" (-15 .. 2)`},
		{`SELECT x::jsonb FROM t`, "42704", `type "jsonb" does not exist`},
		{`SELECT CAST(x AS uuid) FROM t`, "42704", `type "uuid" does not exist`},
		{`SELECT string_agg(a, ',') FROM t`, "0A000", "Specified types or functions (one per INFO message) not supported on Redshift tables."},
		{`SELECT version(), a FROM s.t`, "0A000", "Specified types or functions (one per INFO message) not supported on Redshift tables."},
		{`SELECT a FROM t WHERE a IN (SELECT generate_series(1, 3))`, "0A000", "Specified types or functions (one per INFO message) not supported on Redshift tables."},
		{`SELECT a FROM t WHERE k >= ($1::timestamp - $2::interval)`, "XX000", "Not implemented"},
		{`SELECT a FROM t WHERE k >= $1 - CAST($2 AS INTERVAL)`, "XX000", "Not implemented"},
	} {
		r := Analyze(c.sql)
		if r.Reject == nil {
			t.Errorf("%s: accepted (sent as %s)", c.sql, r.SQL)
			continue
		}
		if r.Reject.Code != c.code || r.Reject.Message != c.msg {
			t.Errorf("%s:\n got %s %s\nwant %s %s", c.sql, r.Reject.Code, r.Reject.Message, c.code, c.msg)
		}
	}
	if r := Analyze(`SELECT version(), a FROM t`); r.Reject == nil || len(r.Reject.Info) != 1 || r.Reject.Info[0] != `Function "version()" not supported.` {
		t.Errorf("leader-node function on a table: %+v", r.Reject)
	}
	if r := Analyze(`SELECT 1 FROM t WHERE x ON CONFLICT`); r.Reject == nil || r.Reject.Position != 25 {
		t.Errorf("position of ON: %+v", r.Reject)
	}
}

// TestAnalyzeAccepts: what Redshift accepts passes, the constructs above
// inside strings, quoted names and comments included.
func TestAnalyzeAccepts(t *testing.T) {
	for _, sql := range []string{
		`SELECT 'ON CONFLICT', "lateral" FROM t -- (a, b) > (1, 2)`,
		`SELECT $$ FILTER (WHERE $$ /* ON CONFLICT */`,
		`SELECT 1 IS DISTINCT FROM 2`,
		`SELECT relname FROM pg_catalog.pg_class WHERE relnamespace IS DISTINCT FROM 11`,
		`SELECT a FROM t WHERE a = ANY (SELECT b FROM u)`,
		`SELECT DISTINCT a, b FROM t`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v varchar(8), d super, g geometry, at timestamptz, CONSTRAINT k UNIQUE (v))`,
		`CREATE TABLE t (LIKE u)`,
		`SELECT * FROM t WHERE a IN (1, 2) AND f(a, b) > 1`,
		`INSERT INTO t (a, b) VALUES (1, 2), (3, 4)`,
		`SELECT CAST(x AS numeric(10, 2)), coalesce(a, b) FROM t`,
		`SELECT a FROM t WHERE a >= $1 AND (a > $1 OR (a = $1 AND b > $2)) ORDER BY a, b`,
		`SELECT dense_rank() OVER (PARTITION BY a, b ORDER BY c) FROM t`,
		`SELECT x FROM t JOIN u USING (a, b)`,
		`SET TIME ZONE 'UTC'; SET DATESTYLE TO 'ISO, MDY'; SET extra_float_digits TO 2`,
		`SET statement_timeout TO 5000`,
		`SELECT version()`,
		`SELECT generate_series(1, 3)`,
		`SELECT c.relname, con.conkey FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid`,
		`SELECT current_setting('timezone'), set_config('timezone', $1, false)`,
		`SELECT a FROM t WHERE k >= $1::timestamp - INTERVAL '5 minutes' AND j > '1 day'::interval`,
	} {
		if r := Analyze(sql); r.Reject != nil {
			t.Errorf("%s: rejected: %+v", sql, r.Reject)
		}
	}
}

// TestAnalyzeRewrites: the rewrites that let PostgreSQL answer as Redshift.
func TestAnalyzeRewrites(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{`SELECT version()`, `SELECT redshift_standin.version()`},
		{`select pg_catalog.version()`, `select redshift_standin.version()`},
		{`SELECT current_namespace`, `SELECT redshift_standin.current_namespace()`},
		{`SELECT getdate(), sysdate`, `SELECT redshift_standin.getdate(), redshift_standin.sysdate()`},
		{`SELECT * FROM svv_table_info WHERE "schema" = $1`, `SELECT * FROM redshift_standin.svv_table_info WHERE "schema" = $1`},
		{`SELECT * FROM pg_catalog.svv_transactions`, `SELECT * FROM redshift_standin.svv_transactions`},
		{`SELECT con.conkey::text AS k`, `SELECT redshift_standin.to_varchar(con.conkey)::text AS k`},
		{`SELECT f(x)::varchar, (a+b)::character varying, $1::text, 'x'::text`, `SELECT redshift_standin.to_varchar(f(x))::varchar, redshift_standin.to_varchar((a+b))::character varying, redshift_standin.to_varchar($1)::text, redshift_standin.to_varchar('x')::text`},
		{`SELECT CAST(getdate() AS VARCHAR)`, `SELECT CAST(redshift_standin.to_varchar(redshift_standin.getdate()) AS VARCHAR)`},
		{`SELECT x::int::text`, `SELECT x::int::text`},
		{`SELECT pg_export_snapshot()`, `SELECT redshift_standin_missing.pg_export_snapshot()`},
		{`SELECT 'a\'b', E'c\\d', 'plain'`, `SELECT E'a\'b', E'c\\d', 'plain'`},
		{`SELECT 'version()' AS "svv_table_info" -- version()`, `SELECT 'version()' AS "svv_table_info" -- version()`},
		{`SELECT t.version() FROM x.svv_table_info`, `SELECT t.version() FROM x.svv_table_info`},
	} {
		r := Analyze(c.sql)
		if r.Reject != nil {
			t.Errorf("%s: rejected %+v", c.sql, r.Reject)
			continue
		}
		if r.SQL != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.sql, r.SQL, c.want)
		}
	}
}

// FuzzAnalyze: any text is either rejected with a SQLSTATE and a message,
// or rewritten into a text that lexes as PostgreSQL reads it whenever the
// original lexes as Redshift reads it.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{`SELECT (a,b) > (1,2) FROM t`, `SELECT x::text, 'a\'', version()`, `SET extra_float_digits TO 3`, `COPY t FROM STDIN`, `SELECT CAST(x AS text) FROM svv_table_info`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		r := Analyze(sql)
		if r.Reject != nil {
			if len(r.Reject.Code) != 5 || r.Reject.Message == "" {
				t.Fatalf("%q: rejection %+v", sql, r.Reject)
			}
			return
		}
		if _, err := sqltok.TokenizeRedshift(sql); err != nil {
			if r.SQL != sql {
				t.Fatalf("%q does not lex but was rewritten to %q", sql, r.SQL)
			}
			return
		}
		if _, err := sqltok.Tokenize(r.SQL); err != nil && !strings.Contains(sql, "$") {
			t.Fatalf("%q rewritten to %q, which PostgreSQL cannot lex: %v", sql, r.SQL, err)
		}
	})
}

func TestRenderValues(t *testing.T) {
	d := &pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{DataTypeOID: 23}, {DataTypeOID: 700}, {DataTypeOID: 701}, {DataTypeOID: 700}}}
	cols := renderedColumns(d)
	for _, c := range []struct {
		extra      int
		in, want   [4]string
		nullSecond bool
	}{
		{2, [4]string{"7", "1000.123", "0.1", "NaN"}, [4]string{"7", "1000.123", "0.10000000000000001", "NaN"}, false},
		{2, [4]string{"7", "1000.1234", "1e+100", "-Infinity"}, [4]string{"7", "1000.1234", "1e+100", "-Infinity"}, false},
		{0, [4]string{"7", "3.1415927", "3.141592653589793", "1e-05"}, [4]string{"7", "3.14159", "3.14159265358979", "1e-05"}, false},
		{2, [4]string{"7", "", "2", "123456789"}, [4]string{"7", "", "2", "1.2345679e+08"}, true},
	} {
		r := &pgproto3.DataRow{}
		for _, v := range c.in {
			r.Values = append(r.Values, []byte(v))
		}
		if c.nullSecond {
			r.Values[1] = nil
		}
		renderValues(r, cols, c.extra)
		for i, want := range c.want {
			if (r.Values[i] == nil) != (c.nullSecond && i == 1) || string(r.Values[i]) != want {
				t.Errorf("extra %d: %q rendered %q, want %q", c.extra, c.in[i], r.Values[i], want)
			}
		}
	}
}

func TestRenderValuesBinary(t *testing.T) {
	cols := renderedColumns(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{DataTypeOID: 17}, {DataTypeOID: 17, Format: 1}}})
	r := &pgproto3.DataRow{Values: [][]byte{[]byte(`\x00ff5c78`), []byte{0, 1}}}
	renderValues(r, cols, 2)
	if string(r.Values[0]) != "00ff5c78" || string(r.Values[1]) != "\x00\x01" {
		t.Errorf("binary values rendered %q", r.Values)
	}
}

// TestRenderValuesTimeTZ: a TIMETZ column is printed in UTC, +00, as
// Redshift prints it (r_Datetime_types); PostgreSQL keeps the offset.
func TestRenderValuesTimeTZ(t *testing.T) {
	cols := renderedColumns(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{DataTypeOID: 1266}}})
	for in, want := range map[string]string{
		"13:24:55-08":          "21:24:55+00",
		"20:41:19+00":          "20:41:19+00",
		"00:00:00.555+05:30":   "18:30:00.555+00",
		"24:00:00+02":          "22:00:00+00",
		"24:00:00+00":          "24:00:00+00",
		"23:59:59.999999-14":   "13:59:59.999999+00",
		"12:00:00-08:01:01":    "20:01:01+00",
		"not a time of day+02": "not a time of day+02",
	} {
		r := &pgproto3.DataRow{Values: [][]byte{[]byte(in)}}
		renderValues(r, cols, 2)
		if string(r.Values[0]) != want {
			t.Errorf("%q rendered %q, want %q", in, r.Values[0], want)
		}
	}
}

// TestRenderValuesIntervalLiteral: an interval with a qualifier is
// printed as Redshift prints interval literals (r_interval_data_types); an
// interval without qualifier is left in the postgres style.
func TestRenderValuesIntervalLiteral(t *testing.T) {
	cols := renderedColumns(&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{
		{DataTypeOID: 1186, TypeModifier: 327679}, {DataTypeOID: 1186, TypeModifier: 196607}, {DataTypeOID: 1186, TypeModifier: 268435459},
		{DataTypeOID: 1186, TypeModifier: 402718719}, {DataTypeOID: 1186, TypeModifier: 67174399}, {DataTypeOID: 1186, TypeModifier: -1},
		{DataTypeOID: 1186, TypeModifier: 458751, TableOID: 16384}, {DataTypeOID: 1186, TypeModifier: -1, TableOID: 16384},
	}})
	in := []string{"1 year", "1 year 1 mon", "00:00:01.235", "00:02:02", "05:00:00", "1 day", "1 year 2 mons", "2 days"}
	want := []string{"1 years 0 mons", "1 years 1 mons", "0 days 0 hours 0 mins 1.235 secs", "0 days 0 hours 2 mins 2.0 secs",
		"0 days 5 hours 0 mins 0.0 secs", "1 day", "1 years 2 mons", "2 days"}
	r := &pgproto3.DataRow{}
	for _, v := range in {
		r.Values = append(r.Values, []byte(v))
	}
	renderValues(r, cols, 2)
	for i := range want {
		if string(r.Values[i]) != want[i] {
			t.Errorf("%q rendered %q, want %q", in[i], r.Values[i], want[i])
		}
	}
	for v, w := range map[string]string{"-1 days +02:00:00": "-1 days 2 hours 0 mins 0.0 secs", "-00:00:01.5": "0 days 0 hours 0 mins -1.5 secs",
		"2 days 01:01:01.123456": "2 days 1 hours 1 mins 1.123456 secs"} {
		if got := intervalLiteralText(v, false); got != w {
			t.Errorf("%q rendered %q, want %q", v, got, w)
		}
	}
}
