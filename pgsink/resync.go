// This file holds the resync of a table: BeginResync's empty copy in
// ResyncSchema, EndResync, and the swap that replaces the table with the
// copy, keeping its primary key's name, its privileges and its comment.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// copyState is where a table's resync copy stands since Open: the calls
// that decide where rows go and whether a flush swaps the copy in.
type copyState int

const (
	copyNone  copyState = iota // no resync copy exists
	copyLeft                   // a copy left by an earlier run: whether its resync goes on is for the state (or the calls) to say
	copyBegun                  // BeginResync created the copy (again) in this run
	copyEnded                  // EndResync was called: the next flush swaps the copy in
)

// exists reports whether the copy exists (committed, or created in the
// table's transaction).
func (c copyState) exists() bool { return c != copyNone }

// BeginResync creates the resync copy of the table, empty, in the table's
// transaction (replacing a copy left by an abandoned resync): it is
// committed with the first flush of the resync, together with the state
// that records the resync. The table itself is left as it is until the
// resync ends. Called again, it starts the copy over: the rows written
// since the last flush are discarded, and the copy is empty again.
func (s *Sink) BeginResync(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "BeginResync")
	if err != nil {
		return err
	}
	if err := s.ensureResyncSchema(ctx); err != nil {
		return ts.fail("begin resync", err)
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	stmts := []string{
		"DROP TABLE IF EXISTS " + ts.qResync,
		"CREATE TABLE " + ts.qResync + " (LIKE " + ts.qTarget + " INCLUDING ALL)",
	}
	if ts.staged {
		stmts = append(stmts, "TRUNCATE "+qStage)
	}
	for _, stmt := range stmts {
		if _, err := ts.tx.ExecContext(ctx, stmt); err != nil {
			return ts.fail("begin resync", err)
		}
	}
	if err := ts.reshapeCopy(ctx); err != nil {
		return ts.fail("begin resync", err)
	}
	ts.rows = 0
	ts.resyncCopy = copyBegun
	ts.tryInsert = true
	return nil
}

// EndResync ends the resync of the table. When the table's rows are flushed
// with FlushState, it only records that the resync ended: the FlushState
// that follows swaps the copy in, in the transaction that saves the state
// recording the finished resync. When they are flushed with Flush (the last
// flush of the table was Flush), it swaps the copy in at once.
func (s *Sink) EndResync(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "EndResync")
	if err != nil {
		return err
	}
	if !ts.plain {
		if !ts.resyncCopy.exists() {
			return ts.fail("end resync", fmt.Errorf("no resync in progress: its copy %s does not exist; "+
				"remove the table's entry from the state (or the whole state) to sync it again", ts.qResync))
		}
		ts.resyncCopy = copyEnded
		return nil
	}
	if !ts.resyncCopy.exists() {
		// Resumed after a crash that followed the swap: the rows since
		// went into the table itself.
		return nil
	}
	ts.resyncCopy = copyEnded
	return ts.commit(ctx, []string{ts.qResync}, true, false, nil)
}

// swap replaces the table with its resync copy in the table's transaction,
// keeping the name of its primary key constraint, its privileges and its
// comment, and its soft-deleted rows: a row deleted at the source before the
// resync is neither delivered by it nor listed to delete detection (it is
// not live), so it is carried into the copy, still marked deleted, unless
// the resync delivered its key again.
func (ts *tableSink) swap(ctx context.Context) error {
	tx := ts.tx
	if !ts.s.opts.hardDeletes && ts.deletedCol {
		carry, ok, err := ts.carrySQL(ctx, tx, "", " AND t."+sqlident.Quote(DeletedColumn))
		if err != nil {
			return err
		}
		if ok {
			if _, err := tx.ExecContext(ctx, carry); err != nil {
				return err
			}
		}
	}
	var pkName sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, ts.qTarget).Scan(&pkName)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var comment sql.NullString
	var oldOID int64
	if err := tx.QueryRowContext(ctx, `SELECT pg_catalog.obj_description($1::regclass, 'pg_class'), $1::regclass::oid`, ts.qTarget).Scan(&comment, &oldOID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `
SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
       a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
WHERE c.oid = $1::regclass AND a.grantee <> c.relowner`, ts.qTarget)
	if err != nil {
		return err
	}
	var grants []string
	for rows.Next() {
		var grantee, priv string
		var grantable bool
		if err := rows.Scan(&grantee, &priv, &grantable); err != nil {
			rows.Close()
			return err
		}
		g := "GRANT " + priv + " ON TABLE " + ts.qTarget + " TO " + grantee
		if grantable {
			g += " WITH GRANT OPTION"
		}
		grants = append(grants, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// The copy keeps its name (which ends in a hash of the table's schema
	// and name) until it is renamed: a table of that very name in the
	// table's schema fails the swap, it is never replaced.
	stmts := []string{
		"DROP TABLE " + ts.qTarget,
		"ALTER TABLE " + ts.qResync + " SET SCHEMA " + sqlident.Quote(ts.schema),
		"ALTER TABLE " + sqlident.Qualified(ts.schema, ts.resync) + " RENAME TO " + sqlident.Quote(ts.table),
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			var pqErr *pq.Error
			if errors.As(err, &pqErr) && pqErr.Code == "2BP01" {
				return fmt.Errorf("%w (a full resync replaces the table: drop what depends on it, or sync the table incrementally)", err)
			}
			return err
		}
	}
	if err := ts.s.reregister(ctx, tx, oldOID, ts.schema, ts.table); err != nil {
		return err
	}
	if pkName.Valid {
		var newName string
		err := tx.QueryRowContext(ctx, `SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, ts.qTarget).Scan(&newName)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if newName != "" && newName != pkName.String {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+ts.qTarget+" RENAME CONSTRAINT "+sqlident.Quote(newName)+" TO "+sqlident.Quote(pkName.String)); err != nil {
				return err
			}
		}
	}
	for _, g := range grants {
		if _, err := tx.ExecContext(ctx, g); err != nil {
			return err
		}
	}
	if comment.Valid {
		if _, err := tx.ExecContext(ctx, "COMMENT ON TABLE "+ts.qTarget+" IS "+pq.QuoteLiteral(comment.String)); err != nil {
			return err
		}
	}
	return nil
}
