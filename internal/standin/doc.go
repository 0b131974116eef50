// Package standin is a Redshift stand-in for tests: a PostgreSQL
// wire-protocol proxy (built on github.com/jackc/pgx/v5/pgproto3) in front
// of a PostgreSQL server, that behaves as Amazon Redshift documents where
// the library meets a difference. internal/cmd/redshift-standin runs it.
//
// # Design
//
// The client's startup and authentication are relayed to the upstream as
// they are: the client logs in to the upstream PostgreSQL with its own role
// (so privileges are real: a role without a grant is refused as on
// Redshift), and BackendKeyData passes through, so a CancelRequest is
// relayed to the upstream and cancels the statement. TLS is declined ('N'):
// the stand-in is a loopback fixture. Once a connection is authenticated,
// the stand-in makes sure its database has the schema redshift_standin
// (catalog.go: Redshift's functions and system views as views and
// functions over the upstream catalog, created as the upstream URL's role,
// a superuser), then relays every message both ways.
//
// The SQL of every Query and Parse message is tokenized the way Redshift
// reads it (package sqltok: quotes, dollar quotes, comments, and
// backslash escapes in '…', which Redshift honours and PostgreSQL 9.1+
// does not) and checked statement by statement. A text Redshift rejects is
// replaced by a statement that fails on the upstream at Parse, exactly
// where Redshift would fail (so a transaction is aborted and the extended
// protocol's error handling is the server's own); the relay replaces that
// error with Redshift's SQLSTATE and text, preceded by Redshift's INFO
// notices where Redshift sends them. A text with several statements is
// rejected whole. An accepted text is rewritten (Redshift's functions and
// views to the stand-in's schema) and sent on; errors that show the
// rewrite are reworded as Redshift words them, and their positions (in a
// text the client never saw) dropped.
//
// # Types PostgreSQL lacks
//
// VARBYTE, GEOMETRY, GEOGRAPHY, SUPER and HLLSKETCH are domains of the
// same names in schema public, created with the schema above: tests create
// columns of them with the Redshift type names, and Redshift's catalog
// functions (format_type, as the Redshift dialect reads columns) print the
// domain's name, as Redshift prints its own types. The values are held in
// the form Redshift sends a client (VARBYTE over bytea, printed in hex by
// the relay; the others over text, holding the printed form itself, since
// PostgreSQL describes a domain's values by its base type): hexadecimal
// EWKB, compact JSON for SUPER (filled with JSON_PARSE, as on Redshift),
// a sketch's JSON or Base64 for HLLSKETCH. A domain reaches a RowDescription
// as its base type's OID (bytea or text), where Redshift sends its own
// (SUPER 4000, for one): the library chooses decoders from the catalog's
// type names, never from OIDs.
//
// # Behaviours
//
// Each behaviour follows the page of Amazon Redshift's Database Developer
// Guide named (https://docs.aws.amazon.com/redshift/latest/dg/<page>.html).
// SQLSTATEs and texts come from the page, or, where AWS documents none,
// from errors Redshift clusters are reported to give (marked *, with the
// GitHub issue or pull request that shows it: owner/repo#n), or are the
// stand-in's own (marked †):
//
//	behaviour                                       page                                   answer
//	version()                                       r_VERSION                              "PostgreSQL 8.0.2 on i686-pc-linux-gnu, …, Redshift 1.0.12103"
//	server_version parameter status                 r_VERSION                              8.0.2
//	GETDATE() / SYSDATE                             r_GETDATE / r_SYSDATE                  statement / transaction start, TIMESTAMP in UTC
//	CURRENT_NAMESPACE                               r_CURRENT_NAMESPACE                    a stable cluster id (from the upstream's system identifier)
//	SVV_TABLE_INFO                                  r_SVV_TABLE_INFO                       documented columns and types; no row for an empty table;
//	                                                                                       superusers only (else 42501 "permission denied for relation
//	                                                                                       svv_table_info"*, dbeaver/dbeaver#39984) until GRANT SELECT;
//	                                                                                       tbl_rows exact;
//	                                                                                       diststyle/sortkey1 AUTO(EVEN)/AUTO(SORTKEY) unless a row of
//	                                                                                       redshift_standin.table_attributes says otherwise
//	SVV_TRANSACTIONS                                r_SVV_TRANSACTIONS                     documented columns; one row per relation or transactionid
//	                                                                                       lock; all rows for superusers, own rows for others; xid 0
//	                                                                                       for a transaction that has not written†
//	casts to TEXT/VARCHAR (:: and CAST) of types    c_unsupported-postgresql-features,     42846 "cannot cast type boolean to character varying"*
//	  PostgreSQL 8.0.2 cannot cast (boolean,        r_CAST_function                        (dimitri/pgloader#1549; also int2vector, smallint[],
//	                                                                                       regproc, any array: same text, the type named†)
//	  arrays, int2vector, regproc, …)
//	row constructors in a select list               c_unsupported-postgresql-features      0A000 "ROW expression, implicit or explicit, is not
//	  ((a, b), ROW(a, b))                             ("Row constructors")                   supported in target list"* (psycopg/psycopg2#882)
//	row comparisons ((a, b) > (x, y), ROW(…) = …)   c_unsupported-postgresql-features      0A000 "row value constructors and row comparisons are not
//	                                                                                       supported"†
//	INSERT … ON CONFLICT                            r_INSERT_30 (no such clause)           42601 syntax error at or near "ON"
//	aggregate FILTER (WHERE …)                      r_Aggregate_Functions (no FILTER)      42601 syntax error at or near "("* (FILTER read as an
//	                                                                                       alias: AgamiAI/agami-core#325)
//	LATERAL                                         r_FROM_clause30 (no LATERAL)           42601 syntax error at or near the token after LATERAL
//	COPY … FROM STDIN                               r_COPY (sources: S3, EMR, DynamoDB,    42601 syntax error at or near "STDIN"*
//	                                                  SSH)                                   (darwin-eu/CDMConnector#38)
//	COPY … TO STDOUT                                r_COPY (no TO), r_UNLOAD               42601 syntax error at or near "TO"
//	functions PostgreSQL added after 8.0.2 that     c_unsupported-postgresql-functions     42883 "function pg_export_snapshot() does not exist"
//	  Redshift lacks (snapshot, txid_*, object        (snapshot synchronization, object      (argument types as the server resolves them)
//	  size/location, pg_control_system,               size/location, recovery information,
//	  statement_timestamp, json_*, …)                 system administration)
//	unsupported functions (string_agg, array_agg,   c_unsupported-postgresql-functions,    0A000 "Specified types or functions (one per INFO message)
//	  generate_series, array functions, …) and        c_SQL_functions_leader_node_only       not supported on Redshift tables."*
//	  leader-node-only functions (version,                                                   (liquibase/liquibase-redshift#1: NOW() in an INSERT),
//	  current_schema, has_*_privilege, now, …) in                                            with INFO 'Function "name()" not supported.'† per
//	  a statement that reads a table                                                         function, in a statement that reads a user or system
//	                                                                                       table (on the leader node alone they run)
//	types Redshift lacks in a cast (json, jsonb,    c_unsupported-postgresql-datatypes     42704 type "jsonb" does not exist†
//	  uuid, bytea, inet, serial, ranges, …)
//	  … as a column type in CREATE TABLE            c_unsupported-postgresql-datatypes     0A000† 'Column "t.id" has unsupported type "serial".'*
//	                                                                                       (salsita/node-pg-migrate#767, awsdocs/amazon-redshift-
//	                                                                                       developer-guide#47)
//	IS [NOT] DISTINCT FROM in a statement that      c_unsupported-postgresql-functions     XX000† "Not implemented"* (jakob/Postico#446: code
//	  reads a table                                   ("IS DISTINCT FROM")                   generation, cg_expr.cpp); on the leader node it runs
//	SELECT DISTINCT ON (…)                          r_SELECT_list (no DISTINCT ON)         0A000 "SELECT DISTINCT ON is not supported"* (jakob/
//	                                                                                       Postico#420, jazzband/django-redshift-backend#14)
//	ANY / SOME with an operator other than =        r_comparison_condition                 0A000 "ANY or SOME with <, >, <=, >=, <>, or != comparison
//	                                                                                       condition is not supported"* (jOOQ/jOOQ#18394)
//	SET / RESET of a parameter Redshift lacks       cm_chap_ConfigurationRef               42704 unrecognized configuration parameter "…"
//	SET extra_float_digits above 2 (or below -15)   r_extra_float_digits                   22023 "3 is outside the valid range for parameter
//	                                                                                       "extra_float_digits" (-15 .. 2)"
//	backslash escapes in '…' literals               r_Literals (and no                     read as escapes (sent upstream as E'…')
//	                                                  standard_conforming_strings)
//	REAL / DOUBLE PRECISION values                  r_extra_float_digits                   "%.*g" with 6 / 15 + extra_float_digits digits (8 / 17 at
//	                                                                                       Redshift's maximum, 2), not PostgreSQL 12's shortest form
//	IDENTITY column defaults                        r_CREATE_TABLE_NEW (IDENTITY clause)   a function public.identity(bigint, integer, text) that tests
//	                                                                                       declare columns with (DEFAULT identity(0, 0, '1,1'::text)),
//	                                                                                       printed by the catalog as Redshift prints an IDENTITY default;
//	                                                                                       it returns NULL: tests give the values, which Redshift does
//	                                                                                       not assign in load order
//	GEOMETRY, GEOGRAPHY                             r_GEOMETRY_type,                       domains geometry and geography (over text, in schema public)
//	                                                  ST_AsHexEWKB-function,               that tests create columns of, holding the hexadecimal EWKB
//	                                                  copy-usage_notes-spatial-data        in upper case that Redshift sends for a column selected raw
//	                                                                                       (over text: PostgreSQL describes a domain by its base type,
//	                                                                                       and bytea is rendered as VARBYTE)
//	ST_AsEWKT(geometry)                             ST_AsEWKT-function                     EWKT with 15 significant digits per coordinate; 22001 "Value too
//	                                                                                       long for character type"† past a 64-KB VARCHAR (2D points,
//	                                                                                       linestrings, polygons only)
//	a bound parameter cast to INTERVAL              r_interval_literals (an interval is    XX000 "Not implemented"* (Redshift's answer to a
//	  ($1::interval, CAST($1 AS interval))            the INTERVAL keyword, a quantity       parameter where it needs a constant, as for LIMIT $1:
//	                                                                                       aws/amazon-redshift-python-driver#24; for an interval
//	                                                                                       it is the stand-in's inference†)
//	                                                  and a date part)
//	PRIMARY KEY informational, NOT NULL enforced    t_Defining_constraints,                redshift_standin.informational_primary_key(table) makes
//	                                                  r_CREATE_TABLE_NEW                     a key's columns nullable, as Redshift's are when declared
//	                                                                                       without NOT NULL† (PostgreSQL makes them NOT NULL)
//	FNV_HASH(varchar [, seed])                      r_FNV_HASH                             64-bit FNV-1a of the text's bytes, the seed the hash's
//	                                                                                       state (a function public.fnv_hash; VARCHAR input only)
//	VARBYTE                                         r_VARBYTE_type                         a varbyte domain (over bytea, in schema public) that tests
//	                                                                                       create columns of; values printed in hexadecimal, no \x
//	FROM_VARBYTE(v, format), TO_VARBYTE(s, format)  r_FROM_VARBYTE, r_TO_VARBYTE           public.from_varbyte / to_varbyte; formats hex, binary, utf8
//	                                                  (varbyte-functions)                    (utf-8, utf_8), base64 in any case; TO_VARBYTE puts a 0 before
//	                                                                                       an odd-length hex string; another format: 22023 'invalid
//	                                                                                       format "…": give hex, binary, utf8 or base64'†
//	TIMETZ values                                   r_Datetime_types ("TIMETZ values are   the time of day in UTC, offset +00 ("13:24:55 PST" is
//	                                                  UTC"), r_DATEADD_function (TIMETZ      "21:24:55+00"), in a TIMETZ column and in a cast to VARCHAR
//	                                                  examples)                              (PostgreSQL keeps the offset a value was written with)
//	SUPER                                           r_SUPER_type, JSON_PARSE,              a super domain (over text, in schema public) that tests create
//	                                                  JSON_SERIALIZE                         columns of and fill with JSON_PARSE('…') as on Redshift
//	                                                                                       (public.json_parse; public.json_serialize reads one back);
//	                                                                                       values are compact JSON text, '[10001,10002,"abc"]', as
//	                                                                                       JSON_SERIALIZE prints them (the domain admits no other form)
//	HLLSKETCH                                       r_HLLSKTECH_type                       an hllsketch domain (over text, in schema public) holding
//	                                                                                       Redshift's printed forms: a sparse sketch's JSON
//	                                                                                       ({"version":1,"logm":15,"sparse":{"indices":[…],"values":[…]}})
//	                                                                                       or a dense one's Base64; no HLL functions
//	INTERVAL with a qualifier                       r_interval_data_types ("Interval       format_type names the types intervaly2m (YEAR, MONTH, YEAR
//	  (INTERVAL YEAR TO MONTH, DAY TO SECOND, …)      styles", "Examples of interval         TO MONTH) and intervald2s (DAY … SECOND), as Redshift's
//	                                                  literals"); the type names of      catalog does; a value is printed with every unit of its kind,
//	                                                  redshift-jdbc42 and                    "1 years 8 mons", "0 days 0 hours 2 mins 2.0 secs", and cast
//	                                                  redshift_connector                     to text in the postgres style, "1 year 8 mons", "2 days
//	                                                                                       01:01:00" ("cast it to text to see the expected interval
//	                                                                                       style")†: the page's SELECT * example prints a column in
//	                                                                                       the postgres style, its literal examples in the long form
//	UNLOAD … FORMAT PARQUET (with -s3)              r_UNLOAD, r_UNLOAD_command_examples    runs (see "UNLOAD" below); INFO "UNLOAD completed, N
//	                                                                                       record(s) unloaded successfully."*, then tag UNLOAD, no rows
//	PG_LAST_UNLOAD_COUNT()                          PG_LAST_UNLOAD_COUNT                   the rows of the session's last completed UNLOAD; 0 before
//	                                                                                       any and after one that failed while unloading; the previous
//	                                                                                       count after one rejected for its syntax or privileges (SQLSTATE
//	                                                                                       class 42, a missing table included†); in a statement prepared
//	                                                                                       once, the count at its Parse†
//	UNLOAD options r_UNLOAD says don't go together  r_UNLOAD (FORMAT, HEADER, DELIMITER,   0A000 "UNLOAD: PARQUET cannot be used with GZIP (r_UNLOAD)"†
//	  (PARQUET with DELIMITER, FIXEDWIDTH,            FIXEDWIDTH, CLEANPATH, KMS_KEY_ID,     (and alike for each pair); 0A000 "UNLOAD: PARQUET with
//	  ADDQUOTES, ESCAPE, NULL AS, HEADER, GZIP,       MASTER_SYMMETRIC_KEY, IAM_ROLE),       ENCRYPTED is only supported with server-side encryption with an
//	  BZIP2, ZSTD, client-side ENCRYPTED; CSV or      copy-parameters-authorization          AWS KMS key (KMS_KEY_ID) (r_UNLOAD)"†; an option twice: 42601
//	  JSON with text options; FIXEDWIDTH with                                                "conflicting or redundant options: … is given twice"†
//	  DELIMITER/HEADER; CLEANPATH with
//	  ALLOWOVERWRITE; KMS_KEY_ID without
//	  ENCRYPTED or with CREDENTIALS; IAM_ROLE with
//	  keys or CREDENTIALS; a key without its secret)
//	UNLOAD MAXFILESIZE / ROWGROUPSIZE out of range  r_UNLOAD (5 MB–6.2 GB; integer          XX000 "UNLOAD: MAXFILESIZE 4 MB is out of range: give a value
//	                                                  32–128 MB, Parquet only)               between 5 MB and 6.2 GB (r_UNLOAD)"†
//	UNLOAD with a LIMIT in the outer SELECT         r_UNLOAD ("Limit clause")              0A000 "Limit clause is not supported in the outermost select of
//	                                                                                       an UNLOAD statement"*
//	UNLOAD to a prefix that holds files             r_UNLOAD (ALLOWOVERWRITE, CLEANPATH)   XX000 "Specified unload destination on S3 is not empty. Consider
//	                                                                                       using a different bucket / prefix, manually removing the
//	                                                                                       target files in S3, or using the ALLOWOVERWRITE option."*;
//	                                                                                       ALLOWOVERWRITE replaces, CLEANPATH first deletes the prefix
//	UNLOAD to PARQUET of GEOMETRY, GEOGRAPHY,       r_UNLOAD usage notes ("only … to       0A000 "UNLOAD: column "g" is of type GEOMETRY, which UNLOAD
//	  HLLSKETCH, VARBYTE                              text or CSV format")                   writes only to text or CSV (r_UNLOAD usage notes): cast it in
//	                                                                                       the query"†
//	UNLOAD to an unknown bucket                     r_UNLOAD (TO)                          XX000 "S3ServiceException:… NoSuchBucket: The specified bucket
//	                                                                                       does not exist"* (Redshift's prefix, the stub's words)
//
// Not enforced (yet): VALUES lists as constant tables, subscripts outside the
// catalog, window NULLS clauses, compute-node-only functions without a
// table (LISTAGG, MEDIAN); values other than floats, VARBYTE, TIMETZ and
// interval expressions are relayed as PostgreSQL renders them
// (bytea_output escape is not turned to hex; a TIMETZ is printed in UTC
// whatever the session's time zone); SET IntervalStyle is not checked;
// FROM_HEX, TO_HEX and VARBYTE casts to and from integers are absent;
// there is no spatial function but ST_AsEWKT. The command's -s3 endpoint is package
// s3stub, apart from this one so that the proxy does not compile gofakes3
// (UNLOAD writes through the ObjectStore interface it satisfies).
//
// # UNLOAD
//
// With an ObjectStore (EnableUnload; the command's -s3), the stand-in
// executes UNLOAD (issue #16) as r_UNLOAD and r_UNLOAD_command_examples
// describe it, so that a reader is tested against what AWS documents, not
// against what it expects. The statement is recognised on sqltok's tokens
// (never a substring), in a Query message and in a Parse message, and must
// be sent alone. The grammar read (keywords in any case, AS optional where
// shown):
//
//	UNLOAD ( 'select-statement' ) TO 's3://bucket/name-prefix'
//	  { IAM_ROLE { DEFAULT | 'arn[,arn…]' }
//	  | ACCESS_KEY_ID 'id' SECRET_ACCESS_KEY 'key' [ SESSION_TOKEN 'token' ]
//	  | [ WITH ] CREDENTIALS [ AS ] 'aws_iam_role=arn | aws_access_key_id=…;aws_secret_access_key=…[;token=…]' }
//	  [ option … ]   (the authorization may also stand among the options)
//	option: [ FORMAT [ AS ] ] { PARQUET | CSV | JSON } | PARTITION BY ( col [, …] ) [ INCLUDE ]
//	  | MANIFEST [ VERBOSE ] | HEADER | DELIMITER [ AS ] 'c' | FIXEDWIDTH [ AS ] 'spec'
//	  | ENCRYPTED [ AUTO ] | KMS_KEY_ID 'id' | MASTER_SYMMETRIC_KEY 'key' | BZIP2 | GZIP | ZSTD
//	  | ADDQUOTES | NULL [ AS ] 's' | ESCAPE | ALLOWOVERWRITE | CLEANPATH
//	  | PARALLEL [ ON | TRUE | OFF | FALSE ] | MAXFILESIZE [ AS ] n [ MB | GB ]
//	  | ROWGROUPSIZE [ AS ] n [ MB | GB ] | REGION [ AS ] 'r' | EXTENSION 'ext'
//
// The select-statement is the literal's value as Redshift reads it: a doubled
// quote is a quote and a backslash escapes the next character (so a literal
// inside the query is quoted twice, its backslashes doubled at each
// level). That query passes the same analysis as any statement (its
// rejections are the UNLOAD's), then runs on the upstream over a
// connection of its own: the upstream URL's superuser, SET SESSION
// AUTHORIZATION to the client's user, in the client's database, so
// privileges are the client's; with the client session's DateStyle,
// IntervalStyle and TimeZone (as the upstream last reported them) and
// extra_float_digits (when the client set it), and the same rewrites, so
// text the query makes (CAST(interval AS VARCHAR), a TIMETZ, a float or a
// timestamp cast to VARCHAR) is what the SQL path returns for the same
// SELECT. Floats, dates, times and timestamps are read in PostgreSQL's
// binary form, so what is written to Parquet does not depend on those
// settings and covers the whole range (4713 BC to 294276 AD,
// r_Datetime_types). Column types, Redshift's domains included (SUPER from
// JSON_PARSE as from a column), are read from a temporary view of the query
// (rolled back; without the TEMP privilege, from the columns of the tables
// selected).
//
// Rows are dealt round-robin to the slices (4, or UnloadConfig.Slices;
// PARALLEL OFF: one), each writing <name-prefix><slice:04d>_part_<part:02d>.parquet
// (PARALLEL OFF: <name-prefix>000.parquet, 001, …); a slice without rows
// writes nothing†, and a result without rows writes no file and no
// manifest (reported from clusters*). Files are Parquet 1.0 (data page v1), SNAPPY
// row groups of 32 MB (ROWGROUPSIZE), a file ending after MAXFILESIZE
// rounded down to whole row groups (6.2 GB by default); sizes are counted
// on the text values and one MB is UnloadConfig.MB bytes (the command's
// -unload-mb), so tests reach several row groups and parts with small
// tables. MANIFEST writes <name-prefix>manifest: {"entries": [{"url":
// "s3://bucket/key", "meta": {"content_length": bytes}}]}, VERBOSE adding
// each entry's record_count, "schema": {"elements": [{"name", "type":
// {"base", "length" | "precision", "scale"}}]}, the totals in "meta" and
// "author": {"name": "Amazon Redshift", "version": "1.0.0"} (the documented
// example elides the dimension's key; "length", "precision" and "scale"
// are the stand-in's†).
//
// The Parquet types (every column optional: UNLOAD writes NOT NULL columns
// as nullable*; columns in the query's order). AWS documents SUPER as JSON
// and TIMESTAMPTZ without its zone; the physical forms are the Parquet
// specification's for each logical type, INT96 for timestamps as clusters
// are reported to write them*, and the rest the stand-in's†:
//
//	Redshift type                  Parquet physical                Parquet logical               manifest base
//	SMALLINT                       INT32                           INT(16, signed)               smallint
//	INTEGER                        INT32                           INT(32, signed)               integer
//	BIGINT                         INT64                           INT(64, signed)               bigint
//	DECIMAL(p,s), p ≤ 9            INT32                           DECIMAL(p,s)                  numeric (precision, scale)
//	DECIMAL(p,s), p ≤ 18           INT64                           DECIMAL(p,s)                  numeric
//	DECIMAL(p,s), p > 18           FIXED_LEN_BYTE_ARRAY(fewest)    DECIMAL(p,s)                  numeric
//	REAL / DOUBLE PRECISION        FLOAT / DOUBLE                  —                             real / double precision
//	BOOLEAN                        BOOLEAN                         —                             boolean
//	CHAR(n)                        BYTE_ARRAY (blank-padded)       STRING                        character (length n)
//	VARCHAR(n), TEXT               BYTE_ARRAY                      STRING                        character varying (n; TEXT 256)
//	DATE (4713 BC–294276 AD)       INT32, days since 1970-01-01    DATE                          date
//	TIMESTAMP (4713 BC–294276 AD)  INT96 (Julian day, ns of day)   —                             timestamp without time zone
//	TIMESTAMPTZ                    INT96, the UTC instant          —                             timestamp with time zone
//	TIME                           INT64                           TIME(MICROS, not UTC)†        time without time zone
//	TIMETZ                         INT64, the time in UTC          TIME(MICROS, UTC)†            time with time zone
//	SUPER (domain super, or        BYTE_ARRAY, compact JSON text   JSON (unload-super-parquet)   super
//	  JSON_PARSE in the query)       as the SQL path returns it
//	GEOMETRY, GEOGRAPHY,           rejected: "only to text or CSV" (r_UNLOAD usage notes); for VARBYTE
//	  HLLSKETCH, VARBYTE             select FROM_VARBYTE(col, 'hex') (r_FROM_VARBYTE), written as VARCHAR
//	INTERVAL, NUMERIC without      rejected† (no documented Parquet form; Redshift's NUMERIC always has
//	  precision, other types         precision and scale): cast in the query
//	infinite DATE, TIMESTAMP       rejected† (Redshift has no infinity)
//
// Simplified: the UNLOAD runs when its Parse (or Query) arrives, on its own
// connection, so it does not see the client's uncommitted writes nor its
// SET search_path (its transaction must not be aborted: then nothing is
// written and the upstream refuses the statement); the upstream runs a DO
// statement in its place, whose marker notice and tag the relay replaces
// with Redshift's INFO and tag UNLOAD. Only FORMAT PARQUET is executed;
// text, CSV, JSON, PARTITION BY and EXTENSION are checked, then refused†.
// ENCRYPTED, KMS_KEY_ID, REGION and the credentials are checked, not used:
// the object store is unauthenticated. Slices get rows round-robin, not by
// a distribution key; file and row-group sizes are estimated from the text
// values, not from the compressed Parquet.
package standin
