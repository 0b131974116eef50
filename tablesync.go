// This file holds the lifecycle of one table's sync: loading its saved
// state, beginning a sync (watermark, partitions, resync), its phases,
// finishing it, and the checkpoint protocol that flushes the sink before a
// state claiming its rows is saved. The reads themselves are in read.go,
// batch.go, partition.go, blockrange.go and snapshot.go.

package redshiftsync

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq/oid"
)

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
	decoders []rowDecoder
	// wireSend is wireSendOID of each column, for wire.go's reader.
	wireSend []oid.Oid

	mu    sync.Mutex // guards prog while units run
	state tableState
	prog  *progress

	// snap is the snapshot the pass in progress reads in, nil when it reads
	// each page in a snapshot of its own (see snapshot.go).
	snap *snapshot

	sinkMu     sync.Mutex  // serializes sink calls for the table; held from a StateSink's snapshot to its FlushState
	sinkFailed atomic.Bool // a sink call failed: nothing more is flushed or saved in this run
	ckMu       sync.Mutex  // serializes checkpoints
	sinceCkpt  atomic.Int64
	lastCkpt   atomic.Int64 // unix nanoseconds

	forceResync bool // the sink's Open asked for a full resync (ErrResyncRequired)

	del         *detector // delete detection (deletes.go), nil when off for the table
	unloadBegun bool      // begin chose UNLOAD in this run: no file of it exists yet (unloadread.go)
}

// run syncs the table and returns the rows delivered.
func (s *tableSync) run(ctx context.Context) (rows int64, err error) {
	t := s.plan.Table
	s.name = t.QualifiedName()
	s.log = s.e.log.With("table", s.name)
	defer func() { s.stats.finish(err) }()
	defer s.catch(StepSync, func(e error) { err = e })

	s.decoders = make([]rowDecoder, len(t.Columns))
	s.wireSend = make([]oid.Oid, len(t.Columns))
	for i, c := range t.Columns {
		s.decoders[i] = rowDecoderFor(c, s.dialect)
		s.wireSend[i] = wireSendOID(c)
	}
	s.loadState()
	s.dropUnloadWithoutUnloader()
	if err := s.checkResume(); err != nil {
		return 0, &TableError{Table: s.name, Step: StepLoadState, Err: err}
	}
	s.del = s.newDetector()
	if err := s.e.ab.open(ctx, t, s.ck.view(s.name)); err != nil && !s.resyncRequested(err) {
		return 0, &TableError{Table: s.name, Step: StepOpenSink, Err: err}
	}
	if err := s.tellSchemaChange(ctx); err != nil {
		return 0, err
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
		s.unloadLeft(err)
		return s.rowsDelivered() - startRows, err
	}
	if err := s.detectDeletes(ctx); err != nil {
		return s.rowsDelivered() - startRows, err
	}
	if err := s.finish(ctx); err != nil {
		s.unloadLeft(err)
		return s.rowsDelivered() - startRows, err
	}
	s.removeUnload(ctx, s.prog.Unload)
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
	fresh := tableState{Mode: s.plan.Mode, ReplicationKey: s.plan.ReplicationKey, KeyType: key.SourceType}
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
// the watermark (see pendingMark), splits a large table into partitions, and tells
// a ResyncSink that a full resync begins.
func (s *tableSync) begin(ctx context.Context) error {
	prog := &progress{Phase: phaseRows, From: s.state.Bookmark, Order: s.order()}
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
		unload, err := s.unloadDecide(ctx, u, prog)
		if err != nil {
			return err
		}
		if unload {
			// After the high-water mark: the UNLOAD's bounds are fixed
			// before it runs, and the bookmark moves to them only when
			// every part is delivered (finish).
			prog.Unload = &unloadProgress{Location: unloadLocation(s.e.cfg.UnloadS3URI, s.plan.Table, time.Now())}
			s.unloadBegun = true
		} else if prog.Partitions, err = u.partitions(ctx, prog); err != nil {
			return err
		}
	}
	if s.e.ab.resyncs() && (s.plan.Mode == ModeFull || s.forceResync) {
		if err := s.e.ab.beginResync(ctx, s.plan.Table); err != nil {
			return &TableError{Table: s.name, Step: StepBeginResync, Err: err}
		}
		prog.Resync = true
	}
	s.state.InProgress = prog
	return nil
}

// phases reads the phases left of the sync in progress.
func (s *tableSync) phases(ctx context.Context) error {
	if s.prog.Phase == phaseRows {
		read := s.readPass
		if s.prog.Unload != nil {
			read = s.readUnload
		}
		if err := read(ctx); err != nil {
			return err
		}
		if s.plan.Mode == ModeFull || !s.plan.keyColumn().Nullable {
			return nil
		}
		s.mu.Lock()
		s.prog.Phase, s.prog.After, s.prog.Partitions = phaseNullKeys, nil, nil
		s.prog.Chunked, s.prog.ChunkColumn = false, ""
		s.mu.Unlock()
	}
	if s.prog.Phase == phaseNullKeys && s.plan.Mode == ModeIncremental && s.plan.keyColumn().Nullable {
		if err := s.chunkNullKeys(ctx); err != nil {
			return err
		}
		return s.readRows(ctx)
	}
	return nil
}

