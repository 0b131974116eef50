// This file holds how the sink's statements outlive a canceled context: a
// stopped run (SIGINT) must still complete the write and the flush that
// the extractor saves its last position with.

package pgsink

import (
	"context"
	"time"
)

// stopGrace is how long a call of the sink may still run once its context
// is canceled: long enough for a COPY of one batch, or the merge and commit
// of a checkpoint; short enough that a stuck destination does not hold up a
// stopped run.
const stopGrace = 10 * time.Second

// detach returns a context for the statements of one sink call that is not
// canceled when ctx is, but stopGrace later. lib/pq cancels a statement
// whose context is canceled, which aborts the table's transaction and
// discards every row written since the last flush: the extractor, stopped,
// could then save nothing. Detached, the call completes, and so does the
// FlushState that saves the last position.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	d, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(stopGrace, cancel)
		context.AfterFunc(d, func() { t.Stop() })
	})
	return d, func() {
		stop()
		cancel()
	}
}
