// This file holds the sink's side of delete detection's deliveries:
// Delete (a soft delete in DeletedColumn, or a hard DELETE with
// WithHardDeletes), the soft-delete column of the destination tables, and
// the temporary table of keys a Delete matches rows against.

package pgsink

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// DeletedColumn is the column of a destination table that marks a row
// deleted at the source (true) or live (false): boolean NOT NULL DEFAULT
// false, Fivetran's "soft delete" convention (its _fivetran_deleted). The
// sink adds it to every table with a primary key it loads, unless
// WithHardDeletes is given.
const DeletedColumn = "_redshiftsync_deleted"

// The temporary table that holds the keys of one Delete call.
const (
	keysTable = "redshiftsync_keys"
	qKeys     = "pg_temp." + keysTable
)

var (
	_ redshiftsync.DeleteSink = (*Sink)(nil)
	_ redshiftsync.KeyLister  = (*Sink)(nil)
)

// ensureDeletedColumn adds DeletedColumn to table schema.name when deletes
// are soft and the table lacks it. A table without a primary key gets no
// deletes, and so no column. The column has a constant default, so adding
// it to an existing table rewrites nothing (PostgreSQL 11 and later).
func (s *Sink) ensureDeletedColumn(ctx context.Context, q queryer, schema, name string, keyed bool) error {
	if s.opts.hardDeletes || !keyed {
		return nil
	}
	have, _, err := columnTypes(ctx, q, schema, name)
	if err != nil || slices.Contains(have, DeletedColumn) {
		return err
	}
	stmt := "ALTER TABLE " + sqlident.Qualified(schema, name) + " ADD COLUMN " + sqlident.Quote(DeletedColumn) + " boolean NOT NULL DEFAULT false"
	if _, err := q.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("add the soft-delete column %q (or load with pgsink.WithHardDeletes): %w", DeletedColumn, err)
	}
	return nil
}

// readKeyTypes records, from the destination table, whether it has
// DeletedColumn and how each key column is compared (see keyCmp).
func (ts *tableSink) readKeyTypes(ctx context.Context, q queryer) error {
	names, types, err := columnTypes(ctx, q, ts.schema, ts.table)
	if err != nil {
		return err
	}
	ts.deletedCol = len(ts.pk) > 0 && slices.Contains(names, DeletedColumn)
	ts.keyCmp = make([]string, len(ts.pk))
	for i, k := range ts.pk {
		j := slices.Index(names, k)
		if j < 0 {
			return fmt.Errorf("key column %q is missing from %s", k, ts.qTarget)
		}
		// Bounds are cast to the column's type without its modifier: a
		// numeric(12,2) or timestamp(3) cast would round them.
		ts.keyCmp[i] = typmodRe.ReplaceAllString(canonicalType(types[j]), "")
		if textLike(ts.keyCmp[i]) {
			ts.keyCmp[i] = "text"
		}
	}
	return nil
}

// typmodRe matches a type modifier as format_type prints it: "(12,2)".
var typmodRe = regexp.MustCompile(`\(\d+(,\d+)?\)`)

// textLike reports whether a column of type t (canonical) holds strings that
// KeyRange orders byte by byte: they are compared as text COLLATE "C".
func textLike(t string) bool {
	switch {
	case t == "text", t == "citext", t == "name", t == "character varying":
		return true
	}
	return false
}

// Delete marks the rows of keys deleted in the table's transaction, which
// the next flush commits (with the state, in FlushState): set
// DeletedColumn true, or, with WithHardDeletes, DELETE them. Rows of those
// keys written since the last flush and not yet merged are dropped first
// (the delete came after them). A later Write of one of the keys un-deletes
// it. During a resync (begun in this run, or resumed from a copy an
// earlier run left), the rows go into the resync copy: a soft-deleted key
// the copy lacks (the resync did not deliver it) is carried over from the
// table, marked deleted, so the swap keeps it marked instead of dropping
// it; with hard deletes the swap drops it. A key the table does
// not hold is ignored. Errors are handled as Write's: the table's unflushed
// rows are discarded, and it must be opened again.
func (s *Sink) Delete(ctx context.Context, table *redshiftsync.Table, keys []redshiftsync.Key) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "Delete")
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if len(ts.pk) == 0 {
		return fmt.Errorf("pgsink: Delete: table %s has no primary key: its rows cannot be deleted by key", ts.name)
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	if err := ts.loadKeys(ctx, keys); err != nil {
		return ts.fail("delete", err)
	}
	var stmts []string
	if ts.staged {
		stmts = append(stmts, "DELETE FROM "+qStage+" t USING "+qKeys+" k WHERE "+ts.keyMatch("t", "k"))
	}
	soft := !ts.s.opts.hardDeletes
	qd := sqlident.Quote(DeletedColumn)
	mark := func(dest string) string {
		if soft {
			return "UPDATE " + dest + " t SET " + qd + " = true FROM " + qKeys + " k WHERE " + ts.keyMatch("t", "k") + " AND NOT t." + qd
		}
		return "DELETE FROM " + dest + " t USING " + qKeys + " k WHERE " + ts.keyMatch("t", "k")
	}
	switch ts.resyncCopy {
	case copyNone:
		stmts = append(stmts, mark(ts.qTarget))
	case copyLeft:
		// Where the flush puts the rows is not known yet (see
		// writeDest): delete from both. A resync resumed from an earlier
		// run (killed during its detection) swaps the copy in at its end,
		// so a soft-deleted key is carried into it too, as below; an
		// abandoned copy is dropped, carried rows and all.
		stmts = append(stmts, mark(ts.qTarget))
		fallthrough
	case copyBegun, copyEnded:
		stmts = append(stmts, mark(ts.qResync))
		if soft && ts.deletedCol {
			carry, ok, err := ts.carrySQL(ctx, ts.tx, " JOIN "+qKeys+" k ON "+ts.keyMatch("t", "k"), "")
			if err != nil {
				return ts.fail("delete", err)
			}
			if ok {
				stmts = append(stmts, carry)
			}
		}
	}
	for _, q := range stmts {
		if _, err := ts.tx.ExecContext(ctx, q); err != nil {
			return ts.fail("delete", err)
		}
	}
	return nil
}

