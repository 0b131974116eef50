// This file holds the UNLOAD read of a table's rows phase: deciding as the
// sync begins whether the phase is unloaded, running the UNLOAD once (the
// location saved before it runs, its parts saved once it ran), streaming
// the parts concurrently into the sink, each part the unit of resume, and
// deleting the files once the table's sync succeeded.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
)

// unloadDecide reports whether the rows phase of prog, which begin is
// setting up, is read with UNLOAD: the plan allows it (UnloadPlan.Use), and
// the phase reaches the threshold: by the catalog's estimate for a full
// sync or a first incremental one, by its rows counted otherwise (a later
// incremental phase, or a table with no estimate).
func (s *tableSync) unloadDecide(ctx context.Context, u *unit, prog *progress) (bool, error) {
	up := s.plan.Unload
	if up == nil || !up.Use || s.e.unloader == nil || s.dialect != DialectRedshift {
		return false, nil
	}
	thr, est := int64(s.e.cfg.UnloadThreshold), s.plan.Table.EstimatedRows
	if est >= 0 && (s.plan.Mode == ModeFull || prog.From == nil) {
		return est >= thr, nil
	}
	shape := s.plan.shape(phaseRows, prog, s.lookback(), s.dialect)
	q := "SELECT count(*) FROM " + shape.from
	if len(shape.filters) > 0 {
		q += " WHERE " + strings.Join(shape.filters, " AND ")
	}
	var rows int64
	err := u.withRetry(ctx, StepCountRows, func() error {
		return u.query(ctx, q, shape.args, func(row []driver.Value) error {
			rows, _ = row[0].(int64)
			return nil
		})
	})
	if err != nil {
		return false, err
	}
	use := rows >= thr
	s.log.Info("rows of the phase counted for UNLOAD", "rows", rows, "unload_threshold_rows", thr, "unload", use)
	return use, nil
}

// readUnload reads the rows phase from its UNLOAD (kept in the progress
// through the null_keys phase, so that its files are deleted, or named, at
// the end): runs it unless it ran,
// then streams the parts not yet delivered.
func (s *tableSync) readUnload(ctx context.Context) error {
	if s.prog.Unload.Ran && !s.unloadBegun {
		if err := s.checkUnloadFiles(ctx); err != nil {
			return err
		}
	}
	if !s.prog.Unload.Ran {
		if err := s.runUnload(ctx); err != nil {
			return err
		}
	}
	return s.readUnloadParts(ctx)
}

// checkUnloadFiles checks, as a sync resumes from an UNLOAD that ran, that
// its manifest is still there. When it is gone (an S3 lifecycle rule, a
// cleanup), the phase is unloaded again, with the same bounds, and every
// row of it delivered again (a resync is begun again): no row is lost and
// no operator has to clear the state, at the cost of rows delivered twice,
// which the at-least-once contract allows. An error would leave the table
// failing on every run with no way on but removing its state.
func (s *tableSync) checkUnloadFiles(ctx context.Context) error {
	up := s.prog.Unload
	_, err := s.e.unloader.Parts(ctx, up.Location)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, ErrUnloadNotFound):
		return &TableError{Table: s.name, Step: StepUnload, Err: fmt.Errorf("read the manifest of the UNLOAD at %s: %w", up.Location, err)}
	}
	s.log.Warn("the files of the UNLOAD this sync was reading are gone: unloading the phase again, and delivering all its rows again", "location", up.Location)
	if err := s.restartResync(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	up.Ran, up.Parts = false, nil
	s.mu.Unlock()
	return nil
}

