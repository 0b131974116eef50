// This file holds the merge of the staging table into a destination table:
// the statements of each kind (append, upsert, dedupe) and the order they
// are tried in.

package pgsink

import (
	"context"
	"errors"
	"strings"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// The staging table, a temporary table of the transaction.
const (
	stageTable = "redshiftsync_stage"
	qStage     = "pg_temp." + stageTable
)

// How mergeSQL merges.
type mergeKind int

const (
	mergeAppend mergeKind = iota // INSERT
	mergeUpsert                  // INSERT ... ON CONFLICT (key) DO UPDATE
	mergeDedupe                  // the upsert of the last row of each key
)

// mergeSQL returns the function that writes the statement merging the
// staging table into a destination table dest, in one of the kinds above.
// A table without a primary key is always appended to; one whose columns are
// all key columns is upserted with DO NOTHING. With deleted (the table has
// DeletedColumn), a row written again after its soft delete is un-deleted:
// the upsert sets the column false, also when no other value changed.
func mergeSQL(cols, pk []string, seqCol string, deleted bool) func(dest string, kind mergeKind) string {
	list := sqlident.List(cols)
	appendSQL := func(dest string) string {
		return "INSERT INTO " + dest + " (" + list + ") SELECT " + list + " FROM " + qStage + " ORDER BY " + sqlident.Quote(seqCol)
	}
	if len(pk) == 0 {
		return func(dest string, _ mergeKind) string { return appendSQL(dest) }
	}
	keys := sqlident.List(pk)
	var sets, mine, theirs []string
	for _, c := range cols {
		if !containsString(pk, c) {
			q := sqlident.Quote(c)
			sets = append(sets, q+" = EXCLUDED."+q)
			mine, theirs = append(mine, "d."+q), append(theirs, "EXCLUDED."+q)
		}
	}
	conflict := " ON CONFLICT (" + keys + ") DO NOTHING"
	var when []string
	if len(sets) > 0 {
		// A row delivered again unchanged (the tie group at a bookmark is
		// read again by design) is not written again: it stays applied once.
		when = append(when, "ROW("+strings.Join(mine, ", ")+") IS DISTINCT FROM ROW("+strings.Join(theirs, ", ")+")")
	}
	if deleted {
		q := sqlident.Quote(DeletedColumn)
		sets = append(sets, q+" = false")
		when = append(when, "d."+q)
	}
	if len(sets) > 0 {
		conflict = " ON CONFLICT (" + keys + ") DO UPDATE SET " + strings.Join(sets, ", ") +
			" WHERE " + strings.Join(when, " OR ")
	}
	return func(dest string, kind mergeKind) string {
		switch kind {
		case mergeAppend:
			return appendSQL(dest)
		case mergeDedupe:
			return "INSERT INTO " + dest + " AS d (" + list + ") SELECT DISTINCT ON (" + keys + ") " + list +
				" FROM " + qStage + " ORDER BY " + keys + ", " + sqlident.Quote(seqCol) + " DESC" + conflict
		}
		return "INSERT INTO " + dest + " AS d (" + list + ") SELECT " + list + " FROM " + qStage + conflict
	}
}

// merge moves the staged rows into dest. A table with a primary key is
// first tried with a plain INSERT, about twice as fast as the upsert, while
// it succeeds (a first load, a resync copy, an append-only table); once a
// key conflicts, the table is upserted for the rest of the run. A flush that
// holds a key more than once (which the upsert refuses) is merged again
// taking each key's last row.
func (ts *tableSink) merge(ctx context.Context, dest string) error {
	if len(ts.pk) == 0 {
		_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeAppend))
		return err
	}
	if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_merge"); err != nil {
		return err
	}
	if ts.tryInsert {
		_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeAppend))
		if !isCode(err, "23505") { // unique_violation
			return err
		}
		ts.tryInsert = false
		if _, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_merge"); err != nil {
			return err
		}
	}
	_, err := ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeUpsert))
	if !isCode(err, "21000") { // cardinality_violation: ON CONFLICT DO UPDATE command cannot affect row a second time
		return err
	}
	if _, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_merge"); err != nil {
		return err
	}
	_, err = ts.tx.ExecContext(ctx, ts.mergeSQL(dest, mergeDedupe))
	return err
}

// isCode reports whether err is a server error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && string(pqErr.Code) == code
}
