// This file holds what the stand-in creates in each upstream database it
// serves, in the schema redshift_standin: Redshift's functions (VERSION,
// GETDATE, SYSDATE, CURRENT_NAMESPACE) and system views (SVV_TABLE_INFO,
// SVV_TRANSACTIONS), computed from the PostgreSQL catalog, and the casts to
// text that Redshift performs.

package standin

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// RedshiftVersion is what version() answers: the form of r_VERSION's
// example (the library's dialect detection keys on "Redshift").
const RedshiftVersion = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.12103"

// castableToText are the types whose values PostgreSQL 8.0.2, and so
// Redshift, can cast to text or VARCHAR; casting any other type (boolean,
// int2vector, regproc, arrays) fails with "cannot cast type X to character
// varying" (42846). PostgreSQL 8.3 added the cast from every type.
var castableToText = []string{"smallint", "integer", "bigint", "real", "double precision", "numeric",
	"text", "character varying", "character", "name", `"char"`, "date", "time without time zone",
	"time with time zone", "timestamp without time zone", "timestamp with time zone", "interval", "oid"}

// installSQL creates (or replaces) the stand-in's schema. It runs as the
// upstream URL's role (a superuser), under an advisory lock so that
// connections opening at once do not race.
func installSQL() string {
	var b strings.Builder
	b.WriteString(`SELECT pg_advisory_xact_lock(2085993);
CREATE SCHEMA IF NOT EXISTS ` + Schema + `;
CREATE SCHEMA IF NOT EXISTS ` + missingSchema + `;
GRANT USAGE ON SCHEMA ` + Schema + `, ` + missingSchema + ` TO PUBLIC;

-- r_VERSION
CREATE OR REPLACE FUNCTION ` + Schema + `.version() RETURNS text LANGUAGE sql IMMUTABLE AS $f$SELECT '` + RedshiftVersion + `'::text$f$;

-- r_GETDATE: the current statement's start, a TIMESTAMP (no zone) in UTC.
-- PG_LAST_UNLOAD_COUNT: the relay keeps the session's count and passes it
-- (see lastUnloadCall); the column keeps Redshift's name.
CREATE OR REPLACE FUNCTION ` + Schema + `.pg_last_unload_count(n bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$SELECT coalesce(n, 0)$f$;
GRANT EXECUTE ON FUNCTION ` + Schema + `.pg_last_unload_count(bigint) TO PUBLIC;
CREATE OR REPLACE FUNCTION ` + Schema + `.getdate() RETURNS timestamp LANGUAGE sql STABLE AS $f$SELECT statement_timestamp() AT TIME ZONE 'UTC'$f$;

-- r_SYSDATE: the current transaction's start, a TIMESTAMP in UTC.
CREATE OR REPLACE FUNCTION ` + Schema + `.sysdate() RETURNS timestamp LANGUAGE sql STABLE AS $f$SELECT now() AT TIME ZONE 'UTC'$f$;

-- r_CURRENT_NAMESPACE: "the unique ID of the cluster", from the upstream
-- server's system identifier (read as the installing superuser).
CREATE OR REPLACE FUNCTION ` + Schema + `.current_namespace() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog AS $f$
	SELECT regexp_replace(md5(system_identifier::text), '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '\1-\2-\3-\4-\5')
	FROM pg_control_system()$f$;

-- Sort and distribution keys: PostgreSQL has none. A test declares a
-- table's as Redshift's CREATE TABLE would (DISTSTYLE, DISTKEY, SORTKEY) by
-- a row here; without one a table has Redshift's defaults for a table
-- created without them, AUTO(EVEN) and AUTO(SORTKEY) (r_CREATE_TABLE_NEW).
CREATE TABLE IF NOT EXISTS ` + Schema + `.table_attributes (
	relid oid PRIMARY KEY, diststyle text NOT NULL DEFAULT 'AUTO(EVEN)', sortkey1 text NOT NULL DEFAULT 'AUTO(SORTKEY)');
GRANT SELECT, INSERT, UPDATE, DELETE ON ` + Schema + `.table_attributes TO PUBLIC;

-- Primary keys: "informational only; they are not enforced", while "Amazon
-- Redshift does enforce NOT NULL column constraints" (t_Defining_constraints;
-- r_CREATE_TABLE_NEW's PRIMARY KEY implies no NOT NULL): a key column
-- declared without NOT NULL holds NULLs. PostgreSQL makes every key column
-- NOT NULL; a test calls informational_primary_key(table) on a table it
-- owns to make its key's columns nullable, as Redshift's are when declared
-- so (the key's unique index still refuses duplicate non-NULL keys).
CREATE OR REPLACE FUNCTION ` + Schema + `.informational_primary_key(rel regclass) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog AS $f$
BEGIN
	IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', rel USING ERRCODE = '42501';
	END IF;
	UPDATE pg_attribute a SET attnotnull = false FROM pg_constraint con
	WHERE con.conrelid = rel AND con.contype = 'p' AND a.attrelid = rel AND a.attnum = ANY (con.conkey);
END$f$;
GRANT EXECUTE ON FUNCTION ` + Schema + `.informational_primary_key(regclass) TO PUBLIC;

-- A table's row count, as tbl_rows gives it; read as the installing
-- superuser, as Redshift reads its own block lists.
CREATE OR REPLACE FUNCTION ` + Schema + `.row_count(rel oid) RETURNS numeric LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog AS $f$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM %s', rel::regclass) INTO n;
	RETURN n;
END$f$;

-- r_SVV_TABLE_INFO: the documented columns and types; no row for an empty
-- table; user tables only (no catalog, no system schema); "visible only to
-- superusers": PUBLIC has no SELECT, and a role given SELECT sees every
-- table, as on Redshift.
CREATE OR REPLACE VIEW ` + Schema + `.svv_table_info AS
SELECT * FROM (
SELECT current_database()::text AS database, n.nspname::text AS schema, c.oid AS table_id,
	c.relname::text AS "table", 'Y'::text AS encoded,
	coalesce(ta.diststyle, 'AUTO(EVEN)') AS diststyle, coalesce(ta.sortkey1, 'AUTO(SORTKEY)') AS sortkey1,
	coalesce((SELECT max(a.atttypmod - 4) FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'pg_catalog.varchar'::regtype), 0)::integer AS max_varchar,
	NULL::character(32) AS sortkey1_enc,
	CASE WHEN ta.sortkey1 IS NULL OR ta.sortkey1 = 'AUTO(SORTKEY)' THEN 0 ELSE 1 END::integer AS sortkey_num,
	ceil(pg_catalog.pg_total_relation_size(c.oid) / 1048576.0)::bigint AS size,
	0::numeric(10,4) AS pct_used, 0::bigint AS empty, 0::numeric(5,2) AS unsorted, 0::numeric(5,2) AS stats_off,
	` + Schema + `.row_count(c.oid)::numeric(38,0) AS tbl_rows,
	NULL::numeric(19,2) AS skew_sortkey1, 1::numeric(19,2) AS skew_rows,
	` + Schema + `.row_count(c.oid)::numeric(38,0) AS estimated_visible_rows,
	NULL::text AS risk_event, NULL::numeric(12,2) AS vacuum_sort_benefit,
	NULL::timestamp AS create_time
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN ` + Schema + `.table_attributes ta ON ta.relid = c.oid
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '` + Schema + `') AND n.nspname NOT LIKE 'pg\_%'
) t WHERE tbl_rows > 0;
REVOKE ALL ON ` + Schema + `.svv_table_info FROM PUBLIC;

-- r_SVV_TRANSACTIONS: the transactions holding locks on tables or on their
-- transaction id in this database, one row per lock, with the documented
-- columns and types. "Visible to all users. Superusers can see all rows;
-- regular users can see only their own data." txn_start is a TIMESTAMP in
-- UTC. A transaction that has not written has no xid on PostgreSQL: xid 0.
CREATE OR REPLACE VIEW ` + Schema + `.svv_transactions AS
SELECT a.usename::text AS txn_owner, a.datname::text AS txn_db,
	coalesce(a.backend_xid::text::bigint, 0) AS xid, l.pid::integer AS pid,
	(a.xact_start AT TIME ZONE 'UTC')::timestamp AS txn_start, l.mode::text AS lock_mode,
	l.locktype::text AS lockable_object_type,
	CASE WHEN l.locktype = 'relation' THEN l.relation::integer END AS relation, l.granted
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype IN ('relation', 'transactionid') AND a.xact_start IS NOT NULL
	AND (l.locktype = 'transactionid' OR l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
	AND (l.relation IS NULL OR l.relation NOT IN (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN ('pg_catalog', 'information_schema', '` + Schema + `')))
	AND (a.usename = current_user OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
GRANT SELECT ON ` + Schema + `.svv_transactions TO PUBLIC;

-- r_VARBYTE_type: a VARBYTE column, for tests to create (CREATE TABLE t (b
-- varbyte)); the catalog calls it varbyte, the relay prints its values as
-- Redshift does, in hexadecimal (see render.go).
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typname = 'varbyte') THEN
		CREATE DOMAIN public.varbyte AS bytea;
	END IF;
END $d$;

-- r_FROM_VARBYTE, r_TO_VARBYTE (varbyte-functions): a VARBYTE as text in
-- a format, and back; formats hex, binary, utf8 (utf-8, utf_8) and base64,
-- in any case. TO_VARBYTE reads an odd-length hex string with a 0 before
-- it. Another format: 22023 "invalid format …"†.
CREATE OR REPLACE FUNCTION ` + Schema + `.varbyte_format(f text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
BEGIN
	CASE lower(f)
	WHEN 'hex', 'binary', 'base64' THEN RETURN lower(f);
	WHEN 'utf8', 'utf-8', 'utf_8' THEN RETURN 'utf8';
	ELSE RAISE EXCEPTION 'invalid format "%": give hex, binary, utf8 or base64', f USING ERRCODE = '22023';
	END CASE;
END $f$;
GRANT EXECUTE ON FUNCTION ` + Schema + `.varbyte_format(text) TO PUBLIC;
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = 'from_varbyte') THEN
		CREATE FUNCTION public.from_varbyte(b public.varbyte, f text) RETURNS varchar LANGUAGE sql IMMUTABLE STRICT AS $f$
			SELECT CASE ` + Schema + `.varbyte_format(f)
				WHEN 'hex' THEN encode(b, 'hex')
				WHEN 'base64' THEN translate(encode(b, 'base64'), E'\n', '')
				WHEN 'utf8' THEN convert_from(b, 'UTF8')
				ELSE (SELECT coalesce(string_agg(get_byte(b, i)::bit(8)::text, '' ORDER BY i), '')
					FROM generate_series(0, length(b) - 1) i) END::varchar
		$f$;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = 'to_varbyte') THEN
		CREATE FUNCTION public.to_varbyte(s text, f text) RETURNS public.varbyte LANGUAGE sql IMMUTABLE STRICT AS $f$
			SELECT (CASE ` + Schema + `.varbyte_format(f)
				WHEN 'hex' THEN decode(CASE WHEN length(s) % 2 = 1 THEN '0' || s ELSE s END, 'hex')
				WHEN 'base64' THEN decode(s, 'base64')
				WHEN 'utf8' THEN convert_to(s, 'UTF8')
				ELSE (SELECT decode(coalesce(string_agg(lpad(to_hex(substr(lpad(s, (length(s) + 7) / 8 * 8, '0'), 8 * i + 1, 8)::bit(8)::integer), 2, '0'), '' ORDER BY i), ''), 'hex')
					FROM generate_series(0, (length(s) + 7) / 8 - 1) i) END)::public.varbyte
		$f$;
	END IF;
END $d$;

-- r_GEOMETRY_type / geospatial-overview: GEOMETRY and GEOGRAPHY columns, for
-- tests to create (CREATE TABLE t (g geometry)). A client that selects one
-- receives its hexadecimal EWKB, in upper case (as ST_AsHexEWKB prints it;
-- COPY loads that form back, copy-usage_notes-spatial-data). PostgreSQL
-- describes a domain's values by its base type, so a domain over bytea would
-- be printed as VARBYTE is: these are domains over text that hold Redshift's
-- form itself. The catalog names them geometry and geography.
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typname = 'geometry') THEN
		CREATE DOMAIN public.geometry AS text CHECK (VALUE ~ '^([0-9A-F][0-9A-F])+$');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typname = 'geography') THEN
		CREATE DOMAIN public.geography AS text CHECK (VALUE ~ '^([0-9A-F][0-9A-F])+$');
	END IF;
END $d$;

-- ST_AsEWKT_function: the EWKT of a geometry, with Redshift's limits: its
-- coordinates printed with 15 significant digits, and an error when the
-- text passes a 64-KB VARCHAR. Points, linestrings and polygons in 2D
-- (what tests create); other types are an error of the stand-in's own.
CREATE OR REPLACE FUNCTION ` + Schema + `.ewkb_double(b bytea, o integer, le boolean) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
	bits bigint := 0;
	e integer;
	m bigint;
	v double precision;
BEGIN
	FOR i IN 0..7 LOOP
		bits := bits | (get_byte(b, o + CASE WHEN le THEN i ELSE 7 - i END)::bigint << (8 * i));
	END LOOP;
	e := ((bits >> 52) & 2047)::integer;
	m := bits & 4503599627370495;
	IF e = 2047 THEN
		RAISE EXCEPTION 'redshift-standin: NaN or infinite coordinate';
	ELSIF e = 0 THEN
		v := m::double precision * power(2::double precision, -1074);
	ELSE
		v := (1 + m::double precision / 4503599627370496) * power(2::double precision, e - 1023);
	END IF;
	IF bits < 0 THEN
		v := -v;
	END IF;
	RETURN v;
END $f$;
CREATE OR REPLACE FUNCTION ` + Schema + `.ewkb_uint(b bytea, o integer, le boolean) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$
	-- (<< and | share one precedence: each shift in parentheses)
	SELECT CASE WHEN le THEN get_byte(b, o)::bigint | (get_byte(b, o + 1)::bigint << 8) | (get_byte(b, o + 2)::bigint << 16) | (get_byte(b, o + 3)::bigint << 24)
		ELSE get_byte(b, o + 3)::bigint | (get_byte(b, o + 2)::bigint << 8) | (get_byte(b, o + 1)::bigint << 16) | (get_byte(b, o)::bigint << 24) END
$f$;
CREATE OR REPLACE FUNCTION public.st_asewkt(g public.geometry) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET extra_float_digits = 0 AS $f$
DECLARE
	b bytea := decode(g, 'hex');
	le boolean := get_byte(b, 0) = 1;
	kind bigint := ` + Schema + `.ewkb_uint(b, 1, le);
	o integer := 5;
	srid text := '';
	out text;
	rings bigint := 1;
	n bigint;
	part text;
BEGIN
	IF kind & 536870912 <> 0 THEN
		srid := 'SRID=' || ` + Schema + `.ewkb_uint(b, 5, le) || ';';
		o := 9;
	END IF;
	kind := kind & 255;
	IF kind = 1 THEN
		out := 'POINT(' || ` + Schema + `.ewkb_double(b, o, le)::text || ' ' || ` + Schema + `.ewkb_double(b, o + 8, le)::text || ')';
	ELSIF kind = 2 OR kind = 3 THEN
		IF kind = 3 THEN
			rings := ` + Schema + `.ewkb_uint(b, o, le);
			o := o + 4;
		END IF;
		out := '';
		FOR r IN 1..rings LOOP
			n := ` + Schema + `.ewkb_uint(b, o, le);
			o := o + 4;
			SELECT string_agg(` + Schema + `.ewkb_double(b, (o + 16 * i)::integer, le)::text || ' ' || ` + Schema + `.ewkb_double(b, (o + 16 * i + 8)::integer, le)::text, ',' ORDER BY i)
				INTO part FROM generate_series(0, n - 1) i;
			o := o + 16 * n::integer;
			out := out || CASE WHEN r > 1 THEN ',' ELSE '' END || '(' || coalesce(part, '') || ')';
		END LOOP;
		out := CASE WHEN kind = 2 THEN 'LINESTRING' || out ELSE 'POLYGON(' || out || ')' END;
	ELSE
		RAISE EXCEPTION 'redshift-standin: ST_AsEWKT of geometry type % is not implemented', kind;
	END IF;
	out := srid || out;
	IF octet_length(out) > 65535 THEN
		RAISE EXCEPTION 'Value too long for character type' USING ERRCODE = '22001';
	END IF;
	RETURN out;
END $f$;

-- r_FNV_HASH: "the 64-bit FNV-1a non-cryptographic hash", of a VARCHAR's
-- bytes, its optional BIGINT seed being the hash's state (so
-- FNV_HASH('cd', FNV_HASH('ab')) = FNV_HASH('abcd')), the default seed
-- FNV's offset basis. Only VARCHAR input: other types are hashed by their
-- binary form, which the library does not use.
CREATE OR REPLACE FUNCTION public.fnv_hash(v text, seed bigint DEFAULT -3750763034362895579) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
	b bytea := convert_to(v, 'UTF8');
	h numeric := CASE WHEN seed < 0 THEN seed::numeric + 18446744073709551616 ELSE seed END;
	x bigint;
BEGIN
	FOR i IN 0..length(b) - 1 LOOP
		x := (CASE WHEN h >= 9223372036854775808 THEN h - 18446744073709551616 ELSE h END)::bigint # get_byte(b, i);
		h := mod((CASE WHEN x < 0 THEN x::numeric + 18446744073709551616 ELSE x END) * 1099511628211, 18446744073709551616);
	END LOOP;
	RETURN (CASE WHEN h >= 9223372036854775808 THEN h - 18446744073709551616 ELSE h END)::bigint;
END $f$;
-- format_type as Redshift's catalog prints a column's type: an interval
-- with a year-month qualifier is Redshift's type intervaly2m, one with a
-- day-second qualifier intervald2s (the names AWS's drivers map:
-- redshift-jdbc42's and redshift_connector's type tables); the rest as
-- PostgreSQL prints it (the stand-in's domains by their names).
CREATE OR REPLACE FUNCTION ` + Schema + `.format_type(t oid, m integer) RETURNS text LANGUAGE sql STABLE AS $f$
	SELECT CASE WHEN t = 'pg_catalog.interval'::regtype AND m IS NOT NULL AND m <> -1 THEN
		CASE WHEN (m >> 16) & (8 | 1024 | 2048 | 4096) <> 0 THEN 'intervald2s' ELSE 'intervaly2m' END
		ELSE pg_catalog.format_type(t, m) END
$f$;
GRANT EXECUTE ON FUNCTION ` + Schema + `.format_type(oid, integer) TO PUBLIC;

-- r_SUPER_type, JSON_PARSE, JSON_SERIALIZE: SUPER columns, for tests to
-- create (CREATE TABLE t (d super)) and fill as on Redshift, with
-- JSON_PARSE('…'). A client that selects one receives its JSON text,
-- compact, as JSON_SERIALIZE prints it ('[10001,10002,"abc"]'): a domain
-- over text whose values are that form (json_compact checks the JSON and
-- drops the white space outside strings); the catalog names it super.
CREATE OR REPLACE FUNCTION ` + Schema + `.json_compact(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$
	SELECT regexp_replace(t::json::text, '("(?:[^"\\]|\\.)*")|\s+', '\1', 'g')
$f$;
GRANT EXECUTE ON FUNCTION ` + Schema + `.json_compact(text) TO PUBLIC;
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typname = 'super') THEN
		CREATE DOMAIN public.super AS text CHECK (VALUE = ` + Schema + `.json_compact(VALUE));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = 'json_parse') THEN
		CREATE FUNCTION public.json_parse(text) RETURNS public.super LANGUAGE sql IMMUTABLE STRICT
			AS $f$SELECT ` + Schema + `.json_compact($1)::public.super$f$;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = 'json_serialize') THEN
		CREATE FUNCTION public.json_serialize(public.super) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $f$SELECT $1::text$f$;
	END IF;
END $d$;

-- r_HLLSKTECH_type: HLLSKETCH columns, for tests to create. Redshift
-- prints a sparse sketch as JSON ({"version":1,"logm":15,"sparse":
-- {"indices":[…],"values":[…]}}) and a dense one as Base64 text: a domain
-- over text that holds one of these forms; the catalog names it hllsketch.
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = 'public' AND t.typname = 'hllsketch') THEN
		CREATE DOMAIN public.hllsketch AS text CHECK (
			(VALUE ~ '^\{("version":[0-9]+,)?"logm":[0-9]+,"sparse":\{"indices":\[[0-9,]*\],"values":\[[0-9,]*\]\}\}$'
				AND VALUE = ` + Schema + `.json_compact(VALUE))
			OR VALUE ~ '^([A-Za-z0-9+/]{4})+([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$');
	END IF;
END $d$;

-- r_CREATE_TABLE_NEW (IDENTITY clause): Redshift's catalog prints an
-- IDENTITY column's default as "identity"(<table oid>, <column>,
-- '<seed>,<step>'::text). A function named identity in public gives that
-- form unquoted, identity(0, 0, '1,1'::text), for tests to declare IDENTITY
-- columns with (id bigint DEFAULT identity(0, 0, '1,1'::text)). It returns
-- NULL: tests give the values, as Redshift does not assign them in load
-- order (they choose the order a test needs).
DO $d$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.proname = 'identity') THEN
		CREATE FUNCTION public.identity(bigint, integer, text) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT NULL::bigint';
	END IF;
END $d$;
`)
	// Casts to text: one to_varchar overload per castable type, so that
	// any other type finds none and the relay turns PostgreSQL's "function
	// to_varchar(T) does not exist" into Redshift's "cannot cast type T to
	// character varying".
	for _, t := range castableToText {
		body := "$1::text"
		if t == "time with time zone" {
			// r_Datetime_types: TIMETZ values are UTC, printed +00 (as
			// render.go prints a TIMETZ column); 24:00:00+00 kept.
			body = "CASE WHEN extract(timezone FROM $1) = 0 THEN $1::text ELSE ($1 AT TIME ZONE 'UTC')::text END"
		}
		fmt.Fprintf(&b, "CREATE OR REPLACE FUNCTION %s.to_varchar(%s) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$SELECT %s$f$;\n", Schema, t, body)
	}
	return b.String()
}

// install runs installSQL in the database of url (the upstream URL with
// the client's database).
func install(ctx context.Context, url string) error {
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "BEGIN;\n"+installSQL()+"COMMIT;").ReadAll()
	return err
}
