// This file holds the destination's DDL: the type mapping, the names of the
// tables the sink uses, creating and evolving a table, and the catalog
// queries behind them.

package pgsink

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// ddlLockKey is the transaction-level advisory lock that serializes the
// sink's DDL on a database (creating schemas and tables, adding columns), so
// that concurrent Opens, in this process or another, do not race on
// CREATE SCHEMA.
const ddlLockKey int64 = 0x7273_7067_736e_6b00 // "rspgsnk"

// maxIdentifier is PostgreSQL's limit on identifier length, in bytes.
const maxIdentifier = 63

// columnType returns the PostgreSQL type that holds column c (see the package
// documentation).
func columnType(c redshiftsync.Column, nativeIntervals bool) string {
	switch c.Type {
	case redshiftsync.TypeBoolean:
		return "boolean"
	case redshiftsync.TypeShort:
		return "smallint"
	case redshiftsync.TypeInt:
		return "integer"
	case redshiftsync.TypeLong:
		return "bigint"
	case redshiftsync.TypeDecimal:
		if c.Precision > 0 {
			return fmt.Sprintf("numeric(%d,%d)", c.Precision, c.Scale)
		}
		return "numeric"
	case redshiftsync.TypeFloat:
		return "real"
	case redshiftsync.TypeDouble:
		return "double precision"
	case redshiftsync.TypeNaiveDate:
		return "date"
	case redshiftsync.TypeNaiveTime:
		return "time"
	case redshiftsync.TypeTimeTZ:
		return "timetz"
	case redshiftsync.TypeNaiveDateTime:
		return "timestamp"
	case redshiftsync.TypeUTCDateTime:
		return "timestamptz"
	case redshiftsync.TypeInterval:
		if nativeIntervals {
			return "interval"
		}
		return "text"
	case redshiftsync.TypeBinary:
		return "bytea"
	case redshiftsync.TypeJSON:
		return "jsonb"
	}
	if c.SourceType == "uuid" {
		return "uuid"
	}
	return "text"
}

// resyncName returns the name, in ResyncSchema, of the copy of the
// destination table schema.name that a resync loads into: name, cut at a
// character boundary when needed, "_", and 12 hex digits of the SHA-256 of
// schema and name, at most 63 bytes. The hash keeps apart the copies of
// tables of the same name in different schemas.
func resyncName(schema, name string) string {
	sum := sha256.Sum256([]byte(schema + "\x00" + name))
	tag := "_" + hex.EncodeToString(sum[:6])
	cut := name
	if len(cut) > maxIdentifier-len(tag) {
		cut = cut[:maxIdentifier-len(tag)]
		for !utf8.ValidString(cut) && len(cut) > 0 {
			cut = cut[:len(cut)-1]
		}
	}
	return cut + tag
}

// uniqueColumn returns base, or base followed by underscores, so that it is
// none of names.
func uniqueColumn(base string, names []string) string {
	for slices.Contains(names, base) {
		base += "_"
	}
	return base
}

// queryer is what the catalog helpers need: a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// schemaExists reports whether schema exists.
func schemaExists(ctx context.Context, q queryer, schema string) (bool, error) {
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, schema).Scan(&ok)
	return ok, err
}

// relKind returns the pg_class.relkind of schema.name, "" when there is none.
func relKind(ctx context.Context, q queryer, schema, name string) (string, error) {
	var kind string
	err := q.QueryRowContext(ctx, `
SELECT c.relkind::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`, schema, name).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return kind, err
}

// tableExists reports whether schema.name is a table; it is an error when the
// name is taken by something else (a view, a sequence...).
func tableExists(ctx context.Context, q queryer, schema, name string) (bool, error) {
	kind, err := relKind(ctx, q, schema, name)
	switch {
	case err != nil:
		return false, err
	case kind == "":
		return false, nil
	case kind == "r" || kind == "p":
		return true, nil
	}
	return false, fmt.Errorf("%s exists but is not a table (relkind %q)", sqlident.Qualified(schema, name), kind)
}

// columnTypes returns the columns of table schema.name with their types as
// format_type prints them, in column order.
func columnTypes(ctx context.Context, q queryer, schema, name string) (names, types []string, err error) {
	rows, err := q.QueryContext(ctx, `
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, schema, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, nil, err
		}
		names, types = append(names, n), append(types, t)
	}
	return names, types, rows.Err()
}

// primaryKey returns the primary key columns of table schema.name in key
// order, none when it has no primary key.
func primaryKey(ctx context.Context, q queryer, schema, name string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `
SELECT a.attname
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
ORDER BY k.pos`, schema, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var key []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		key = append(key, n)
	}
	return key, rows.Err()
}

// sameSet reports whether a and b hold the same names, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// createTableSQL returns the CREATE TABLE statement of table qname holding
// the columns of t, with t's primary key.
func createTableSQL(qname string, t *redshiftsync.Table, nativeIntervals bool) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(qname)
	b.WriteString(" (")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlident.Quote(c.Name))
		b.WriteByte(' ')
		b.WriteString(columnType(c, nativeIntervals))
	}
	if len(t.PrimaryKey) > 0 {
		b.WriteString(", PRIMARY KEY (")
		b.WriteString(sqlident.List(t.PrimaryKey))
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

// addMissingColumns adds to table schema.name the columns of t it lacks.
func addMissingColumns(ctx context.Context, q queryer, schema, name string, t *redshiftsync.Table, nativeIntervals bool) error {
	have, _, err := columnTypes(ctx, q, schema, name)
	if err != nil {
		return err
	}
	for _, c := range t.Columns {
		if slices.Contains(have, c.Name) {
			continue
		}
		stmt := "ALTER TABLE " + sqlident.Qualified(schema, name) + " ADD COLUMN " + sqlident.Quote(c.Name) + " " + columnType(c, nativeIntervals)
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("add column %q: %w", c.Name, err)
		}
	}
	return nil
}

// lockDDL takes the sink's DDL lock for the rest of tx.
func lockDDL(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, ddlLockKey)
	return err
}

// ensureSchema creates schema when it does not exist. (CREATE SCHEMA IF NOT
// EXISTS would need the CREATE privilege on the database even when the
// schema exists.)
func ensureSchema(ctx context.Context, q queryer, schema string) error {
	ok, err := schemaExists(ctx, q, schema)
	if err != nil || ok {
		return err
	}
	_, err = q.ExecContext(ctx, "CREATE SCHEMA "+sqlident.Quote(schema))
	return err
}
