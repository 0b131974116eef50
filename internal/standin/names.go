// This file holds Redshift's lists of names the analysis checks against:
// leader-node-only, unsupported and missing functions, missing types,
// documented settings, and the keywords that shape a statement.

package standin

import (
	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// leaderOnly are the leader-node-only functions (c_SQL_functions_leader_node_only),
// the deprecated ones included.
var leaderOnly = set("current_schema", "current_schemas", "has_database_privilege", "has_schema_privilege",
	"has_table_privilege", "factorial", "age", "now", "localtime", "isfinite", "getbit", "get_bit",
	"get_byte", "set_bit", "set_byte", "to_ascii", "version")

// unsupported are functions PostgreSQL has and Redshift documents as
// unsupported (c_unsupported-postgresql-functions): on the leader node they
// may answer ("some unsupported functions will not return an error when run
// on the leader node"), on tables they are rejected.
var unsupported = set("string_agg", "array_agg", "every", "xml_agg", "xmlagg", "corr", "covar_pop", "covar_samp",
	"regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
	"regr_syy", "clock_timestamp", "justify_days", "justify_hours", "justify_interval", "pg_sleep",
	"transaction_timestamp", "div", "setseed", "width_bucket", "generate_series", "generate_subscripts",
	"bit_length", "overlay", "convert", "convert_from", "convert_to", "encode", "format", "quote_nullable",
	"regexp_matches", "regexp_split_to_array", "regexp_split_to_table", "unnest", "array_to_string",
	"array_upper", "array_lower", "array_length", "array_cat", "array_append", "array_prepend", "array_dims",
	"string_to_array", "nextval", "currval", "setval", "lastval", "pg_advisory_lock", "pg_try_advisory_lock",
	"pg_advisory_unlock", "pg_advisory_xact_lock")

// missing are PostgreSQL functions that came after 8.0.2 and that Redshift
// never added (its function reference has none of them; most are in the
// unsupported groups "snapshot synchronization", "database object size",
// "database object location", "recovery information", "system
// administration"): every call is "function ... does not exist".
var missing = set("pg_export_snapshot", "txid_current", "txid_current_snapshot", "txid_current_if_assigned",
	"txid_snapshot_xmin", "txid_snapshot_xmax", "txid_snapshot_xip", "txid_visible_in_snapshot",
	"pg_current_snapshot", "pg_current_xact_id", "pg_current_xact_id_if_assigned", "pg_snapshot_xmin",
	"pg_snapshot_xmax", "pg_snapshot_xip", "pg_relation_filenode", "pg_relation_filepath", "pg_relation_size",
	"pg_total_relation_size", "pg_table_size", "pg_indexes_size", "pg_database_size", "pg_control_system",
	"pg_postmaster_start_time", "pg_is_in_recovery", "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp",
	"statement_timestamp", "json_agg", "jsonb_agg", "to_json", "to_jsonb", "row_to_json", "json_build_object",
	"jsonb_build_object", "gen_random_uuid", "pg_blocking_pids", "pg_xact_commit_timestamp")

// badTypes are PostgreSQL types Redshift does not have
// (c_unsupported-postgresql-datatypes); naming one in a cast is "type ...
// does not exist".
var badTypes = set("json", "jsonb", "uuid", "xml", "bytea", "money", "inet", "cidr", "macaddr", "macaddr8",
	"tsvector", "tsquery", "point", "line", "lseg", "box", "path", "polygon", "circle", "bit", "varbit",
	"serial", "bigserial", "smallserial", "serial4", "serial8", "serial2", "int4range", "int8range", "numrange",
	"tsrange", "tstzrange", "daterange", "txid_snapshot", "pg_snapshot", "hstore", "jsonpath", "pg_lsn")

// settings are the configuration parameters Redshift documents
// (cm_chap_ConfigurationRef), which SET and RESET accept.
var settings = set("analyze_threshold_percent", "cast_super_null_on_error", "datestyle", "default_geometry_encoding",
	"describe_field_name_in_uppercase", "enable_case_sensitive_identifier", "enable_case_sensitive_super_attribute",
	"enable_numeric_rounding", "enable_result_cache_for_session", "enable_vacuum_boost",
	"error_on_nondeterministic_update", "extra_float_digits", "json_parse_dedup_attributes",
	"json_serialization_enable", "json_serialization_parse_nested_strings", "max_concurrency_scaling_clusters",
	"max_cursor_result_set_size", "mv_enable_aqmv_for_session", "navigate_super_null_on_error",
	"parse_super_null_on_error", "query_group", "search_path", "spectrum_query_maxerror", "statement_timeout",
	"stored_proc_log_min_messages", "timezone", "use_fips_ssl", "wlm_query_slot_count",
	// Not in the reference but accepted: application_name (AWS's drivers
	// set it), client_encoding (every PostgreSQL driver sets it), session
	// authorization (r_SET_SESSION_AUTHORIZATION).
	"application_name", "client_encoding", "session")

// rowContext are the keywords after which a parenthesised list is a row
// constructor, not an argument, column or VALUES list.
var rowContext = set("select", "distinct", "where", "and", "or", "not", "on", "when", "then", "else", "having", "return")

// keywords are reserved words that cannot name a function: a "(" after one
// opens an expression, not an argument list.
var keywords = set("select", "distinct", "where", "and", "or", "not", "on", "when", "then", "else", "having",
	"return", "in", "is", "as", "from", "by", "case", "end", "all", "any", "some", "exists", "between", "like",
	"ilike", "limit", "offset", "union", "intersect", "except", "join", "with", "values", "array", "using", "set")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var comparisons = set("=", "<>", "!=", "<", ">", "<=", ">=")

func isName(t sqltok.Token) bool { return t.Kind == sqltok.Ident || t.Kind == sqltok.QuotedIdent }
