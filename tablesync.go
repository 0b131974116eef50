// This file holds the sync of one table: its phases, the keyset page loop,
// delivery to the sink in batches, checkpoints and retries.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// tableSync runs one table's sync within a Run.
type tableSync struct {
	e       *Extractor
	ck      *checkpointer
	plan    *Plan
	dialect Dialect
	stats   *tableStats

	name     string
	decoders []decoder
	conn     *sql.Conn

	state     TableState
	prog      *Progress
	sinceCkpt int64     // rows delivered since the last checkpoint
	lastCkpt  time.Time // when the last checkpoint was saved

	// page holds the decoded rows of the current page or batch; its rows
	// share one backing array, reused from page to page.
	page    [][]any
	backing []any
	dest    []driver.Value
}

// run syncs the table and returns the rows delivered.
func (s *tableSync) run(ctx context.Context) (rows int64, err error) {
	t := s.plan.Table
	s.name = t.QualifiedName()
	s.stats.start()
	defer func() { s.stats.finish(err) }()
	log := s.e.log.With("table", s.name)
	defer func() { s.releaseConn(err != nil) }()

	s.decoders = make([]decoder, len(t.Columns))
	for i, c := range t.Columns {
		s.decoders[i] = decoderFor(c)
	}
	s.loadState(log)
	if err := s.e.sink.Open(ctx, t); err != nil {
		return 0, &TableError{Table: s.name, Step: "open sink", Err: err}
	}
	if s.state.InProgress == nil {
		if err := s.begin(ctx); err != nil {
			return 0, err
		}
	} else {
		log.Info("resuming table", "mode", s.plan.Mode, "phase", s.state.InProgress.Phase, "rows_so_far", s.state.InProgress.Rows)
	}
	s.prog = s.state.InProgress
	startRows := s.prog.Rows
	log.Info("table started", "mode", s.plan.Mode, "replication_key", s.plan.ReplicationKey)
	s.lastCkpt = time.Now()

	if err := s.phases(ctx); err != nil {
		s.saveOnStop(ctx, log)
		return s.prog.Rows - startRows, err
	}
	if err := s.finish(ctx); err != nil {
		return s.prog.Rows - startRows, err
	}
	log.Info("table finished", "rows", s.prog.Rows-startRows)
	return s.prog.Rows - startRows, nil
}

// loadState takes the table's saved state, unless the plan has changed under
// it: a bookmark is only meaningful for the key it was taken on.
func (s *tableSync) loadState(log interface{ Info(string, ...any) }) {
	key := s.plan.keyColumn()
	fresh := TableState{Mode: s.plan.Mode, ReplicationKey: s.plan.ReplicationKey, KeyType: key.SourceType}
	saved := s.ck.table(s.name)
	switch {
	case saved == nil:
		s.state = fresh
	case saved.Mode != fresh.Mode || saved.ReplicationKey != fresh.ReplicationKey || saved.KeyType != fresh.KeyType:
		log.Info("plan changed since the last sync: syncing the table in full again",
			"old_mode", saved.Mode, "old_key", saved.ReplicationKey, "old_key_type", saved.KeyType,
			"mode", fresh.Mode, "key", fresh.ReplicationKey, "key_type", fresh.KeyType)
		s.state = fresh
	default:
		s.state = *saved
	}
}

