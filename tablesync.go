// This file holds the sync of one table: its phases, its partitions, the
// keyset page loop of each read unit, delivery to the sink in batches,
// checkpoints and retries.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stepDecode is the step of a TableError for a value the table holds that
// cannot be decoded (see tableScoped).
const stepDecode = "decode"

// tableSync runs one table's sync within a Run. Its read units (one, or one
// per partition) run concurrently; sink calls are serialized by sinkMu, so
// the sink sees one call at a time per table.
type tableSync struct {
	e       *Extractor
	ck      *checkpointer
	plan    *Plan
	dialect Dialect
	stats   *tableStats
	log     *slog.Logger

	name     string
	decoders []decoder

	mu    sync.Mutex // guards prog while units run
	state TableState
	prog  *Progress

	// snap is the snapshot the pass in progress reads in, nil when it reads
	// each page in a snapshot of its own (see snapshot.go).
	snap *snapshot

	sinkMu     sync.Mutex  // serializes sink calls for the table; held from a StateSink's snapshot to its FlushState
	sinkFailed atomic.Bool // a sink call failed: nothing more is flushed or saved in this run
	ckMu       sync.Mutex  // serializes checkpoints
	sinceCkpt  atomic.Int64
	lastCkpt   atomic.Int64 // unix nanoseconds

	forceResync bool // the sink's Open asked for a full resync (ErrResyncRequired)
}

// run syncs the table and returns the rows delivered.
func (s *tableSync) run(ctx context.Context) (rows int64, err error) {
	t := s.plan.Table
	s.name = t.QualifiedName()
	s.log = s.e.log.With("table", s.name)
	defer func() { s.stats.finish(err) }()
	defer s.catch("sync", func(e error) { err = e })

	s.decoders = make([]decoder, len(t.Columns))
	for i, c := range t.Columns {
		s.decoders[i] = decoderFor(c)
	}
	s.loadState()
	if err := s.checkResume(); err != nil {
		return 0, &TableError{Table: s.name, Step: "load state", Err: err}
	}
	if err := s.e.sink.Open(ctx, t); err != nil && !s.resyncRequested(err) {
		return 0, &TableError{Table: s.name, Step: "open sink", Err: err}
	}
	if s.state.InProgress == nil {
		if err := s.begin(ctx); err != nil {
			return 0, err
		}
	} else {
		s.log.Info("resuming table", "mode", s.plan.Mode, "phase", s.state.InProgress.Phase, "rows_so_far", s.state.InProgress.Rows)
	}
	s.prog = s.state.InProgress
	if s.plan.Mode == ModeIncremental && s.prog.From != nil {
		s.stats.unknownEstimate()
	}
	startRows := s.prog.Rows
	s.stats.resume(startRows)
	s.log.Info("table started", "mode", s.plan.Mode, "replication_key", s.plan.ReplicationKey, "partitions", len(s.prog.Partitions))
	s.lastCkpt.Store(time.Now().UnixNano())

	if err := s.phases(ctx); err != nil {
		s.saveOnStop(ctx)
		return s.rowsDelivered() - startRows, err
	}
	if err := s.finish(ctx); err != nil {
		return s.rowsDelivered() - startRows, err
	}
	s.log.Info("table finished", "rows", s.prog.Rows-startRows)
	return s.prog.Rows - startRows, nil
}

func (s *tableSync) rowsDelivered() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prog.Rows
}

// loadState takes the table's saved state, unless the plan has changed under
// it: a bookmark is only meaningful for the key it was taken on.
func (s *tableSync) loadState() {
	key := s.plan.keyColumn()
	fresh := TableState{Mode: s.plan.Mode, ReplicationKey: s.plan.ReplicationKey, KeyType: key.SourceType}
	saved := s.ck.table(s.name)
	switch {
	case saved == nil:
		s.state = fresh
	case saved.Mode != fresh.Mode || saved.ReplicationKey != fresh.ReplicationKey || saved.KeyType != fresh.KeyType:
		s.log.Info("plan changed since the last sync: syncing the table in full again",
			"old_mode", saved.Mode, "old_key", saved.ReplicationKey, "old_key_type", saved.KeyType,
			"mode", fresh.Mode, "key", fresh.ReplicationKey, "key_type", fresh.KeyType)
		s.state = fresh
	default:
		s.state = *saved
		if p := saved.InProgress; p != nil && !slices.Equal(p.Order, s.order()) {
			// After is a tuple of the old ordering: bound to the new one it
			// cannot be bound, or skips the rows sorting below it.
			s.log.Info("the table's ordering changed since its sync was interrupted: starting that sync again",
				"old_order", p.Order, "order", s.order())
			s.state.InProgress = nil
		}
	}
}

