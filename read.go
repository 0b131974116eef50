// This file holds the read strategies of a unit: keyset pages held whole
// and cut at a tie group, pages streamed batch by batch over a unique
// ordering, and streams with no position (no order to page by, a chunk, a
// tie group), with the restart of a streamed resync.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"

	"github.com/lib/pq/oid"
)

// unit reads one part of a table's phase, on a connection of its own:
// keyset pages when its shape has an order, one streaming read otherwise.
type unit struct {
	t     *tableSync
	shape *readShape
	after *[]string  // where the unit's position is kept in the progress
	part  *partition // nil unless the unit reads a partition
	conn  *sql.Conn
	snap  *snapshot // the snapshot every read of the unit imports; nil for none
	// planning is set on the unit of begin's catalog queries (watermark,
	// bounds): holding it does not make the table "running" in Stats.
	planning bool

	advanced int64 // times the unit's position moved forward

	// splitOnTimeout makes withRetry hand a statement timeout back to the
	// unit, which reads its chunk in smaller parts instead of running the
	// same statement again; timeouts are the timeouts its next withRetry
	// starts with (see withRetry).
	splitOnTimeout bool
	timeouts       int

	// page holds the decoded rows of the current page or batch; its rows
	// share one backing array, reused from page to page.
	page    [][]any
	backing []any
	dest    []driver.Value
	send    []oid.Oid // the table's wireSend during a rowQuery
	ranks   []int64   // the server's rank of each row of a ranked page
	// sizes is the rowBytes of each row of page, taken once as it is
	// decoded: the batch budget and the byte counts of Stats both use it.
	sizes []int64
	// pageBytes is the rowBytes of the rows decoded into page since it
	// was last reset (see overBudget).
	pageBytes int64
	// alloc holds the values decodeInto builds (see valueAlloc).
	alloc valueAlloc
}

func (s *tableSync) newUnit(shape *readShape, after *[]string) *unit {
	return &unit{t: s, shape: shape, after: after, snap: s.snap}
}