// begin starts a new sync of the table: it fixes the high-water mark and
// tells a ResyncSink that a full resync begins.
func (s *tableSync) begin(ctx context.Context) error {
	prog := &Progress{Phase: phaseRows, From: s.state.Bookmark}
	if s.plan.Mode == ModeIncremental {
		hw, err := s.highWater(ctx)
		if err != nil {
			return &TableError{Table: s.name, Step: "read high-water mark", Err: err}
		}
		prog.HighWater = hw
		if hw == nil {
			prog.Phase = phaseNullKeys // no row has a key
		}
	}
	if rs, ok := s.e.sink.(ResyncSink); ok && s.plan.Mode == ModeFull {
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
		if err := s.readPhase(ctx); err != nil {
			return err
		}
		if s.plan.Mode == ModeFull || !s.plan.keyColumn().Nullable {
			return nil
		}
		s.prog.Phase, s.prog.After = phaseNullKeys, nil
	}
	if s.prog.Phase == phaseNullKeys && s.plan.Mode == ModeIncremental && s.plan.keyColumn().Nullable {
		return s.readPhase(ctx)
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
	if s.prog.HighWater != nil {
		s.state.Bookmark = s.prog.HighWater
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
func (s *tableSync) saveOnStop(ctx context.Context, log interface{ Warn(string, ...any) }) {
	if s.sinceCkpt == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.checkpoint(ctx); err != nil {
		log.Warn("could not save the last checkpoint; the rerun reads those rows again", "error", err)
	}
}

// highWater returns the text of the key's current maximum, nil when no row
// has a key.
func (s *tableSync) highWater(ctx context.Context) (*string, error) {
	key := s.plan.keyColumn()
	q := "SELECT max(" + sqlident.Quote(key.Name) + ") FROM " + sqlident.Qualified(s.plan.Table.Schema, s.plan.Table.Name)
	var hw *string
	err := s.withRetry(ctx, "read high-water mark", func() error {
		return s.query(ctx, q, nil, func(row []driver.Value) error {
			v, err := decoderFor(key)(row[0])
			if err != nil || v == nil {
				return err
			}
			txt, err := keyText(v, key.Type)
			hw = &txt
			return err
		})
	})
	return hw, err
}

// readPhase reads the current phase: keyset pages when it has an order,
// one streaming read otherwise.
func (s *tableSync) readPhase(ctx context.Context) error {
	shape := s.plan.shape(s.prog.Phase, s.prog, s.lookback(), s.dialect)
	if len(shape.orderBy) == 0 {
		return s.withRetry(ctx, "read", func() error { return s.stream(ctx, shape) })
	}
	limit := s.e.cfg.BatchSize
	for {
		q, args := shape.pageSQL(s.prog.After, limit)
		var n int
		err := s.withRetry(ctx, "read page", func() error {
			n = 0
			s.ensurePage(limit)
			return s.query(ctx, q, args, func(row []driver.Value) error {
				return s.decodeInto(s.page[n], row, func() { n++ })
			})
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		deliver, last, err := s.cut(shape, n, limit)
		if err != nil {
			return err
		}
		if deliver == 0 {
			// The whole page is one tie group (a non-unique tuple): read
			// the group whole, unordered, then move past it.
			tq, targs := shape.tieSQL(last)
			if err := s.withRetry(ctx, "read tie group", func() error { return s.streamQuery(ctx, tq, targs) }); err != nil {
				return err
			}
		} else if err := s.deliver(ctx, s.page[:deliver]); err != nil {
			return err
		}
		s.prog.After = last
		if err := s.maybeCheckpoint(ctx); err != nil {
			return err
		}
		if n < limit {
			return nil
		}
		limit = s.nextLimit(limit)
	}
}

// cut decides how much of a page of n rows to deliver. With a unique tuple,
// all of it. Otherwise, when the page is full, the rows that share the last
// row's tuple may continue on the next page, so they are held back and read
// again from there: a tie group is never split between pages. It returns
// the rows to deliver and the tuple to resume after.
func (s *tableSync) cut(shape *readShape, n, limit int) (int, []string, error) {
	last, err := s.tuple(shape, s.page[n-1])
	if err != nil {
		return 0, nil, err
	}
	if shape.unique || n < limit {
		return n, last, nil
	}
	k := n - 1
	for k > 0 {
		t, err := s.tuple(shape, s.page[k-1])
		if err != nil {
			return 0, nil, err
		}
		if !slices.Equal(t, last) {
			return k, t, nil
		}
		k--
	}
	return 0, last, nil
}

// tuple returns the text of row's ordering tuple.
func (s *tableSync) tuple(shape *readShape, row []any) ([]string, error) {
	out := make([]string, len(shape.orderBy))
	for i, c := range shape.orderBy {
		v := row[shape.orderIdx[i]]
		if v == nil {
			return nil, fmt.Errorf("column %q of the ordering is NULL", c.Name)
		}
		txt, err := keyText(v, c.Type)
		if err != nil {
			return nil, &TableError{Table: s.name, Step: "read", Err: fmt.Errorf("column %q: %w", c.Name, err)}
		}
		out[i] = txt
	}
	return out, nil
}

// stream reads the whole shape in one query, delivering batches as they
// fill: for a table with no order to page by.
func (s *tableSync) stream(ctx context.Context, shape *readShape) error {
	q, args := shape.pageSQL(nil, 0)
	return s.streamQuery(ctx, q, args)
}

func (s *tableSync) streamQuery(ctx context.Context, q string, args []any) error {
	limit := s.e.cfg.BatchSize
	s.ensurePage(limit)
	n := 0
	err := s.query(ctx, q, args, func(row []driver.Value) error {
		if err := s.decodeInto(s.page[n], row, func() { n++ }); err != nil {
			return err
		}
		if n == limit || s.overBudget(n) {
			err := s.deliver(ctx, s.page[:n])
			n = 0
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		return s.deliver(ctx, s.page[:n])
	}
	return nil
}

// ensurePage sizes the page buffer for limit rows.
func (s *tableSync) ensurePage(limit int) {
	cols := len(s.plan.Table.Columns)
	if len(s.page) >= limit {
		return
	}
	s.backing = make([]any, limit*cols)
	s.page = make([][]any, limit)
	for i := range s.page {
		s.page[i] = s.backing[i*cols : (i+1)*cols : (i+1)*cols]
	}
}

// decodeInto decodes one driver row into dst and calls added once it did.
func (s *tableSync) decodeInto(dst []any, row []driver.Value, added func()) error {
	for i, dec := range s.decoders {
		v, err := dec(row[i])
		if err != nil {
			return &TableError{Table: s.name, Step: "decode", Err: fmt.Errorf("column %q: %w", s.plan.Table.Columns[i].Name, err)}
		}
		dst[i] = v
	}
	added()
	return nil
}

// deliver hands rows to the sink, in batches of at most BatchSize rows and
// BatchBytes bytes.
func (s *tableSync) deliver(ctx context.Context, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), s.e.cfg.BatchSize)
		var bytes int64
		for i := range n {
			bytes += rowBytes(rows[i])
			if b := s.e.cfg.BatchBytes; b > 0 && bytes >= int64(b) {
				n = i + 1
				break
			}
		}
		if err := s.e.sink.Write(ctx, Batch{Table: s.plan.Table, Rows: rows[:n]}); err != nil {
			return &TableError{Table: s.name, Step: "write to sink", Err: err}
		}
		s.prog.Rows += int64(n)
		s.sinceCkpt += int64(n)
		s.stats.rows.Add(int64(n))
		s.stats.bytes.Add(bytes)
		s.stats.batches.Add(1)
		rows = rows[n:]
	}
	return nil
}

// overBudget reports whether the first n rows of the page reached BatchBytes.
func (s *tableSync) overBudget(n int) bool {
	b := s.e.cfg.BatchBytes
	if b <= 0 {
		return false
	}
	var sum int64
	for _, r := range s.page[:n] {
		sum += rowBytes(r)
	}
	return sum >= int64(b)
}

// nextLimit shrinks the page size so a page stays within BatchBytes, judged
// by the rows of the last page.
func (s *tableSync) nextLimit(limit int) int {
	b := s.e.cfg.BatchBytes
	if b <= 0 {
		return limit
	}
	var sum int64
	for _, r := range s.page[:limit] {
		sum += rowBytes(r)
	}
	per := max(sum/int64(limit), 1)
	return int(min(max(int64(b)/per, 16), int64(s.e.cfg.BatchSize)))
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

// maybeCheckpoint saves a checkpoint when CheckpointEveryRows rows or
// CheckpointInterval have passed since the last one.
func (s *tableSync) maybeCheckpoint(ctx context.Context) error {
	if s.sinceCkpt < int64(s.e.cfg.CheckpointEveryRows) && time.Since(s.lastCkpt) < s.e.cfg.CheckpointInterval {
		return nil
	}
	return s.checkpoint(ctx)
}

// checkpoint flushes the sink, then saves the progress: never the other way
// round, so the state never claims rows the sink could still lose.
func (s *tableSync) checkpoint(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	p := *s.prog
	p.After = slices.Clone(s.prog.After)
	st := s.state
	st.InProgress = &p
	if err := s.ck.save(ctx, s.name, st, p.Rows, false, s.commitFunc()); err != nil {
		return &TableError{Table: s.name, Step: "save checkpoint", Err: err}
	}
	s.sinceCkpt, s.lastCkpt = 0, time.Now()
	return nil
}

// flush makes the rows written so far durable before a state that claims
// them is saved. A StateSink does that in FlushState, with the state.
func (s *tableSync) flush(ctx context.Context) error {
	if _, ok := s.e.sink.(StateSink); ok {
		return nil
	}
	if err := s.e.sink.Flush(ctx, s.plan.Table); err != nil {
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
	return func(ctx context.Context, doc []byte) error { return ss.FlushState(ctx, s.plan.Table, doc) }
}

// lookback returns the configured lookback as an interval literal, "" for none.
func (s *tableSync) lookback() string {
	if s.e.cfg.Lookback <= 0 {
		return ""
	}
	return fmt.Sprintf("%d microseconds", s.e.cfg.Lookback.Microseconds())
}

// withRetry runs fn, retrying transient failures with backoff on a fresh
// connection, up to MaxRetries times. fn must be safe to run again: a page
// that failed was not delivered, so it is read again from the same position.
func (s *tableSync) withRetry(ctx context.Context, step string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := s.ensureConn(ctx)
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
		s.releaseConn(true)
		if ctx.Err() != nil {
			return &TableError{Table: s.name, Step: step, Err: ctx.Err()}
		}
		if !isTransient(ctx, err) || attempt >= s.e.cfg.MaxRetries {
			if gone, _ := tableExists(ctx, s.e.pool.db, s.plan.Table.Schema, s.plan.Table.Name); SQLState(err) == "42P01" && !gone {
				err = fmt.Errorf("%w: %w", ErrTableGone, err)
			}
			return &TableError{Table: s.name, Step: step, Err: err}
		}
		wait := backoff(attempt + 1)
		s.stats.retries.Add(1)
		s.e.log.Warn("transient source error: retrying", "table", s.name, "step", step, "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return &TableError{Table: s.name, Step: step, Err: err}
		}
	}
}

func (s *tableSync) ensureConn(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	c, err := s.e.pool.acquire(ctx)
	if err != nil {
		return err
	}
	s.conn = c
	return nil
}

func (s *tableSync) releaseConn(broken bool) {
	if s.conn != nil {
		s.e.pool.release(s.conn, broken)
		s.conn = nil
	}
}

// query runs q on the held connection at the driver level, calling each for
// every row. The row's values are only valid during the call. Reading below
// database/sql skips its per-row conversions and copies.
func (s *tableSync) query(ctx context.Context, q string, args []any, each func(row []driver.Value) error) error {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return s.conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("driver %T cannot run queries directly", dc)
		}
		rows, err := qc.QueryContext(ctx, q, named)
		if err != nil {
			return err
		}
		if cap(s.dest) < len(rows.Columns()) {
			s.dest = make([]driver.Value, len(rows.Columns()))
		}
		dest := s.dest[:len(rows.Columns())]
		for {
			if err := rows.Next(dest); err != nil {
				if errors.Is(err, io.EOF) {
					return rows.Close()
				}
				rows.Close()
				return err
			}
			if err := each(dest); err != nil {
				rows.Close()
				return err
			}
		}
	})
}
