// This file holds the logical types of columns and the Go values that carry
// them to a Sink.

package redshiftsync

import (
	"encoding/json"
	"fmt"
	"strings"
)

// LogicalType is the destination-neutral type of a column. Every source type
// maps to exactly one LogicalType, and every LogicalType has exactly one Go
// type that its non-NULL values arrive as in a Batch:
//
//	LogicalType      Go value          Fivetran type   source types
//	BOOLEAN          bool              BOOLEAN         boolean
//	SHORT            int64             SHORT           smallint
//	INT              int64             INT             integer
//	LONG             int64             LONG            bigint
//	DECIMAL          Decimal           DECIMAL(p,s)    numeric/decimal (with or without precision; STRING when
//	                                                   it has none or p > 38); "NaN" and PostgreSQL's "Infinity" kept
//	FLOAT            float64           FLOAT           real
//	DOUBLE           float64           DOUBLE          double precision (NaN, ±Inf kept)
//	NAIVE_DATE       time.Time         NAIVE_DATE      date (midnight, UTC location; BC and far-future dates kept)
//	NAIVE_TIME       string            STRING          time (text, "15:04:05.999999"; "24:00:00" kept)
//	TIME_TZ          string            STRING          timetz (text with offset, "15:04:05.999999+02"; Redshift keeps
//	                                                   TIMETZ in UTC and prints it so, "21:24:55+00")
//	NAIVE_DATETIME   time.Time         NAIVE_DATETIME  timestamp (wall clock in the UTC location, never shifted)
//	UTC_DATETIME     time.Time         UTC_DATETIME    timestamptz (the instant, in UTC, microseconds)
//	INTERVAL         string            STRING          interval, interval year to month/day to second, intervaly2m,
//	                                                   intervald2s (the server's text, such as "1 year 2 mons 3 days
//	                                                   04:05:06", in its IntervalStyle;
//	                                                   Redshift's intervaly2m and intervald2s are read cast to text, in
//	                                                   its default style, this one: "1 year 8 mons", "1 day 01:01:00")
//	BINARY           []byte            BINARY          bytea, varbyte (raw bytes, not hex; never nil, so empty is not NULL)
//	STRING           string            STRING          char (padding kept), varchar, text, uuid, arrays (text form),
//	                                                   geometry/geography (hexadecimal EWKB, upper case, as the server
//	                                                   prints the column: "0101000020E6100000…"; every coordinate's
//	                                                   bits, any size), hllsketch, unknown types (text form)
//	JSON             json.RawMessage   JSON            super, json, jsonb (the JSON text, never re-encoded)
//
// A date or timestamp that is infinite ('infinity', '-infinity' on
// PostgreSQL) arrives as the string "infinity" or "-infinity": no time.Time
// can hold it. A column of a PostgreSQL domain has the logical type of the
// domain's base type (through domains over domains), whose form the server
// sends its values in.
type LogicalType string

// The logical types. See LogicalType for the Go value of each.
const (
	TypeBoolean       LogicalType = "BOOLEAN"
	TypeShort         LogicalType = "SHORT"
	TypeInt           LogicalType = "INT"
	TypeLong          LogicalType = "LONG"
	TypeDecimal       LogicalType = "DECIMAL"
	TypeFloat         LogicalType = "FLOAT"
	TypeDouble        LogicalType = "DOUBLE"
	TypeNaiveDate     LogicalType = "NAIVE_DATE"
	TypeNaiveTime     LogicalType = "NAIVE_TIME"
	TypeTimeTZ        LogicalType = "TIME_TZ"
	TypeNaiveDateTime LogicalType = "NAIVE_DATETIME"
	TypeUTCDateTime   LogicalType = "UTC_DATETIME"
	TypeInterval      LogicalType = "INTERVAL"
	TypeBinary        LogicalType = "BINARY"
	TypeString        LogicalType = "STRING"
	TypeJSON          LogicalType = "JSON"
)