// carrySQL returns the statement that copies the table's rows joined by
// join (to the keys of a Delete, or none) and matching cond that the
// resync copy lacks into the copy, marked deleted: the resync did not
// deliver them, and the swap keeps them soft-deleted instead of dropping
// them. A column whose type the copy changed (a narrowing resync, see
// reshapeCopy) is carried as NULL, since its old values may not fit the new
// type; when a key column changed type, nothing is carried (ok false).
func (ts *tableSink) carrySQL(ctx context.Context, q queryer, join, cond string) (stmt string, ok bool, err error) {
	typesOf := func(schema, name string) (map[string]string, error) {
		names, types, err := columnTypes(ctx, q, schema, name)
		m := map[string]string{}
		for i, n := range names {
			m[n] = types[i]
		}
		return m, err
	}
	target, err := typesOf(ts.schema, ts.table)
	if err != nil {
		return "", false, err
	}
	copied, err := typesOf(ResyncSchema, ts.resync)
	if err != nil {
		return "", false, err
	}
	var cols, vals []string
	for _, c := range ts.cols {
		ct, inCopy := copied[c]
		switch {
		case !inCopy:
			continue
		case ct == target[c]:
			vals = append(vals, "t."+sqlident.Quote(c))
		case slices.Contains(ts.pk, c):
			return "", false, nil
		default:
			vals = append(vals, "NULL")
		}
		cols = append(cols, sqlident.Quote(c))
	}
	qd := sqlident.Quote(DeletedColumn)
	return "INSERT INTO " + ts.qResync + " (" + strings.Join(cols, ", ") + ", " + qd + ") SELECT " + strings.Join(vals, ", ") + ", true FROM " +
		ts.qTarget + " t" + join + " WHERE NOT EXISTS (SELECT 1 FROM " + ts.qResync + " c WHERE " + ts.keyMatch("c", "t") + ")" + cond, true, nil
}

// loadKeys fills the temporary table of keys with keys, creating it in the
// table's transaction (in the destination's key types) on first use.
func (ts *tableSink) loadKeys(ctx context.Context, keys []redshiftsync.Key) error {
	if !ts.keysReady {
		q := "CREATE TEMPORARY TABLE " + keysTable + " ON COMMIT DROP AS SELECT " + sqlident.List(ts.pk) + " FROM " + ts.qTarget + " WITH NO DATA"
		if _, err := ts.tx.ExecContext(ctx, q); err != nil {
			return err
		}
		ts.keysReady = true
	} else if _, err := ts.tx.ExecContext(ctx, "TRUNCATE "+qKeys); err != nil {
		return err
	}
	stmt, err := ts.tx.PrepareContext(ctx, "COPY "+qKeys+" ("+sqlident.List(ts.pk)+") FROM STDIN")
	if err != nil {
		return err
	}
	err = ts.copyKeys(ctx, stmt, keys)
	if cerr := stmt.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyKeys sends keys to the COPY statement stmt, and ends it.
func (ts *tableSink) copyKeys(ctx context.Context, stmt *sql.Stmt, keys []redshiftsync.Key) error {
	args := make([]any, len(ts.pk))
	for _, k := range keys {
		if err := ts.encodeKey(k, args); err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	_, err := stmt.ExecContext(ctx)
	return err
}

// encodeKey puts the text forms of key's values into args, one per key
// column; a key of the wrong length or with a NULL is an error naming it.
func (ts *tableSink) encodeKey(key redshiftsync.Key, args []any) error {
	if len(key) != len(ts.pk) {
		return fmt.Errorf("key %v has %d values, the primary key (%s) %d columns", key, len(key), strings.Join(ts.pk, ", "), len(ts.pk))
	}
	for i, v := range key {
		if v == nil {
			return fmt.Errorf("key %v: key column %q is NULL", key, ts.pk[i])
		}
		a, err := encodeValue(v, ts.keyTypes[i])
		if err != nil {
			return fmt.Errorf("key %v: column %q: %w", key, ts.pk[i], err)
		}
		args[i] = a
	}
	return nil
}

// keyMatch returns the condition that rows a and b (aliases) have the same
// key.
func (ts *tableSink) keyMatch(a, b string) string {
	var conds []string
	for _, k := range ts.pk {
		q := sqlident.Quote(k)
		conds = append(conds, a+"."+q+" = "+b+"."+q)
	}
	return strings.Join(conds, " AND ")
}
