// This file holds Write: the COPY of a batch's rows, straight into the
// table they belong in while that is known and no key conflicts, else into
// the staging table that a flush merges.

package pgsink

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// Write loads the rows of batch with COPY, in the table's transaction, which
// stays open until the next flush: straight into the table they belong in
// (the table, or the copy of a resync begun in this run) while that is
// known and no key has conflicted in this run, else into the staging table
// that the flush merges. A value of a Go type that the column's logical type
// does not use fails the Write with an error naming the column; so does any
// error of the database. After an error, the rows written since the last
// flush are discarded, and the table's Writes and flushes fail until it is
// opened again. A canceled ctx does not fail it: the batch is loaded (within
// a grace period; see the package documentation), as is every call of the
// sink, so that a stopped run can still save what was written.
func (s *Sink) Write(ctx context.Context, batch redshiftsync.Batch) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(batch.Table, "Write")
	if err != nil {
		return err
	}
	if len(batch.Rows) == 0 {
		return nil
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	if dest, known := ts.writeDest(); known && (len(ts.pk) == 0 || ts.tryInsert) {
		loaded, err := ts.copyDirect(ctx, dest, batch.Rows)
		if err != nil {
			return ts.fail("copy", err)
		}
		if loaded {
			return nil
		}
	}
	if !ts.staged {
		if _, err := ts.tx.ExecContext(ctx, ts.stageSQL); err != nil {
			return ts.fail("create staging table", err)
		}
		ts.staged = true
	}
	if step, err := ts.copy(ctx, ts.copySQL, batch.Rows, true); err != nil {
		return ts.fail(step, err)
	}
	ts.rows += int64(len(batch.Rows))
	return nil
}

// writeDest returns where the rows of a Write belong when that is known
// before the flush: the resync copy once BeginResync was called, the table
// when there is no copy. With a copy left by an earlier run, the flush's
// state document decides (see FlushState), so rows are staged.
func (ts *tableSink) writeDest() (dest string, known bool) {
	switch ts.resyncCopy {
	case copyBegun:
		return ts.qResync, true
	case copyNone:
		return ts.qTarget, true
	}
	return "", false
}

// copyDirect COPYs rows straight into dest. For a table with a primary key
// it does so under a savepoint: when a key conflicts (with a row of dest, or
// of this COPY), the COPY is undone, loaded is false, and the table's rows
// are staged and upserted from then on.
func (ts *tableSink) copyDirect(ctx context.Context, dest string, rows [][]any) (loaded bool, err error) {
	q := "COPY " + dest + " (" + sqlident.List(ts.cols) + ") FROM STDIN"
	if len(ts.pk) == 0 {
		_, err := ts.copy(ctx, q, rows, false)
		return err == nil, err
	}
	if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_copy"); err != nil {
		return false, err
	}
	if _, err := ts.copy(ctx, q, rows, false); err != nil {
		if !isCode(err, "23505") { // unique_violation
			return false, err
		}
		ts.tryInsert = false
		_, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_copy")
		return false, err
	}
	return true, nil
}

// copy runs the COPY statement q with rows, adding the staging table's
// sequence number to each when seq is set. On error, it also returns the
// step that failed.
func (ts *tableSink) copy(ctx context.Context, q string, rows [][]any, seq bool) (string, error) {
	stmt, err := ts.tx.PrepareContext(ctx, q)
	if err != nil {
		return "copy", err
	}
	step, err := ts.copyRows(ctx, stmt, rows, seq)
	// The COPY must end before anything else can run in the transaction.
	if cerr := stmt.Close(); err == nil && cerr != nil {
		step, err = "copy", cerr
	}
	return step, err
}

// copyRows sends rows to the COPY statement stmt and ends it. On error, it
// also returns the step that failed.
func (ts *tableSink) copyRows(ctx context.Context, stmt *sql.Stmt, rows [][]any, seq bool) (string, error) {
	defer clear(ts.args)
	n := len(ts.cols)
	args := ts.args[:n]
	if seq {
		args = ts.args[:n+1]
	}
	for _, row := range rows {
		if len(row) != n {
			return "write", fmt.Errorf("a row has %d values, the table %d columns", len(row), n)
		}
		for i, v := range row {
			a, err := ts.enc[i](v)
			if err != nil {
				return "write", fmt.Errorf("column %q: %w", ts.cols[i], err)
			}
			args[i] = a
		}
		if seq {
			ts.seq++
			args[n] = ts.seq
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return "copy", err
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return "copy", err
	}
	return "", nil
}