// FivetranType returns the Fivetran destination type that holds the column
// without loss, such as "DECIMAL(38,10)" or "UTC_DATETIME".
func (c Column) FivetranType() string {
	switch c.Type {
	case TypeDecimal:
		if c.Precision > 0 && c.Precision <= maxDecimalPrecision && c.Scale >= 0 && c.Scale <= c.Precision {
			return fmt.Sprintf("DECIMAL(%d,%d)", c.Precision, c.Scale)
		}
		// numeric without precision can exceed any DECIMAL(p,s), and so
		// can PostgreSQL's numeric(p,s) with p above 38, a negative scale
		// or a scale above p.
		return "STRING"
	case TypeNaiveTime, TypeTimeTZ, TypeInterval:
		return "STRING"
	}
	return string(c.Type)
}

// maxDecimalPrecision is the largest precision of a Fivetran DECIMAL(p,s),
// and Redshift's largest.
const maxDecimalPrecision = 38

// Decimal is an exact decimal number in its canonical text form, such as
// "-12345678901234567890.1234567890" or "NaN". It never passes through a
// float, so 38-digit values arrive intact.
type Decimal string

// String returns the decimal's text.
func (d Decimal) String() string { return string(d) }

// MarshalJSON writes the decimal as a JSON string, which every JSON reader
// keeps exactly (a JSON number would be rounded by most of them).
func (d Decimal) MarshalJSON() ([]byte, error) { return json.Marshal(string(d)) }

// Column describes one column of a source table.
type Column struct {
	Name string `json:"name"`
	// SourceType is the type as the catalog formats it, such as
	// "numeric(18,4)" or "timestamp without time zone".
	SourceType string      `json:"source_type"`
	Type       LogicalType `json:"logical_type"`
	Nullable   bool        `json:"nullable"`
	// Length is the maximum length of a character or binary column, 0 when
	// unbounded or not applicable.
	Length int `json:"length,omitempty"`
	// Precision and Scale describe a DECIMAL column; Precision 0 means the
	// source declares none.
	Precision int `json:"precision,omitempty"`
	Scale     int `json:"scale,omitempty"`
	// Identity is true for a column whose values the source assigns
	// (an IDENTITY column on Redshift, GENERATED ... AS IDENTITY on
	// PostgreSQL).
	Identity bool `json:"identity,omitempty"`
	// Indexed is true for the leading column of a valid B-tree index
	// (PostgreSQL; Redshift has no indexes). Keyset pages on a column
	// without one would each scan the table, so such a table is read in
	// block order instead, resumable (PostgreSQL 14+; one streaming pass
	// on older servers).
	Indexed bool `json:"indexed,omitempty"`
}

// Table describes one source table as discovered in the catalog.
type Table struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	// PrimaryKey lists the primary key columns in key order; empty when the
	// table has none.
	PrimaryKey []string `json:"primary_key,omitempty"`
	// PrimaryKeyEnforced is true when the table has a primary key that the
	// server enforces: false without a key, and on Redshift, where a
	// primary key is only informational (uniqueness is assumed, not
	// known). In JSON it is left out for a table without a key.
	PrimaryKeyEnforced bool `json:"primary_key_enforced"`
	// EstimatedRows is the catalog's row estimate (Redshift
	// svv_table_info.tbl_rows, PostgreSQL pg_class.reltuples); -1 when unknown.
	EstimatedRows int64 `json:"estimated_rows"`
	// SortKey is the leading sort key column on Redshift, empty elsewhere.
	SortKey string `json:"sort_key,omitempty"`
	// DistStyle is the Redshift distribution style, empty elsewhere.
	DistStyle string `json:"dist_style,omitempty"`
}

