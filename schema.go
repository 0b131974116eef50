// This file holds catalog discovery: the two dialects and their catalog SQL,
// the tables and columns of a schema, and manual table specs.

package redshiftsync

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// catalogSQL is every catalog query of one dialect. Each takes the schema
// name as $1 and is run alone: Redshift runs catalog queries on the leader
// node only, so none of them touches a user table.
type catalogSQL struct {
	tables      string // relname, estimated rows
	columns     string // relname, attnum, attname, format_type, notnull, default expression, identity
	primaryKeys string // relname, conkey (int2[], read in its text form)
	tableInfo   string // relname, tbl_rows, sortkey1, diststyle; "" when the dialect has none
	indexes     string // relname, leading column of each valid btree index; "" when the dialect has none
}

var postgresCatalog = catalogSQL{
	tables: `SELECT c.relname AS name, c.reltuples::bigint AS estimate
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname`,
	// A column of a domain type is typed by the domain's base type (through
	// domains over domains): the server sends its values in the base type's
	// form, which lib/pq decodes as the base type (a time.Time for a domain
	// over date), so only the base type's decoder reads them right.
	columns: `WITH RECURSIVE domain_base AS (
	SELECT t.oid AS domain, t.typbasetype AS base, t.typtypmod AS typmod
	FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
	UNION ALL
	SELECT b.domain, t.typbasetype, t.typtypmod
	FROM domain_base b JOIN pg_catalog.pg_type t ON t.oid = b.base WHERE t.typtype = 'd'
)
SELECT c.relname AS table_name, a.attnum AS num, a.attname AS name,
	pg_catalog.format_type(COALESCE(db.base, a.atttypid), COALESCE(db.typmod, a.atttypmod)) AS source_type,
	a.attnotnull AS not_null,
	COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS default_expr,
	a.attidentity <> '' AS is_identity
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN domain_base db ON db.domain = a.atttypid
	AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type bt WHERE bt.oid = db.base AND bt.typtype = 'd')
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum`,
	primaryKeys: `SELECT c.relname AS table_name, con.conkey::text AS conkey
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND con.contype = 'p'`,
	indexes: `SELECT DISTINCT c.relname AS table_name, a.attname AS column_name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
WHERE n.nspname = $1 AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree'`,
}

// redshiftCatalog mirrors postgresCatalog with what Redshift's leader node
// offers: no relispartition or attidentity (identity shows as an "identity"(...)
// column default), and svv_table_info for row counts, sort and dist keys
// (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html).
var redshiftCatalog = catalogSQL{
	// A materialized view keeps its rows in a table named
	// mv_tbl__<view>__0, listed as an ordinary table: not a user table.
	// (Compared without LIKE: Redshift reads a backslash in a literal as an
	// escape, so 'mv\_tbl' would need doubled backslashes there.)
	tables: `SELECT c.relname AS name, -1::bigint AS estimate
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' AND substring(c.relname, 1, 8) <> 'mv_tbl__'
ORDER BY c.relname`,
	columns: `SELECT c.relname AS table_name, a.attnum AS num, a.attname AS name,
	pg_catalog.format_type(a.atttypid, a.atttypmod) AS source_type, a.attnotnull AS not_null,
	COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS default_expr,
	false AS is_identity
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum`,
	// conkey raw, in its text form {1,2}: casting an array to text
	// arrived in PostgreSQL 8.3, and Redshift (8.0.2) answers "cannot cast
	// type smallint[] to character varying".
	primaryKeys: `SELECT c.relname AS table_name, con.conkey AS conkey
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND con.contype = 'p'`,
	tableInfo: `SELECT "table" AS table_name, tbl_rows::bigint AS estimate,
	COALESCE(sortkey1, '') AS sortkey1, COALESCE(diststyle, '') AS diststyle
FROM svv_table_info WHERE "schema" = $1`,
}

// redshiftIdentity matches a Redshift IDENTITY column's default, as
// pg_get_expr prints it: "identity"(123456, 0, '1,1'::text).
var redshiftIdentity = regexp.MustCompile(`^"?identity"?\(`)

// detectDialect asks the server which dialect it speaks.
func detectDialect(ctx context.Context, db *sqlx.DB) (Dialect, error) {
	var version string
	if err := db.GetContext(ctx, &version, `SELECT version()`); err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) {
			return "", err // the first connection: its error says where and what to do
		}
		return "", fmt.Errorf("redshiftsync: read the server's version: %w", err)
	}
	return dialectOf(version), nil
}