// chunkNullKeys cuts a Redshift table's null_keys phase not yet begun into
// chunks on the primary key's leading column, or one unordered chunk when
// that column cannot be cut: keyset pages by the primary key would make the
// leader node sort the whole NULL set again for every page. The chunks are
// in the progress, so a crash resumes at a chunk. PostgreSQL pages the phase
// by the primary key, as an index serves those pages.
func (s *tableSync) chunkNullKeys(ctx context.Context) error {
	if s.dialect != DialectRedshift || s.prog.Partitions != nil || s.prog.After != nil {
		return nil
	}
	u := s.newUnit(nil, nil)
	u.planning = true
	defer u.releaseConn(false)
	s.mu.Lock()
	prog := *s.prog
	s.mu.Unlock()
	prog.Chunked, prog.ChunkColumn = false, ""
	parts, err := u.partitions(ctx, &prog)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.prog.Partitions, s.prog.Chunked, s.prog.ChunkColumn = parts, prog.Chunked, ""
	s.mu.Unlock()
	if len(parts) > 0 {
		s.stats.partsDone.Store(0) // Stats counts the phase's chunks from here
	}
	return nil
}

func (s *tableSync) shape() *readShape {
	sh := s.plan.shape(s.prog.Phase, s.prog, s.lookback(), s.dialect)
	sh.wire = s.dialect == DialectPostgres && s.e.pool.wires.seen()
	return sh
}

// finish flushes the sink, ends a resync and saves the finished state.
func (s *tableSync) finish(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	if s.prog.Resync {
		if err := s.e.ab.endResync(ctx, s.plan.Table); err != nil {
			return &TableError{Table: s.name, Step: StepEndResync, Err: err}
		}
	}
	// The bookmark is the newest mark released when the sync began, never
	// its own high-water mark as such (see pendingMark). A sync begun by a
	// version-1 state has no marks: it keeps the bookmark it read from.
	if s.prog.Watermark {
		if s.prog.NextBookmark != nil {
			s.state.Bookmark = s.prog.NextBookmark
		}
		s.state.Pending = s.prog.Marks
	}
	now := time.Now().UTC()
	s.state.LastSyncedAt = &now
	s.state.Deletes = s.del.withDirty(s.state.Deletes)
	s.state.Columns = columnList(s.plan.Table)
	rows := s.prog.Rows
	s.state.InProgress = nil
	if err := s.ck.save(ctx, s.name, s.state, rows, true, s.commitFunc()); err != nil {
		return &TableError{Table: s.name, Step: StepSaveCheckpoint, Err: err}
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
	s.del.mark(rows)
	if err := s.e.ab.sink.Write(ctx, Batch{Table: s.plan.Table, Rows: rows}); err != nil {
		s.sinkFailed.Store(true)
		return &TableError{Table: s.name, Step: StepWrite, Err: err}
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
	if s.e.ab.keepsState() {
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
	st.Deletes = s.del.withDirty(st.Deletes)
	if err := s.ck.save(ctx, s.name, st, snap.Rows, false, s.commitFunc()); err != nil {
		s.sinceCkpt.Add(pending)
		if s.e.ab.keepsState() {
			s.sinkFailed.Store(true)
		}
		return &TableError{Table: s.name, Step: StepSaveCheckpoint, Err: err}
	}
	s.lastCkpt.Store(time.Now().UnixNano())
	return nil
}

// flush makes the rows written so far durable before a state that claims
// them is saved. A StateSink does that in FlushState, with the state.
func (s *tableSync) flush(ctx context.Context) error {
	if s.e.ab.keepsState() {
		return nil
	}
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	if err := s.e.ab.sink.Flush(ctx, s.plan.Table); err != nil {
		s.sinkFailed.Store(true)
		return &TableError{Table: s.name, Step: StepFlush, Err: err}
	}
	return nil
}

// commitFunc returns how a checkpoint's document is saved: by a StateSink
// together with the rows, or (nil) by the StateStore.
func (s *tableSync) commitFunc() func(context.Context, *tableState, []byte) error {
	if !s.e.ab.keepsState() {
		return nil
	}
	// The caller holds sinkMu (checkpoint), or no unit is left running
	// (finish).
	return func(ctx context.Context, entry *tableState, doc []byte) error {
		return s.e.ab.flushState(ctx, s.plan.Table, entry, doc)
	}
}

// lookback returns the configured lookback, 0 for none.
func (s *tableSync) lookback() time.Duration {
	return max(s.e.cfg.Lookback, 0)
}