// order returns "name type" of the columns that order the table's pages:
// the replication key, if any, and the primary key.
func (s *tableSync) order() []string {
	var out []string
	if s.plan.ReplicationKey != "" {
		k := s.plan.keyColumn()
		out = append(out, k.Name+" "+k.SourceType)
	}
	for _, name := range s.plan.Table.PrimaryKey {
		c, _ := s.plan.Table.Column(name)
		out = append(out, c.Name+" "+c.SourceType)
	}
	return out
}

// begin starts a new sync of the table: it fixes the high-water mark and
// the watermark (see Mark), splits a large table into partitions, and tells
// a ResyncSink that a full resync begins.
func (s *tableSync) begin(ctx context.Context) error {
	prog := &Progress{Phase: phaseRows, From: s.state.Bookmark, Order: s.order()}
	u := s.newUnit(nil, nil)
	u.planning = true
	defer u.releaseConn(false)
	if s.plan.Mode == ModeIncremental {
		wm, err := u.watermark(ctx, &s.state)
		if err != nil {
			return err
		}
		prog.From = s.state.Bookmark // lowered when it was above the server's clock
		prog.HighWater, prog.NextBookmark, prog.Marks, prog.Watermark = wm.high, wm.bookmark, wm.pending, true
		if wm.high == nil {
			prog.Phase = phaseNullKeys // no row has a key
		}
		s.warnFuture(wm.future)
	}
	if prog.Phase == phaseRows {
		parts, err := u.partitions(ctx, prog)
		if err != nil {
			return err
		}
		prog.Partitions = parts
	}
	if rs, ok := s.e.sink.(ResyncSink); ok && (s.plan.Mode == ModeFull || s.forceResync) {
		if err := rs.BeginResync(ctx, s.plan.Table); err != nil {
			return &TableError{Table: s.name, Step: "begin resync", Err: err}
		}
		prog.Resync = true
	}
	s.state.InProgress = prog
	return nil
}

// phases reads the phases left of the sync in progress.
func (s *tableSync) phases(ctx context.Context) error {
	if s.prog.Phase == phaseRows {
		if err := s.readPass(ctx); err != nil {
			return err
		}
		if s.plan.Mode == ModeFull || !s.plan.keyColumn().Nullable {
			return nil
		}
		s.mu.Lock()
		s.prog.Phase, s.prog.After, s.prog.Partitions = phaseNullKeys, nil, nil
		s.mu.Unlock()
	}
	if s.prog.Phase == phaseNullKeys && s.plan.Mode == ModeIncremental && s.plan.keyColumn().Nullable {
		return s.newUnit(s.shape(), &s.prog.After).read(ctx)
	}
	return nil
}

func (s *tableSync) shape() *readShape {
	return s.plan.shape(s.prog.Phase, s.prog, s.lookback(), s.dialect)
}