// dialectOf reads a version() string.
func dialectOf(version string) Dialect {
	if strings.Contains(version, "Redshift") {
		return DialectRedshift
	}
	return DialectPostgres
}

// discoverTables reads every base table of schema from the catalog, in name
// order, with their columns and primary keys.
func discoverTables(ctx context.Context, db *sqlx.DB, dialect Dialect, schema string, log *slog.Logger) ([]*Table, error) {
	q := postgresCatalog
	if dialect == DialectRedshift {
		q = redshiftCatalog
	}
	var tables []struct {
		Name     string `db:"name"`
		Estimate int64  `db:"estimate"`
	}
	if err := db.SelectContext(ctx, &tables, q.tables, schema); err != nil {
		return nil, fmt.Errorf("redshiftsync: list tables of schema %q: %w", schema, err)
	}
	byName := make(map[string]*Table, len(tables))
	out := make([]*Table, 0, len(tables))
	for _, t := range tables {
		est := t.Estimate
		if est < 0 {
			est = -1
		}
		tbl := &Table{Schema: schema, Name: t.Name, EstimatedRows: est}
		byName[t.Name] = tbl
		out = append(out, tbl)
	}

	var cols []struct {
		Table      string `db:"table_name"`
		Num        int    `db:"num"`
		Name       string `db:"name"`
		SourceType string `db:"source_type"`
		NotNull    bool   `db:"not_null"`
		Default    string `db:"default_expr"`
		Identity   bool   `db:"is_identity"`
	}
	if err := db.SelectContext(ctx, &cols, q.columns, schema); err != nil {
		return nil, fmt.Errorf("redshiftsync: read columns of schema %q: %w", schema, err)
	}
	attnames := map[string]map[int]string{}
	for _, c := range cols {
		tbl := byName[c.Table]
		if tbl == nil {
			continue
		}
		lt, p, s, n, known := logicalType(c.SourceType)
		if !known {
			log.Warn("unknown column type: delivered as text", "table", tbl.QualifiedName(), "column", c.Name, "source_type", c.SourceType)
		}
		tbl.Columns = append(tbl.Columns, Column{
			Name: c.Name, SourceType: c.SourceType, Type: lt, Nullable: !c.NotNull,
			Length: n, Precision: p, Scale: s,
			Identity: c.Identity || redshiftIdentity.MatchString(c.Default),
		})
		if attnames[c.Table] == nil {
			attnames[c.Table] = map[int]string{}
		}
		attnames[c.Table][c.Num] = c.Name
	}

	var pks []struct {
		Table  string `db:"table_name"`
		ConKey string `db:"conkey"`
	}
	if err := db.SelectContext(ctx, &pks, q.primaryKeys, schema); err != nil {
		return nil, fmt.Errorf("redshiftsync: read primary keys of schema %q: %w", schema, err)
	}
	for _, pk := range pks {
		tbl := byName[pk.Table]
		if tbl == nil {
			continue
		}
		for _, f := range strings.Split(strings.Trim(pk.ConKey, "{}"), ",") {
			num, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("redshiftsync: table %s: unreadable primary key %q", tbl.QualifiedName(), pk.ConKey)
			}
			tbl.PrimaryKey = append(tbl.PrimaryKey, attnames[pk.Table][num])
		}
		// Only a table with a key has one that is enforced.
		tbl.PrimaryKeyEnforced = dialect != DialectRedshift
	}

	if q.indexes != "" {
		var idx []struct {
			Table  string `db:"table_name"`
			Column string `db:"column_name"`
		}
		if err := db.SelectContext(ctx, &idx, q.indexes, schema); err != nil {
			return nil, fmt.Errorf("redshiftsync: read indexes of schema %q: %w", schema, err)
		}
		for _, ix := range idx {
			if tbl := byName[ix.Table]; tbl != nil {
				if i := tbl.ColumnIndex(ix.Column); i >= 0 {
					tbl.Columns[i].Indexed = true
				}
			}
		}
	}

	if q.tableInfo != "" {
		var infos []struct {
			Table     string `db:"table_name"`
			Estimate  int64  `db:"estimate"`
			SortKey   string `db:"sortkey1"`
			DistStyle string `db:"diststyle"`
		}
		// svv_table_info is readable only by superusers and roles granted
		// SELECT on it: without it the plan has no estimates or sort keys,
		// which costs speed, not correctness.
		if err := db.SelectContext(ctx, &infos, q.tableInfo, schema); err != nil {
			log.Warn("svv_table_info unreadable: no row estimates or sort keys", "schema", schema, "error", err)
		}
		for _, in := range infos {
			tbl := byName[in.Table]
			if tbl == nil {
				continue
			}
			tbl.EstimatedRows, tbl.DistStyle = in.Estimate, in.DistStyle
			if key := sortKeyColumn(in.SortKey); key != "" {
				if _, ok := tbl.Column(key); ok {
					tbl.SortKey = key
				}
			}
		}
	}
	return out, nil
}