// runUnload runs the UNLOAD of the phase and records its parts. The
// location is saved first, so that a crash while it runs (or before its
// parts are saved) finds the files rather than unloading again; a resumed
// sync reads the manifest first, and unloads again only when there is none
// (the previous UNLOAD was cut short), removing what it left.
func (s *tableSync) runUnload(ctx context.Context) error {
	loc := s.prog.Unload.Location
	un := s.e.unloader
	if s.unloadBegun {
		if err := s.checkpoint(ctx); err != nil {
			return err
		}
	} else {
		parts, err := un.Parts(ctx, loc)
		switch {
		case err == nil:
			s.log.Info("resuming an UNLOAD that finished before the last run stopped", "location", loc, "parts", len(parts))
			return s.unloadRan(ctx, parts)
		case errors.Is(err, ErrUnloadNotFound):
			if err := un.Remove(ctx, loc); err != nil {
				return &TableError{Table: s.name, Step: StepUnload, Err: fmt.Errorf("remove the files of the UNLOAD cut short at %s before running it again: %w", loc, err)}
			}
		default:
			return &TableError{Table: s.name, Step: StepUnload, Err: fmt.Errorf("read the manifest of the UNLOAD at %s: %w", loc, err)}
		}
	}
	query, err := unloadSelect(s.plan, s.prog, s.lookback())
	if err != nil {
		return &TableError{Table: s.name, Step: StepUnload, Err: err}
	}
	auth := unloadAuthOf(s.e.cfg)
	stmt, err := unloadStatement(query, loc, auth, false)
	if err != nil {
		return &TableError{Table: s.name, Step: StepUnload, Err: err}
	}
	shown, _ := unloadStatement(query, loc, auth, true)
	s.log.Info("unloading the table", "location", loc, "statement", shown)
	u := s.newUnit(nil, nil)
	defer u.releaseConn(false)
	attempts := 0
	err = u.withRetry(ctx, StepUnload, func() error {
		if attempts++; attempts > 1 {
			// A failed UNLOAD may have written some parts: UNLOAD
			// refuses a location that holds files.
			if err := un.Remove(ctx, loc); err != nil {
				return fmt.Errorf("remove the files of the failed UNLOAD at %s: %w", loc, err)
			}
		}
		return s.e.unloadExec(ctx, u.conn, stmt)
	})
	if err != nil {
		return auth.redactError(err)
	}
	u.releaseConn(false)
	parts, err := un.Parts(ctx, loc)
	if err != nil {
		return &TableError{Table: s.name, Step: StepUnload, Err: fmt.Errorf("read the manifest of the UNLOAD at %s: %w", loc, err)}
	}
	return s.unloadRan(ctx, parts)
}

// unloadRan records the parts of the UNLOAD that ran and saves them.
func (s *tableSync) unloadRan(ctx context.Context, parts []UnloadPart) error {
	var rows, bytes int64
	s.mu.Lock()
	up := s.prog.Unload
	up.Parts = make([]*unloadPartProgress, len(parts))
	for i, p := range parts {
		up.Parts[i] = &unloadPartProgress{UnloadPart: p}
		rows, bytes = rows+p.Rows, bytes+p.Bytes
	}
	up.Ran = true
	s.mu.Unlock()
	s.log.Info("UNLOAD done", "location", up.Location, "parts", len(parts), "rows", rows, "bytes", bytes)
	return s.checkpoint(ctx)
}

// readUnloadParts streams the parts not yet delivered, as many at once as
// the worker budget allows (each read holds a slot of it, as a query does).
// The first failing part stops the others.
func (s *tableSync) readUnloadParts(ctx context.Context) error {
	s.stats.partsDone.Store(0)
	return eachPart(ctx, s, StepReadUnloadPart, s.prog.Unload.Parts,
		func(part *unloadPartProgress) bool { return part.Done },
		func(ctx context.Context, part *unloadPartProgress) error {
			if err := s.readUnloadPart(ctx, part); err != nil {
				return err
			}
			return s.maybeCheckpoint(ctx)
		})
}

// readUnloadPart reads one part into the sink, retrying a failed read of
// the part (not a sink's failure) from its start, up to MaxRetries times.
func (s *tableSync) readUnloadPart(ctx context.Context, part *unloadPartProgress) error {
	if err := s.e.pool.sem.Acquire(ctx, 1); err != nil {
		return &TableError{Table: s.name, Step: StepReadUnloadPart, Err: context.Cause(ctx)}
	}
	defer s.e.pool.sem.Release(1)
	s.stats.start()
	u := s.newUnit(nil, nil)
	for attempt := 0; ; attempt++ {
		err := s.readUnloadPartOnce(ctx, u, part)
		var te *TableError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &te):
			return te // the sink's failure
		case ctx.Err() != nil:
			return &TableError{Table: s.name, Step: StepReadUnloadPart, Err: context.Cause(ctx)}
		case attempt >= s.e.cfg.MaxRetries:
			return &TableError{Table: s.name, Step: StepReadUnloadPart, Err: fmt.Errorf("part %s: %w", part.URL, err),
				Hint: "the UNLOAD's files are kept at " + s.prog.Unload.Location + " and the next run resumes with the parts not yet delivered"}
		}
		wait := backoff(attempt + 1)
		s.stats.retries.Add(1)
		s.log.Warn(RetryLogMessage, "step", StepReadUnloadPart, "part", part.URL, "attempt", attempt+1, "wait", wait, "error", err)
		if err := sleep(ctx, wait); err != nil {
			return &TableError{Table: s.name, Step: StepReadUnloadPart, Err: err}
		}
	}
}

