// This file holds the sink's side of redshiftsync.AttemptSink: a savepoint
// per attempt of a streamed read, rolled back when the attempt fails.

package pgsink

import (
	"context"
	"database/sql"
	"errors"

	"github.com/seed2085993a/redshiftsync"
)

// attemptMark is the table's state at its last BeginAttempt, restored by
// UndoAttempt. It belongs to the transaction tx: a flush or a rollback ends
// that transaction, and the mark with it.
type attemptMark struct {
	tx        *sql.Tx
	staged    bool
	rows      int64
	keysReady bool
}

// BeginAttempt sets a savepoint in the table's transaction (opening it when
// needed): UndoAttempt rolls back to it. See [redshiftsync.AttemptSink].
func (s *Sink) BeginAttempt(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "BeginAttempt")
	if err != nil {
		return err
	}
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	if _, err := ts.tx.ExecContext(ctx, "SAVEPOINT redshiftsync_attempt"); err != nil {
		return ts.fail("begin attempt", err)
	}
	ts.attempt = attemptMark{tx: ts.tx, staged: ts.staged, rows: ts.rows, keysReady: ts.keysReady}
	return nil
}

// UndoAttempt rolls the table's transaction back to the savepoint of the
// last BeginAttempt: the rows written since (copied into the table, the
// resync copy or the staging table) are discarded, and those written before
// are kept, still to be committed by the next flush.
func (s *Sink) UndoAttempt(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "UndoAttempt")
	if err != nil {
		return err
	}
	if ts.tx == nil || ts.attempt.tx != ts.tx {
		return ts.fail("undo attempt", errors.New("UndoAttempt without a BeginAttempt since the last flush"))
	}
	if _, err := ts.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT redshiftsync_attempt"); err != nil {
		return ts.fail("undo attempt", err)
	}
	// The savepoint undid a staging table created in the attempt.
	ts.staged, ts.rows, ts.keysReady = ts.attempt.staged, ts.attempt.rows, ts.attempt.keysReady
	ts.attempt = attemptMark{}
	return nil
}