// readRows reads the "rows" phase: one unit, or one per unfinished
// partition, concurrently. The first failing partition stops the others.
func (s *tableSync) readRows(ctx context.Context) error {
	if len(s.prog.Partitions) == 0 {
		return s.newUnit(s.shape(), &s.prog.After).read(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	todo := make(chan *Partition, len(s.prog.Partitions))
	s.stats.parts.Store(int64(len(s.prog.Partitions)))
	for _, part := range s.prog.Partitions {
		if part.Done {
			s.stats.partsDone.Add(1)
		} else {
			todo <- part
		}
	}
	close(todo)
	// As many readers as the worker budget allows; each takes the next
	// range when it finishes one, in key order.
	var wg sync.WaitGroup
	for range min(s.e.cfg.MaxParallelWorkers, len(todo)) {
		wg.Go(func() {
			defer s.catch("read", cancel)
			for part := range todo {
				if ctx.Err() != nil {
					return
				}
				u := s.newUnit(s.partShape(part), &part.After)
				u.part = part
				if err := u.readPart(ctx); err != nil {
					cancel(err)
					return
				}
				s.mu.Lock()
				part.Done = true
				s.mu.Unlock()
				s.stats.partsDone.Add(1)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var te *TableError
		if !errors.As(err, &te) {
			err = &TableError{Table: s.name, Step: "read", Err: err} // the run was canceled
		}
		return err
	}
	return nil
}

// finish flushes the sink, ends a resync and saves the finished state.
func (s *tableSync) finish(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	if rs, ok := s.e.sink.(ResyncSink); ok && s.prog.Resync {
		if err := rs.EndResync(ctx, s.plan.Table); err != nil {
			return &TableError{Table: s.name, Step: "end resync", Err: err}
		}
	}
	// The bookmark is the newest mark released when the sync began, never
	// its own high-water mark as such (see Mark). A sync begun by a
	// version-1 state has no marks: it keeps the bookmark it read from.
	if s.prog.Watermark {
		if s.prog.NextBookmark != nil {
			s.state.Bookmark = s.prog.NextBookmark
		}
		s.state.Pending = s.prog.Marks
	}
	now := time.Now().UTC()
	s.state.LastSyncedAt = &now
	rows := s.prog.Rows
	s.state.InProgress = nil
	if err := s.ck.save(ctx, s.name, s.state, rows, true, s.commitFunc()); err != nil {
		return &TableError{Table: s.name, Step: "save checkpoint", Err: err}
	}
	return nil
}

// saveOnStop saves the progress made since the last checkpoint when the run
// is stopped or fails, so a rerun does not read it again. It runs on a
// context of its own: the run's may already be canceled.
func (s *tableSync) saveOnStop(ctx context.Context) {
	// After a failed sink call the sink may have dropped rows it had not
	// flushed: a flush now could succeed and let the state claim them.
	if s.sinceCkpt.Load() == 0 || s.sinkFailed.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.checkpoint(ctx); err != nil {
		s.log.Warn("could not save the last checkpoint; the rerun reads those rows again", "error", err)
	}
}

// writeLocked hands a batch to the sink. The caller holds sinkMu, so the
// write and the advance of the position it belongs to are one step for a
// checkpoint's snapshot.
func (s *tableSync) writeLocked(ctx context.Context, rows [][]any) error {
	if err := s.e.sink.Write(ctx, Batch{Table: s.plan.Table, Rows: rows}); err != nil {
		s.sinkFailed.Store(true)
		return &TableError{Table: s.name, Step: "write to sink", Err: err}
	}
	return nil
}

// advance records that a unit delivered n more rows and now stands after
// the tuple after.
func (s *tableSync) advance(u *unit, n int64, after []string) {
	s.mu.Lock()
	s.prog.Rows += n
	if u.part != nil {
		u.part.Rows += n
	}
	if after != nil {
		*u.after = after
		u.advanced++
	}
	if u.part != nil && len(u.shape.orderBy) == 0 {
		u.part.Done = true // a chunk is delivered whole
	}
	s.mu.Unlock()
	s.sinceCkpt.Add(n)
}

// maybeCheckpoint saves a checkpoint when CheckpointEveryRows rows or
// CheckpointInterval have passed since the last one.
func (s *tableSync) maybeCheckpoint(ctx context.Context) error {
	if s.sinceCkpt.Load() < int64(s.e.cfg.CheckpointEveryRows) &&
		time.Since(time.Unix(0, s.lastCkpt.Load())) < s.e.cfg.CheckpointInterval {
		return nil
	}
	return s.checkpoint(ctx)
}

// checkpoint snapshots the progress, flushes the sink, then saves the
// snapshot: never the other way round, so the state never claims rows the
// sink could still lose. Rows written after the snapshot are flushed too but
// not claimed; they are read again after a crash.
func (s *tableSync) checkpoint(ctx context.Context) error {
	s.ckMu.Lock()
	defer s.ckMu.Unlock()
	if _, ok := s.e.sink.(StateSink); ok {
		// FlushState commits every row written so far: no write may slip
		// in between the snapshot and it, or the commit would hold rows
		// the saved state does not claim.
		s.sinkMu.Lock()
		defer s.sinkMu.Unlock()
	}
	s.mu.Lock()
	snap := s.prog.clone()
	pending := s.sinceCkpt.Swap(0)
	s.mu.Unlock()
	if err := s.flush(ctx); err != nil {
		s.sinceCkpt.Add(pending)
		return err
	}
	st := s.state
	st.InProgress = snap
	if err := s.ck.save(ctx, s.name, st, snap.Rows, false, s.commitFunc()); err != nil {
		s.sinceCkpt.Add(pending)
		if _, ok := s.e.sink.(StateSink); ok {
			s.sinkFailed.Store(true)
		}
		return &TableError{Table: s.name, Step: "save checkpoint", Err: err}
	}
	s.lastCkpt.Store(time.Now().UnixNano())
	return nil
}

// flush makes the rows written so far durable before a state that claims
// them is saved. A StateSink does that in FlushState, with the state.
func (s *tableSync) flush(ctx context.Context) error {
	if _, ok := s.e.sink.(StateSink); ok {
		return nil
	}
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	if err := s.e.sink.Flush(ctx, s.plan.Table); err != nil {
		s.sinkFailed.Store(true)
		return &TableError{Table: s.name, Step: "flush sink", Err: err}
	}
	return nil
}

// commitFunc returns how a checkpoint's document is saved: by a StateSink
// together with the rows, or (nil) by the StateStore.
func (s *tableSync) commitFunc() func(context.Context, []byte) error {
	ss, ok := s.e.sink.(StateSink)
	if !ok {
		return nil
	}
	// The caller holds sinkMu (checkpoint), or no unit is left running
	// (finish).
	return func(ctx context.Context, doc []byte) error {
		return ss.FlushState(ctx, s.plan.Table, doc)
	}
}

// lookback returns the configured lookback as an interval literal, "" for none.
func (s *tableSync) lookback() string {
	if s.e.cfg.Lookback <= 0 {
		return ""
	}
	return fmt.Sprintf("%d microseconds", s.e.cfg.Lookback.Microseconds())
}

// unit reads one part of a table's phase, on a connection of its own:
// keyset pages when its shape has an order, one streaming read otherwise.
type unit struct {
	t     *tableSync
	shape *readShape
	after *[]string  // where the unit's position is kept in the progress
	part  *Partition // nil unless the unit reads a partition
	conn  *sql.Conn
	snap  *snapshot // the snapshot every read of the unit imports; nil for none
	// planning is set on the unit of begin's catalog queries (watermark,
	// bounds): holding it does not make the table "running" in Stats.
	planning bool

	advanced int64 // times the unit's position moved forward

	// page holds the decoded rows of the current page or batch; its rows
	// share one backing array, reused from page to page.
	page    [][]any
	backing []any
	dest    []driver.Value
	ranks   []int64 // the server's rank of each row of a ranked page
	// sizes is the rowBytes of each row of page, taken once as it is
	// decoded: the batch budget and the byte counts of Stats both use it.
	sizes []int64
	// pageBytes is the rowBytes of the rows decoded into page since it
	// was last reset (see overBudget).
	pageBytes int64
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
		err := u.withRetry(ctx, "read chunk", func() error {
			q, args := u.shape.pageSQL(nil, 0)
			return u.streamTo(ctx, q, args, nil)
		})
		if err != nil {
			return err
		}
		return u.t.maybeCheckpoint(ctx)
	}
	if len(u.shape.orderBy) == 0 {
		started := false
		return u.withRetry(ctx, "read", func() error {
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
		err := u.withRetry(ctx, "read page", func() error {
			n, u.pageBytes = 0, 0
			u.ensurePage(limit)
			return u.query(ctx, q, args, func(row []driver.Value) error {
				if u.shape.serverTies {
					rank, ok := row[rankCol].(int64)
					if !ok {
						return &TableError{Table: t.name, Step: "read page", Err: fmt.Errorf("the page's rank column is %T, not an integer", row[rankCol])}
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
			if err := u.withRetry(ctx, "read tie group", func() error { return u.streamTo(ctx, tq, targs, last) }); err != nil {
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

// minPageRows is the smallest page of the non-unique page loop under a byte
// budget: a page of very wide rows stays a few rows, at the cost of reading
// again the row held back at its end (see cut).
const minPageRows = 4

// chunkRows is the size a Redshift table's key ranges aim at: large enough
// that the leader node's cost per query stays small, small enough that a
// crash re-reads little.
const chunkRows = 1_000_000

// maxChunks caps the chunks of one table (a stale or wrong estimate must not
// make thousands of tiny queries); larger tables get larger chunks.
const maxChunks = 256

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
		err := u.withRetry(ctx, "read page", func() error {
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
	err := u.query(ctx, q, args, func(row []driver.Value) error {
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
			return nil, &TableError{Table: u.t.name, Step: "read", Err: fmt.Errorf("column %q of the ordering is NULL", c.Name)}
		}
		txt, err := keyText(v, c.Type)
		if err != nil {
			return nil, &TableError{Table: u.t.name, Step: "read", Err: fmt.Errorf("column %q: %w", c.Name, err)}
		}
		out[i] = txt
	}
	return out, nil
}

// restartResync tells a ResyncSink that a streamed resync starts over: a
// retry reads the table from its first row again, and the rows of the
// failed attempt must not count twice.
func (u *unit) restartResync(ctx context.Context) error {
	t := u.t
	rs, ok := t.e.sink.(ResyncSink)
	if !ok || !t.prog.Resync {
		return nil // at-least-once: the rows of the failed attempt are duplicates
	}
	t.sinkMu.Lock()
	defer t.sinkMu.Unlock()
	if err := rs.BeginResync(ctx, t.plan.Table); err != nil {
		t.sinkFailed.Store(true)
		return &TableError{Table: t.name, Step: "begin resync", Err: err}
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
	_, whole := u.t.e.sink.(StateSink)
	as, undoable := u.t.e.sink.(AttemptSink)
	whole = whole || undoable
	if whole {
		u.t.sinkMu.Lock()
		defer u.t.sinkMu.Unlock()
	}
	if undoable {
		if err := u.beginAttempt(ctx, as); err != nil {
			return err
		}
		defer func() { err = u.undoFailedAttempt(ctx, as, err) }()
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
	err = u.query(ctx, q, args, func(row []driver.Value) error {
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

// ensurePage sizes the page buffer for limit rows.
func (u *unit) ensurePage(limit int) {
	if len(u.page) >= limit {
		return
	}
	cols := len(u.t.plan.Table.Columns)
	u.ranks = make([]int64, limit)
	u.sizes = make([]int64, limit)
	u.backing = make([]any, limit*cols)
	u.page = make([][]any, limit)
	for i := range u.page {
		u.page[i] = u.backing[i*cols : (i+1)*cols : (i+1)*cols]
	}
}

// decodeInto decodes one driver row into row n of the page, records its
// size, and calls added once it did.
func (u *unit) decodeInto(n int, row []driver.Value, added func()) error {
	dst := u.page[n]
	for i, dec := range u.t.decoders {
		v, err := dec(row[i])
		if err != nil {
			return &TableError{Table: u.t.name, Step: stepDecode, Err: fmt.Errorf("column %q: %w", u.t.plan.Table.Columns[i].Name, err)}
		}
		dst[i] = v
	}
	u.sizes[n] = rowBytes(dst)
	u.pageBytes += u.sizes[n]
	added()
	return nil
}

// deliverPage delivers a page's rows and moves the unit's position past
// them, as one step under the table's sink lock.
func (u *unit) deliverPage(ctx context.Context, rows [][]any, last []string) error {
	u.t.sinkMu.Lock()
	defer u.t.sinkMu.Unlock()
	if err := u.deliver(ctx, rows); err != nil {
		return err
	}
	u.t.advance(u, int64(len(rows)), last)
	return nil
}

// deliver hands rows to the sink, in batches of at most BatchSize rows and
// BatchBytes bytes; a row larger than BatchBytes is a batch on its own. rows
// is always the page's first rows, whose sizes decodeInto recorded. The
// caller holds the table's sink lock.
func (u *unit) deliver(ctx context.Context, rows [][]any) error {
	cfg, st := u.t.e.cfg, u.t.stats
	sizes := u.sizes[:len(rows)]
	for len(rows) > 0 {
		n := min(len(rows), cfg.BatchSize)
		var bytes int64
		for i := range n {
			rb := sizes[i]
			if cfg.BatchBytes > 0 && bytes+rb > int64(cfg.BatchBytes) {
				if i == 0 {
					n, bytes = 1, rb
				} else {
					n = i
				}
				break
			}
			bytes += rb
		}
		if err := u.t.writeLocked(ctx, rows[:n]); err != nil {
			return err
		}
		st.rows.Add(int64(n))
		st.bytes.Add(bytes)
		st.batches.Add(1)
		if u.t.log.Enabled(ctx, slog.LevelDebug) {
			u.t.log.Debug("batch delivered", "rows", n, "bytes", bytes)
		}
		rows, sizes = rows[n:], sizes[n:]
	}
	return nil
}

// overBudget reports whether the rows decoded into the page since it was
// last reset passed BatchBytes; a running sum, as summing the page at every
// row would cost a batch's rows squared.
func (u *unit) overBudget() bool {
	b := u.t.e.cfg.BatchBytes
	return b > 0 && u.pageBytes > int64(b)
}

// spill keeps a streamed page of *n rows within BatchBytes: when its last
// row took it past the budget, the rows before it are delivered (flush
// delivers the page's first *n rows and empties it) and that row starts the
// next batch, delivered alone at once when it is larger than the budget.
func (u *unit) spill(n *int, flush func() error) error {
	if !u.overBudget() {
		return nil
	}
	if k := *n; k > 1 {
		last := u.page[k-1]
		*n = k - 1
		if err := flush(); err != nil {
			return err
		}
		u.page[0], u.page[k-1] = last, u.page[0]
		u.sizes[0], u.sizes[k-1] = u.sizes[k-1], u.sizes[0]
		*n, u.pageBytes = 1, u.sizes[0]
	}
	if u.overBudget() {
		return flush()
	}
	return nil
}

// nextLimit sizes the page after a full page of limit rows so that it stays
// within BatchBytes, judged by the rows of the page just read.
func (u *unit) nextLimit(limit int) int {
	b := u.t.e.cfg.BatchBytes
	if b <= 0 {
		return limit
	}
	per := max(u.pageBytes/int64(limit), 1)
	return int(min(max(int64(b)/per, minPageRows), int64(u.t.e.cfg.BatchSize)))
}

// rowBytes estimates the memory of a decoded row.
func rowBytes(row []any) int64 {
	n := int64(16 * len(row))
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		case Decimal:
			n += int64(len(x))
		}
	}
	return n
}

// partitions splits the phase of prog into Config.Partitions key ranges of
// equal width on the leading ordering column, from one min/max query, when
// the table is large enough and that column is an integer or a timestamp.
//
// On Redshift the ranges are chunks instead (see Progress.Chunked): every
// table whose leading column can be split is read in key ranges of about
// chunkRows rows, each streamed without ORDER BY, since a per-page sort runs
// on the leader node.
//
// On PostgreSQL a table with no index to page by (keyless, or its leading
// ordering column unindexed) is read in block order instead, when the
// server can (see blockRanges).
func (u *unit) partitions(ctx context.Context, prog *Progress) ([]*Partition, error) {
	t, cfg := u.t, u.t.e.cfg
	est := t.plan.Table.EstimatedRows
	large := cfg.Partitions > 1 && est >= int64(cfg.PartitionThreshold)
	shape := t.plan.shape(phaseRows, prog, t.lookback(), t.dialect)
	if t.dialect != DialectRedshift && (len(shape.orderBy) == 0 || !shape.orderBy[0].Indexed) {
		// No index to page by: block order, resumable, when the server
		// can read them (see blockrange.go).
		if parts, ok, err := u.blockRanges(ctx, prog); err != nil || ok {
			return parts, err
		}
	}
	if len(shape.orderBy) == 0 {
		return nil, nil
	}
	lead := shape.orderBy[0]
	// Without an index on the leading column, every keyset page would scan
	// the table: read it in one streaming pass (a single chunk), or one per
	// partition when it is large.
	unindexed := t.dialect != DialectRedshift && !lead.Indexed
	chunked := t.dialect == DialectRedshift || unindexed
	if !large && !chunked {
		return nil, nil
	}
	if !splittable(lead.Type) {
		if unindexed {
			// One streaming pass over the phase, resumed as a whole.
			prog.Chunked = true
			t.log.Debug("table split into key ranges", "ranges", 1, "chunked", true, "column", lead.Name)
			return []*Partition{{}}, nil
		}
		return nil, nil
	}
	n := 1
	if large {
		n = cfg.Partitions
	}
	switch {
	case unindexed:
	case chunked && est > 0:
		n = max(n, int(min((est+chunkRows-1)/chunkRows, maxChunks)))
	case chunked:
		n = max(n, cfg.Partitions) // size unknown (svv_table_info unreadable)
	}
	if n == 1 {
		prog.Chunked = true // one range: no bounds to find
		t.log.Debug("table split into key ranges", "ranges", 1, "chunked", true, "column", lead.Name)
		return []*Partition{{}}, nil
	}
	q, args := shape.minMaxSQL()
	var lo, hi any
	err := u.withRetry(ctx, "read partition bounds", func() error {
		return u.query(ctx, q, args, func(row []driver.Value) error {
			dec := decoderFor(lead)
			var err error
			if lo, err = dec(row[0]); err != nil {
				return err
			}
			hi, err = dec(row[1])
			return err
		})
	})
	if err != nil || lo == nil || hi == nil {
		return nil, err
	}
	bounds, err := splitRange(lo, hi, n, lead.Type)
	if err != nil || (len(bounds) == 0 && !chunked) {
		return nil, err
	}
	prog.Chunked = chunked
	parts := make([]*Partition, len(bounds)+1)
	for i := range parts {
		parts[i] = &Partition{}
		if i > 0 {
			parts[i].Lower = &bounds[i-1]
		}
		if i < len(bounds) {
			parts[i].Upper = &bounds[i]
		}
	}
	t.log.Debug("table split into key ranges", "ranges", len(parts), "chunked", chunked, "column", lead.Name)
	return parts, nil
}

// withRetry runs fn, retrying transient failures with backoff on a fresh
// connection, up to MaxRetries times. fn must be safe to run again: a page
// that failed was not delivered, so it is read again from the same position.
func (u *unit) withRetry(ctx context.Context, step string, fn func() error) error {
	t := u.t
	for attempt := 0; ; attempt++ {
		before := u.advanced
		err := u.ensureConn(ctx)
		if err == nil {
			err = fn()
			if err == nil {
				return nil
			}
		}
		var te *TableError
		if errors.As(err, &te) {
			return err // a sink or decode failure, not the source's
		}
		u.releaseConn(true)
		if ctx.Err() != nil {
			return &TableError{Table: t.name, Step: step, Err: context.Cause(ctx)}
		}
		if u.advanced > before {
			// The attempt moved the position before it failed: the budget
			// bounds failures without progress, not a long read's whole
			// life. (A stream that starts over makes no progress.)
			attempt = 0
		}
		if !isTransient(ctx, err) || attempt >= t.e.cfg.MaxRetries {
			if SQLState(err) == "42P01" {
				if ok, xerr := tableExists(context.WithoutCancel(ctx), t.e.pool.db, t.plan.Table.Schema, t.plan.Table.Name); xerr == nil && !ok {
					err = fmt.Errorf("%w: %w", ErrTableGone, err)
				}
			}
			hint := sourceHint(context.WithoutCancel(ctx), t.e.pool.db, t.plan.Table.Schema, t.plan.Table.Name, err)
			return &TableError{Table: t.name, Step: step, Err: err, Hint: hint, source: true}
		}
		wait := backoff(attempt + 1)
		t.stats.retries.Add(1)
		t.log.Warn(RetryLogMessage, "step", step, "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return &TableError{Table: t.name, Step: step, Err: err}
		}
	}
}

func (u *unit) ensureConn(ctx context.Context) error {
	if u.conn != nil {
		return nil
	}
	c, err := u.t.e.pool.acquire(ctx)
	if err != nil {
		return err
	}
	u.conn = c
	if !u.planning {
		u.t.stats.start() // a worker reads its rows: no longer waiting
	}
	return nil
}

func (u *unit) releaseConn(broken bool) {
	if u.conn != nil {
		u.t.e.pool.release(u.conn, broken)
		u.conn = nil
	}
}

// query runs q on the unit's connection at the driver level, calling each
// for every row. The row's values are only valid during the call. Reading
// below database/sql skips its per-row conversions and copies.
func (u *unit) query(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	if u.snap != nil {
		return u.inSnapshot(ctx, func() error { return u.rawQuery(ctx, q, args, each) })
	}
	return u.rawQuery(ctx, q, args, each)
}

// rawQuery is query, in the connection's own transaction.
func (u *unit) rawQuery(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	// A read given up half-way (the sink or a decoder failed) is canceled,
	// not drained: lib/pq's rows.Close reads every remaining row.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return u.conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver %T cannot run queries directly", dc)
		}
		rows, err := qc.QueryContext(ctx, q, named)
		if err != nil {
			return err
		}
		cols := len(rows.Columns())
		if cap(u.dest) < cols {
			u.dest = make([]driver.Value, cols)
		}
		dest := u.dest[:cols]
		for {
			if err := rows.Next(dest); err != nil {
				if errors.Is(err, io.EOF) {
					return rows.Close()
				}
				rows.Close()
				return err
			}
			if err := each(dest); err != nil {
				cancel()
				rows.Close()
				return err
			}
		}
	})
}