// readUnloadPartOnce streams a part whole into the sink in batches and marks
// it done, its rows claimed, in one step when it ends: a crash re-reads at
// most the part. As streamTo does, it holds the table's sink for the whole
// part for a StateSink (no other checkpoint commits part of it) and an
// AttemptSink (an undo discards this attempt's rows only); other sinks are
// locked per batch, so the parts of one table stream concurrently.
func (s *tableSync) readUnloadPartOnce(ctx context.Context, u *unit, part *unloadPartProgress) (err error) {
	undoable := s.e.ab.undoesAttempts()
	whole := s.e.ab.keepsState() || undoable
	if whole {
		s.sinkMu.Lock()
		defer s.sinkMu.Unlock()
	}
	if undoable {
		if err := u.beginAttempt(ctx); err != nil {
			return err
		}
		defer func() { err = u.undoFailedAttempt(ctx, err) }()
	}
	maxBytes := int64(max(s.e.cfg.BatchBytes, 0))
	var total int64
	err = s.e.unloader.ReadPart(ctx, s.plan.Table, part.UnloadPart, s.e.cfg.BatchSize, maxBytes, func(rows [][]any) error {
		if len(u.sizes) < len(rows) {
			u.sizes = make([]int64, len(rows))
		}
		for i, r := range rows {
			u.sizes[i] = rowBytes(r)
		}
		if !whole {
			s.sinkMu.Lock()
			defer s.sinkMu.Unlock()
		}
		if err := u.deliver(ctx, rows); err != nil {
			return err
		}
		total += int64(len(rows))
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	part.Done = true
	s.prog.Rows += total
	s.mu.Unlock()
	s.sinceCkpt.Add(total)
	return nil
}

// removeUnload deletes the files of the UNLOAD the finished sync read,
// unless unload_keep_files. The sync succeeded: a failure is logged (with
// where the files are), not the table's.
func (s *tableSync) removeUnload(ctx context.Context, up *unloadProgress) {
	if up == nil || s.e.unloader == nil {
		return
	}
	if s.e.cfg.UnloadKeepFiles {
		s.log.Info("the UNLOAD's files are kept (unload_keep_files)", "location", up.Location)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := s.e.unloader.Remove(ctx, up.Location); err != nil {
		s.log.Warn("could not delete the UNLOAD's files; delete them by hand", "location", up.Location, "error", err)
		return
	}
	s.log.Info("the UNLOAD's files are deleted", "location", up.Location)
}

// unloadLeft logs where the files of an UNLOAD are left when the sync of
// its table failed or stopped: the next run resumes from them.
func (s *tableSync) unloadLeft(err error) {
	if s.prog == nil || s.prog.Unload == nil {
		return
	}
	s.log.Warn("the table's sync stopped during an UNLOAD read: its files are kept for the next run, which resumes with the parts not yet delivered",
		"location", s.prog.Unload.Location, "error", err)
}

// dropUnloadWithoutUnloader discards an UNLOAD in progress when this run
// has no Unloader to read it (WithUnloader left out since): the sync
// starts again, with SELECT.
func (s *tableSync) dropUnloadWithoutUnloader() {
	p := s.state.InProgress
	if p == nil || p.Unload == nil || s.e.unloader != nil {
		return
	}
	if p.Phase != phaseRows {
		// Its parts are delivered: only their deletion is left undone.
		s.log.Warn("no Unloader is given now to delete the files of the UNLOAD the table's sync read; delete them by hand", "location", p.Unload.Location)
		p.Unload = nil
		return
	}
	s.log.Warn("the table's sync was reading an UNLOAD, but no Unloader is given now: starting the sync again with SELECT; delete the files by hand",
		"location", p.Unload.Location)
	s.state.InProgress = nil
}

// redactError returns err with every secret of a replaced by "[redacted]":
// a server's error about an UNLOAD must not show its keys, whatever it
// quotes.
func (a unloadAuth) redactError(err error) error {
	msg := err.Error()
	clean := msg
	for _, v := range []Secret{a.keyID, a.secret, a.token} {
		if v != "" {
			clean = strings.ReplaceAll(clean, string(v), redacted)
		}
	}
	if clean == msg {
		return err
	}
	var te *TableError
	if errors.As(err, &te) {
		return &TableError{Table: te.Table, Step: te.Step, Err: errors.New(clean), Hint: te.Hint, source: te.source}
	}
	return errors.New(clean)
}

// checkUnloadProgress checks the UNLOAD of a saved position: a location in
// S3 and no missing part.
func checkUnloadProgress(table string, p *progress) error {
	up := p.Unload
	if up == nil {
		return nil
	}
	if !strings.HasPrefix(up.Location, "s3://") || !strings.HasSuffix(up.Location, "/") {
		return fmt.Errorf("%w: table %q: the UNLOAD's location %q is not an s3:// prefix", ErrStateCorrupt, table, up.Location)
	}
	for i, part := range up.Parts {
		if part == nil || part.URL == "" {
			return fmt.Errorf("%w: table %q: UNLOAD part %d has no URL", ErrStateCorrupt, table, i)
		}
	}
	return nil
}
