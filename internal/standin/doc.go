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
// # Behaviours
//
// Each behaviour follows the page of Amazon Redshift's Database Developer
// Guide named (https://docs.aws.amazon.com/redshift/latest/dg/<page>.html).
// SQLSTATEs and texts come from the page, or, where AWS documents none,
// from errors Redshift clusters are reported to give (marked *), or are the
// stand-in's own (marked †):
//
//	behaviour                                       page                                   answer
//	version()                                       r_VERSION                              "PostgreSQL 8.0.2 on i686-pc-linux-gnu, …, Redshift 1.0.12103"
//	server_version parameter status                 r_VERSION                              8.0.2
//	GETDATE() / SYSDATE                             r_GETDATE / r_SYSDATE                  statement / transaction start, TIMESTAMP in UTC
//	CURRENT_NAMESPACE                               r_CURRENT_NAMESPACE                    a stable cluster id (from the upstream's system identifier)
//	SVV_TABLE_INFO                                  r_SVV_TABLE_INFO                       documented columns and types; no row for an empty table;
//	                                                                                       superusers only (else 42501 "permission denied for relation
//	                                                                                       svv_table_info"*) until GRANT SELECT; tbl_rows exact;
//	                                                                                       diststyle/sortkey1 AUTO(EVEN)/AUTO(SORTKEY) unless a row of
//	                                                                                       redshift_standin.table_attributes says otherwise
//	SVV_TRANSACTIONS                                r_SVV_TRANSACTIONS                     documented columns; one row per relation or transactionid
//	                                                                                       lock; all rows for superusers, own rows for others; xid 0
//	                                                                                       for a transaction that has not written†
//	casts to TEXT/VARCHAR (:: and CAST) of types    c_unsupported-postgresql-features,     42846 "cannot cast type boolean to character varying"*
//	  PostgreSQL 8.0.2 cannot cast (boolean,        r_CAST_function                        (also int2vector, smallint[], regproc, any array)
//	  arrays, int2vector, regproc, …)
//	row constructors in a select list               c_unsupported-postgresql-features      0A000 "ROW expression, implicit or explicit, is not
//	  ((a, b), ROW(a, b))                             ("Row constructors")                   supported in target list"*
//	row comparisons ((a, b) > (x, y), ROW(…) = …)   c_unsupported-postgresql-features      0A000 "row value constructors and row comparisons are not
//	                                                                                       supported"†
//	INSERT … ON CONFLICT                            r_INSERT_30 (no such clause)           42601 syntax error at or near "ON"
//	aggregate FILTER (WHERE …)                      r_Aggregate_Functions (no FILTER)      42601 syntax error at or near "FILTER"
//	LATERAL                                         r_FROM_clause30 (no LATERAL)           42601 syntax error at or near the token after LATERAL
//	COPY … FROM STDIN                               r_COPY (sources: S3, EMR, DynamoDB,    XX000 "LOAD source is not supported. (Hint: only S3 or
//	                                                  SSH)                                   DynamoDB or EMR based load is allowed)"*
//	COPY … TO STDOUT                                r_COPY (no TO), r_UNLOAD               42601 syntax error at or near "TO"
//	functions PostgreSQL added after 8.0.2 that     c_unsupported-postgresql-functions     42883 "function pg_export_snapshot() does not exist"
//	  Redshift lacks (snapshot, txid_*, object        (snapshot synchronization, object      (argument types as the server resolves them)
//	  size/location, pg_control_system,               size/location, recovery information,
//	  statement_timestamp, json_*, …)                 system administration)
//	unsupported functions (string_agg, array_agg,   c_unsupported-postgresql-functions,    0A000 "Specified types or functions (one per INFO message)
//	  generate_series, array functions, …) and        c_SQL_functions_leader_node_only       not supported on Redshift tables."*, with INFO
//	  leader-node-only functions (version,                                                   'Function "name()" not supported.' per function,
//	  current_schema, has_*_privilege, now, …) in                                            in a statement that reads a user or system table
//	  a statement that reads a table                                                         (on the leader node alone they run)
//	types Redshift lacks in a cast (json, jsonb,    c_unsupported-postgresql-datatypes     42704 type "jsonb" does not exist
//	  uuid, bytea, inet, serial, ranges, …)
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
//	  ($1::interval, CAST($1 AS interval))            the INTERVAL keyword, a quantity       parameter where it needs a constant, as for LIMIT $1)
//	                                                  and a date part)
//	PRIMARY KEY informational, NOT NULL enforced    t_Defining_constraints,                redshift_standin.informational_primary_key(table) makes
//	                                                  r_CREATE_TABLE_NEW                     a key's columns nullable, as Redshift's are when declared
//	                                                                                       without NOT NULL† (PostgreSQL makes them NOT NULL)
//	FNV_HASH(varchar [, seed])                      r_FNV_HASH                             64-bit FNV-1a of the text's bytes, the seed the hash's
//	                                                                                       state (a function public.fnv_hash; VARCHAR input only)
//	VARBYTE                                         r_VARBYTE_type                         a varbyte domain (over bytea, in schema public) that tests
//	                                                                                       create columns of; values printed in hexadecimal, no \x
//	UNLOAD … FORMAT PARQUET (with -s3)              r_UNLOAD, r_UNLOAD_command_examples    runs (see "UNLOAD" below); INFO "UNLOAD completed, N
//	                                                                                       record(s) unloaded successfully."*, then tag UNLOAD, no rows
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
// Not enforced (yet): IS DISTINCT FROM (listed unsupported; its error text is
// undocumented), VALUES lists as constant tables, subscripts outside the
// catalog, window NULLS clauses, compute-node-only functions without a
// table (LISTAGG, MEDIAN); values other than floats and VARBYTE are relayed
// as PostgreSQL renders them (no TIMETZ or INTERVAL forms; bytea_output
// escape is not turned to hex); there is no SUPER or HLLSKETCH type, and no
// spatial function but ST_AsEWKT. The command's -s3 endpoint is package
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
// privileges are the client's.
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
//	DATE                           INT32                           DATE                          date
//	TIMESTAMP                      INT96 (Julian day, ns of day)   —                             timestamp without time zone
//	TIMESTAMPTZ                    INT96, the UTC instant          —                             timestamp with time zone
//	TIME                           INT64                           TIME(MICROS, not UTC)†        time without time zone
//	TIMETZ                         INT64, the time in UTC          TIME(MICROS, UTC)†            time with time zone
//	SUPER (domain super)           BYTE_ARRAY, compact JSON text   JSON                          super
//	GEOMETRY, GEOGRAPHY,           rejected: "only to text or CSV" (r_UNLOAD usage notes)
//	  HLLSKETCH, VARBYTE
//	INTERVAL, NUMERIC without      rejected† (no documented Parquet form; Redshift's NUMERIC always has
//	  precision, other types         precision and scale): cast in the query
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