// MarshalJSON encodes t with its tags, leaving primary_key_enforced out for a
// table without a primary key (there is no key to be enforced).
func (t Table) MarshalJSON() ([]byte, error) {
	type plain Table // without this method
	if len(t.PrimaryKey) > 0 {
		return json.Marshal(plain(t))
	}
	return json.Marshal(struct {
		plain
		PrimaryKeyEnforced *bool `json:"primary_key_enforced,omitempty"`
	}{plain: plain(t)})
}

// QualifiedName returns "schema.table", unquoted, as used in state documents,
// logs and file names.
func (t *Table) QualifiedName() string { return t.Schema + "." + t.Name }

// Column returns the column named name, and whether it exists.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnIndex returns the position of the column named name in Columns, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// orderable reports whether values of the type have a total order that a
// keyset page or a range can rely on.
func (lt LogicalType) orderable() bool {
	switch lt {
	case TypeShort, TypeInt, TypeLong, TypeDecimal, TypeFloat, TypeDouble,
		TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime, TypeString, TypeBoolean, TypeNaiveTime:
		return true
	}
	return false
}

// logicalType maps a catalog type, as format_type prints it, to a logical type
// and its precision and scale. known is false for a type the library does not
// know: such a column is delivered as its text form.
func logicalType(sourceType string) (lt LogicalType, precision, scale, length int, known bool) {
	t := strings.ToLower(strings.TrimSpace(sourceType))
	base, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		base = strings.TrimSpace(t[:i])
		if j := strings.IndexByte(t[i:], ')'); j >= 0 {
			args = t[i+1 : i+j]
			base = strings.TrimSpace(base + " " + strings.TrimSpace(t[i+j+1:]))
		}
	}
	if strings.HasSuffix(base, "[]") {
		return TypeString, 0, 0, 0, true
	}
	switch base {
	case "boolean", "bool":
		return TypeBoolean, 0, 0, 0, true
	case "smallint", "int2":
		return TypeShort, 0, 0, 0, true
	case "integer", "int", "int4":
		return TypeInt, 0, 0, 0, true
	case "bigint", "int8":
		return TypeLong, 0, 0, 0, true
	case "numeric", "decimal":
		p, s := parseTwoInts(args)
		return TypeDecimal, p, s, 0, true
	case "real", "float4":
		return TypeFloat, 0, 0, 0, true
	case "double precision", "float8", "float":
		return TypeDouble, 0, 0, 0, true
	case "date":
		return TypeNaiveDate, 0, 0, 0, true
	case "time", "time without time zone":
		return TypeNaiveTime, 0, 0, 0, true
	case "timetz", "time with time zone":
		return TypeTimeTZ, 0, 0, 0, true
	case "timestamp", "timestamp without time zone":
		return TypeNaiveDateTime, 0, 0, 0, true
	case "timestamptz", "timestamp with time zone":
		return TypeUTCDateTime, 0, 0, 0, true
	case "bytea", "varbyte", "binary varying", "varbinary":
		n, _ := parseTwoInts(args)
		return TypeBinary, 0, 0, n, true
	case "character", "char", "bpchar", "character varying", "varchar", "nchar", "nvarchar", "text", "bpchar varying", "name", "citext":
		n, _ := parseTwoInts(args)
		return TypeString, 0, 0, n, true
	case "uuid", "geometry", "geography", "hllsketch", "xml", "inet", "cidr", "macaddr", "money", "oid", "tsvector":
		return TypeString, 0, 0, 0, true
	case "super", "json", "jsonb":
		return TypeJSON, 0, 0, 0, true
	}
	if strings.HasPrefix(base, "interval") {
		return TypeInterval, 0, 0, 0, true
	}
	return TypeString, 0, 0, 0, false
}

// parseTwoInts reads "p" or "p,s" as found between a type's parentheses.
func parseTwoInts(s string) (a, b int) {
	first, second, _ := strings.Cut(s, ",")
	fmt.Sscan(strings.TrimSpace(first), &a)
	fmt.Sscan(strings.TrimSpace(second), &b)
	return a, b
}