// read reads the unit to its end.
func (u *unit) read(ctx context.Context) (err error) {
	defer func() { u.releaseConn(err != nil) }()
	if u.part != nil && len(u.shape.orderBy) == 0 {
		// A chunk: streamed whole; it is done, and its rows claimed, in one
		// step when it ends, so a crash re-reads at most the chunk.
		u.splitOnTimeout = u.t.canSplit(u.part)
		err := u.readChunk(ctx)
		var timedOut *errTimedOut
		if errors.As(err, &timedOut) {
			return u.readSplit(ctx, timedOut.err)
		}
		return err
	}
	if len(u.shape.orderBy) == 0 {
		started := false
		return u.withRetry(ctx, StepRead, func() error {
			if started {
				if err := u.restartResync(ctx); err != nil {
					return err
				}
			}
			started = true
			q, args := u.shape.pageSQL(nil, 0)
			return u.streamTo(ctx, q, args, nil)
		})
	}
	if u.shape.unique {
		return u.readUnique(ctx)
	}
	t := u.t
	limit := t.e.cfg.BatchSize
	if t.e.cfg.BatchBytes > 0 {
		// A page is held whole before it is cut, and nothing says yet how
		// wide the rows are: the first page is small, the next ones sized
		// by it (nextLimit).
		limit = min(limit, minPageRows)
	}
	for {
		t.mu.Lock()
		after := *u.after
		t.mu.Unlock()
		q, args := u.shape.pageSQL(after, limit)
		if u.shape.serverTies {
			q, args = u.shape.rankedPageSQL(after, limit)
		}
		rankCol := len(t.plan.Table.Columns)
		var n int
		err := u.withRetry(ctx, StepReadPage, func() error {
			n, u.pageBytes = 0, 0
			u.ensurePage(limit)
			return u.rowQuery(ctx, q, args, func(row []driver.Value) error {
				if u.shape.serverTies {
					rank, ok := row[rankCol].(int64)
					if !ok {
						return &TableError{Table: t.name, Step: StepReadPage, Err: fmt.Errorf("the page's rank column is %T, not an integer", row[rankCol])}
					}
					u.ranks[n] = rank
				}
				return u.decodeInto(n, row, func() { n++ })
			})
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		// Sized now: a tie group streamed below reuses pageBytes.
		next := u.nextLimit(limit)
		deliver, last, err := u.cut(n, limit)
		if err != nil {
			return err
		}
		if deliver == 0 {
			// The whole page is one tie group (a non-unique tuple): read
			// the group whole, unordered, then move past it.
			tq, targs := u.shape.tieSQL(last)
			if err := u.withRetry(ctx, StepReadTieGroup, func() error { return u.streamTo(ctx, tq, targs, last) }); err != nil {
				return err
			}
		} else if err := u.deliverPage(ctx, u.page[:deliver], last); err != nil {
			return err
		}
		if err := t.maybeCheckpoint(ctx); err != nil {
			return err
		}
		if n < limit {
			return nil
		}
		limit = next
	}
}

// readChunk streams the unit's chunk whole, then checkpoints when one is due.
func (u *unit) readChunk(ctx context.Context) error {
	err := u.withRetry(ctx, StepReadChunk, func() error {
		q, args := u.shape.pageSQL(nil, 0)
		return u.streamTo(ctx, q, args, nil)
	})
	if err != nil {
		return err
	}
	return u.t.maybeCheckpoint(ctx)
}

// minPageRows is the smallest page of the non-unique page loop under a byte
// budget: a page of very wide rows stays a few rows, at the cost of reading
// again the row held back at its end (see cut).
const minPageRows = 4

// uniquePageBatches is how many batches a page holds when the ordering is
// known unique: such a page is streamed batch by batch, never held whole, so
// its size costs no memory, and fewer, longer queries cost less.
const uniquePageBatches = 10

// readUnique reads keyset pages over a tuple known to be unique (an enforced
// primary key). Each page streams: every batch is delivered as it fills and
// the position moves past its last row, so the position is exact at every
// batch and a checkpoint can fall anywhere; a retry resumes after the last
// delivered batch.
func (u *unit) readUnique(ctx context.Context) error {
	t := u.t
	limit := t.e.cfg.BatchSize * uniquePageBatches
	for {
		var total int
		err := u.withRetry(ctx, StepReadPage, func() error {
			t.mu.Lock()
			after := *u.after
			t.mu.Unlock()
			q, args := u.shape.pageSQL(after, limit)
			var err error
			total, err = u.streamBatches(ctx, q, args, nil, func(last []any) ([]string, error) { return u.tuple(last) })
			return err
		})
		if err != nil || total < limit {
			return err
		}
	}
}

// streamBatches runs q and delivers its rows in batches as they fill, each
// batch with the position that position returns for its last row, then
// checkpoints when one is due: the position is exact at every batch. check,
// when set, sees each driver row first. It returns the rows delivered.
func (u *unit) streamBatches(ctx context.Context, q string, args []any, check func(row []driver.Value) error, position func(last []any) ([]string, error)) (int, error) {
	t := u.t
	batch := t.e.cfg.BatchSize
	u.ensurePage(batch)
	n, total := 0, 0
	u.pageBytes = 0
	deliver := func() error {
		last, err := position(u.page[n-1])
		if err != nil {
			return err
		}
		if err := u.deliverPage(ctx, u.page[:n], last); err != nil {
			return err
		}
		n, u.pageBytes = 0, 0
		return t.maybeCheckpoint(ctx)
	}
	err := u.rowQuery(ctx, q, args, func(row []driver.Value) error {
		if check != nil {
			if err := check(row); err != nil {
				return err
			}
		}
		if err := u.decodeInto(n, row, func() { n++; total++ }); err != nil {
			return err
		}
		if n == batch {
			return deliver()
		}
		return u.spill(&n, deliver)
	})
	if err == nil && n > 0 {
		err = deliver()
	}
	return total, err
}

// cut decides how much of a page of n rows to deliver. When the page is
// full, the rows that share the last row's tuple may continue on the next
// page, so they are held back and read again from there: a tie group is
// never split between pages. Which rows share it is decided by the server's
// equality: the next page resumes strictly after a tuple, which skips every
// row the server calls equal to it. For an ordering with serverTies that is
// the page's rank (see rankedPageSQL), never a comparison of texts in Go;
// for the others equal key texts are equal values (textEqualsValue). It
// returns the rows to deliver and the tuple to resume after; 0 rows when
// the whole page is one tie group.
func (u *unit) cut(n, limit int) (int, []string, error) {
	last, err := u.tuple(u.page[n-1])
	if err != nil || n < limit {
		return n, last, err
	}
	for k := n - 1; k > 0; k-- {
		var same bool
		var t []string
		if u.shape.serverTies {
			same = u.ranks[k-1] == u.ranks[n-1]
		} else if t, err = u.tuple(u.page[k-1]); err != nil {
			return 0, nil, err
		} else {
			same = slices.Equal(t, last)
		}
		if same {
			continue
		}
		if t == nil {
			t, err = u.tuple(u.page[k-1])
		}
		return k, t, err
	}
	return 0, last, nil
}

// tuple returns the text of row's ordering tuple.
func (u *unit) tuple(row []any) ([]string, error) {
	out := make([]string, len(u.shape.orderBy))
	for i, c := range u.shape.orderBy {
		v := row[u.shape.orderIdx[i]]
		if v == nil {
			return nil, &TableError{Table: u.t.name, Step: StepRead, Err: fmt.Errorf("column %q of the ordering is NULL", c.Name)}
		}
		txt, err := keyText(v, c.Type)
		if err != nil {
			return nil, &TableError{Table: u.t.name, Step: StepRead, Err: fmt.Errorf("column %q: %w", c.Name, err)}
		}
		out[i] = txt
	}
	return out, nil
}

// restartResync tells a ResyncSink that a streamed resync starts over: a
// retry reads the table from its first row again, and the rows of the
// failed attempt must not count twice.
func (u *unit) restartResync(ctx context.Context) error { return u.t.restartResync(ctx) }

// restartResync begins the table's resync in progress again, when there is
// one (a ResyncSink was told of it): the rows delivered since the last
// BeginResync are delivered again (a streamed read retried from its first
// row, a pass in a new snapshot, an UNLOAD whose files are gone). Without a
// resync in progress it does nothing: the rows delivered again are
// duplicates, at-least-once.
func (s *tableSync) restartResync(ctx context.Context) error {
	if !s.prog.Resync {
		return nil
	}
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	if err := s.e.ab.beginResync(ctx, s.plan.Table); err != nil {
		s.sinkFailed.Store(true)
		return &TableError{Table: s.name, Step: StepBeginResync, Err: err}
	}
	return nil
}

// streamTo streams q to the sink, delivering batches as they fill, then
// moves the unit's position to after (nil: no position) and counts the rows:
// its rows are claimed only when it ends, so a crash reads it again from the
// start. It serves reads with no order to page by, chunks and tie groups.
func (u *unit) streamTo(ctx context.Context, q string, args []any, after []string) (err error) {
	// For a StateSink the whole stream holds the sink, so no checkpoint
	// of another unit commits part of it (exactly-once); for an
	// AttemptSink too, so that an undo discards this stream's rows only.
	// Other sinks are locked per batch, so the chunks of one table stream
	// concurrently; a chunk's rows written before a crash are read again
	// (at-least-once).
	undoable := u.t.e.ab.undoesAttempts()
	whole := u.t.e.ab.keepsState() || undoable
	if whole {
		u.t.sinkMu.Lock()
		defer u.t.sinkMu.Unlock()
	}
	if undoable {
		if err := u.beginAttempt(ctx); err != nil {
			return err
		}
		defer func() { err = u.undoFailedAttempt(ctx, err) }()
	}
	deliver := func(rows [][]any) error {
		if !whole {
			u.t.sinkMu.Lock()
			defer u.t.sinkMu.Unlock()
		}
		return u.deliver(ctx, rows)
	}
	limit := u.t.e.cfg.BatchSize
	u.ensurePage(limit)
	n := 0
	u.pageBytes = 0
	var total int64
	flush := func() error {
		err := deliver(u.page[:n])
		total += int64(n)
		n, u.pageBytes = 0, 0
		return err
	}
	err = u.rowQuery(ctx, q, args, func(row []driver.Value) error {
		if err := u.decodeInto(n, row, func() { n++ }); err != nil {
			return err
		}
		if n == limit {
			return flush()
		}
		return u.spill(&n, flush)
	})
	if err != nil {
		return err
	}
	if n > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	u.t.advance(u, total, after)
	return nil
}
