// This file holds the attempts of a streamed read: marking where each
// begins, and undoing a failed one in an AttemptSink before it is retried.

package redshiftsync

import (
	"context"
	"fmt"
	"time"
)

// undoTimeout bounds an UndoAttempt, which runs even when the run's context
// is canceled.
const undoTimeout = 10 * time.Second

// beginAttempt tells the sink that an attempt of a streamed read begins.
// The caller holds the table's sink lock until the attempt ends.
func (u *unit) beginAttempt(ctx context.Context) error {
	if err := u.t.e.ab.beginAttempt(ctx, u.t.plan.Table); err != nil {
		u.t.sinkFailed.Store(true)
		return &TableError{Table: u.t.name, Step: StepBeginAttempt, Err: err}
	}
	return nil
}

// undoFailedAttempt has the sink discard what a failed attempt (err) wrote,
// and returns err, or the undo's failure. A failed sink call is not undone:
// the sink is broken, and nothing more is flushed for the table. The undo
// runs on a context of its own: a stopped run must not commit the rows of
// an attempt whose position is not saved (they would be read again).
func (u *unit) undoFailedAttempt(ctx context.Context, err error) error {
	if err == nil || u.t.sinkFailed.Load() {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	if uerr := u.t.e.ab.undoAttempt(ctx, u.t.plan.Table); uerr != nil {
		u.t.sinkFailed.Store(true)
		return &TableError{Table: u.t.name, Step: StepUndoAttempt, Err: fmt.Errorf("%w (the attempt had failed: %v)", uerr, err)}
	}
	return err
}