// sortKeyColumn returns the column named by svv_table_info.sortkey1, which
// is "column", "AUTO(SORTKEY(column))" when automatic table optimization
// chose the key, or "AUTO(SORTKEY)" when it has chosen none yet ("").
func sortKeyColumn(sortkey1 string) string {
	if inner, ok := strings.CutPrefix(sortkey1, "AUTO(SORTKEY("); ok {
		if col, ok := strings.CutSuffix(inner, "))"); ok {
			return col
		}
		return ""
	}
	if sortkey1 == "AUTO(SORTKEY)" {
		return ""
	}
	return sortkey1
}

// filterTables keeps the tables that match include (all when empty) and do
// not match exclude. Patterns are exact names or path.Match globs.
func filterTables(tables []*Table, include, exclude []string) []*Table {
	var out []*Table
	for _, t := range tables {
		if (len(include) == 0 || matchAny(include, t.Name)) && !matchAny(exclude, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if p == name {
			return true
		}
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Strategy is a table spec's sync strategy.
type Strategy string

// The strategies of a table spec. An empty strategy lets the library choose:
// incremental when a replication key qualifies, full otherwise.
const (
	StrategyFull        Strategy = "FULL"
	StrategyIncremental Strategy = "INCREMENTAL"
)

// TableSpec lists one table to sync when auto_schema_detection is false, the
// counterpart of the example connector's table_specs.py. Its JSON form (a
// table_spec_file holds an array of them) uses the json tags below.
type TableSpec struct {
	// Schema defaults to the configured schema.
	Schema string `json:"schema,omitempty"`
	// Table is the table's name, exactly as in the catalog.
	Table string `json:"table"`
	// PrimaryKey overrides the catalog's primary key. Its columns must be
	// NOT NULL in the catalog: a spec naming a nullable one is refused with
	// ErrTableSpec, since its NULL rows could not be placed in the page
	// order. (A nullable ReplicationKey is fine: its NULL rows are read in a
	// phase of their own.)
	PrimaryKey []string `json:"primary_keys,omitempty"`
	// Strategy is FULL, INCREMENTAL, or empty to let the library choose.
	Strategy Strategy `json:"strategy,omitempty"`
	// ReplicationKey names the key of an incremental sync; empty to infer it.
	ReplicationKey string `json:"replication_key,omitempty"`
	// Include lists the columns to sync (all when empty); Exclude the
	// columns to leave out.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// LoadTableSpecs reads a JSON array of TableSpec from path. Unknown fields are
// an error, so a misspelt key does not go unnoticed.
func LoadTableSpecs(path string) ([]TableSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: table_spec_file: %v", ErrTableSpec, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var specs []TableSpec
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("%w: table_spec_file %s: %v (expected a JSON array of {\"table\", \"strategy\", \"replication_key\", \"primary_keys\", \"include\", \"exclude\"})", ErrTableSpec, path, err)
	}
	return specs, nil
}

// applySpecs returns the tables the specs name, narrowed and overridden as
// the specs say, with every spec checked against the catalog. All problems
// are reported at once, each naming the table and column.
func applySpecs(catalog []*Table, specs []TableSpec, schema string) ([]*Table, map[string]TableSpec, error) {
	byName := map[string]*Table{}
	for _, t := range catalog {
		byName[t.Name] = t
	}
	var errs []error
	var out []*Table
	bySpec := map[string]TableSpec{}
	specErr := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrTableSpec}, args...)...))
	}
	for _, s := range specs {
		if s.Schema == "" {
			s.Schema = schema
		}
		given := s.Strategy
		s.Strategy = Strategy(strings.ToUpper(strings.TrimSpace(string(s.Strategy)))) // "full" is FULL
		qn := s.Schema + "." + s.Table
		switch {
		case s.Table == "":
			specErr("a spec has no \"table\"")
			continue
		case s.Schema != schema:
			specErr("table %s: schema %q differs from the configured schema %q", qn, s.Schema, schema)
			continue
		case s.Strategy != "" && s.Strategy != StrategyFull && s.Strategy != StrategyIncremental:
			specErr("table %s: strategy %q must be FULL or INCREMENTAL", qn, given)
			continue
		}
		src := byName[s.Table]
		if src == nil {
			specErr("table %s does not exist in the catalog (names are case-sensitive)", qn)
			continue
		}
		if _, dup := bySpec[qn]; dup {
			specErr("table %s is listed twice", qn)
			continue
		}
		t := *src
		for _, name := range append(append(append([]string{}, s.Include...), s.Exclude...), s.PrimaryKey...) {
			if _, ok := src.Column(name); !ok {
				specErr("table %s: column %q does not exist", qn, name)
			}
		}
		if s.ReplicationKey != "" {
			if c, ok := src.Column(s.ReplicationKey); !ok {
				specErr("table %s: replication key column %q does not exist", qn, s.ReplicationKey)
			} else if !c.Type.orderable() {
				specErr("table %s: replication key column %q has type %s, which cannot order rows", qn, s.ReplicationKey, c.SourceType)
			}
		}
		if len(s.PrimaryKey) > 0 {
			t.PrimaryKey = s.PrimaryKey
			// The source enforces its own key only: a spec's key is
			// unique for certain only when it holds every column of an
			// enforced catalog key. Otherwise uniqueness is assumed, and
			// pages are read so that duplicates cannot make rows be
			// skipped.
			t.PrimaryKeyEnforced = src.PrimaryKeyEnforced && len(src.PrimaryKey) > 0 && containsAll(s.PrimaryKey, src.PrimaryKey)
		}
		if len(s.Include) > 0 || len(s.Exclude) > 0 {
			t.Columns = nil
			for _, c := range src.Columns {
				if (len(s.Include) == 0 || slices.Contains(s.Include, c.Name)) && !slices.Contains(s.Exclude, c.Name) {
					t.Columns = append(t.Columns, c)
				}
			}
		}
		for _, k := range t.PrimaryKey {
			if _, ok := src.Column(k); !ok {
				continue // reported above
			}
			if _, ok := t.Column(k); !ok {
				specErr("table %s: primary key column %q is excluded; include it or drop it from primary_keys", qn, k)
			} else if c, _ := t.Column(k); !c.Type.orderable() {
				specErr("table %s: primary key column %q has type %s, which cannot order rows", qn, k, c.SourceType)
			} else if c.Nullable && len(s.PrimaryKey) > 0 {
				// Pages resume after a (key..., pk...) tuple: a row whose
				// pk column is NULL compares as NULL, neither before nor
				// after it, and would be skipped. A catalog key is NOT
				// NULL on both dialects; a spec's must be too.
				specErr("table %s: primary key column %q is nullable, and rows whose %q is NULL could not be placed in the page order; name NOT NULL columns in primary_keys (a primary key holds no NULL), or leave primary_keys out", qn, k, k)
			}
		}
		if _, inSource := src.Column(s.ReplicationKey); s.ReplicationKey != "" && inSource {
			if _, ok := t.Column(s.ReplicationKey); !ok {
				specErr("table %s: replication key %q is excluded; include it", qn, s.ReplicationKey)
			}
		}
		bySpec[qn] = s
		out = append(out, &t)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return out, bySpec, nil
}

// containsAll reports whether every element of sub is in list.
func containsAll(list, sub []string) bool {
	return !slices.ContainsFunc(sub, func(s string) bool { return !slices.Contains(list, s) })
}

// tableExists is used after a read fails to tell a dropped table from
// other failures. When the catalog cannot be asked (the run's context is
// canceled, the connection is down) it reports true with the error: a table
// not known to be gone must not be reported as gone.
func tableExists(ctx context.Context, db *sql.DB, schema, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, schema, name).Scan(&n)
	if err != nil {
		return true, err
	}
	return n > 0, nil
}
