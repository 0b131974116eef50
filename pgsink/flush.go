// This file holds the flushes: Flush, which commits the rows written
// without a state (at-least-once), FlushState, which commits them together
// with the state document (exactly-once), and the commit both share.

package pgsink

import (
	"context"

	"errors"
	"fmt"

	"github.com/seed2085993a/redshiftsync"
)

// Flush commits the rows written since the last flush, merging those
// staged into the table (or into the resync copy, in a resync; or into both,
// for a copy left by an earlier run, see the package documentation),
// without a state: for use as a plain Sink, when the state is kept
// elsewhere (at-least-once). After EndResync it also swaps the resync copy
// in.
func (s *Sink) Flush(ctx context.Context, table *redshiftsync.Table) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "Flush")
	if err != nil {
		return err
	}
	ts.plain = true
	if ts.tx == nil && ts.resyncCopy != copyEnded {
		return nil
	}
	dests := []string{ts.qTarget}
	switch ts.resyncCopy {
	case copyBegun, copyEnded:
		dests = []string{ts.qResync}
	case copyLeft:
		// A copy left by an earlier run, and no state to say whether its
		// resync is being resumed or was abandoned: the rows go into both,
		// so they are right either way (a resumed resync swaps the copy in
		// at its end; an abandoned copy is replaced by the next resync).
		dests = []string{ts.qResync, ts.qTarget}
	}
	return ts.commit(ctx, dests, ts.resyncCopy == copyEnded, false, nil)
}

// FlushState commits the rows written since the last flush together with
// doc, which it saves in the state table as it is: one transaction, so
// either both are committed or neither is. Staged rows are merged first.
//
// Where staged rows go follows entry, what doc records of table: while it
// records a resync in progress, into the resync copy; when it records the
// table's sync finished after EndResync, into the resync copy, which is then
// swapped in, in the same transaction; otherwise into the table itself, and
// a resync copy left by an abandoned resync is dropped. An entry that
// contradicts the calls (a resync in progress without a copy, BeginResync or
// EndResync without the state to match) fails the flush. With a nil entry
// the calls decide: a copy is resynced into until EndResync, then swapped in.
func (s *Sink) FlushState(ctx context.Context, table *redshiftsync.Table, entry *redshiftsync.TableView, doc []byte) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	ts, err := s.table(table, "FlushState")
	if err != nil {
		return err
	}
	ts.plain = false
	ended := ts.resyncCopy == copyEnded
	var inResync, finishing bool
	if entry != nil {
		inResync = entry.Resyncing()
		finishing = entry.InProgress == nil && ended
	} else { // no entry to go by: the calls decide
		inResync = ts.resyncCopy.exists() && !ended
		finishing = ended
	}
	switch {
	case (inResync || finishing) && !ts.resyncCopy.exists():
		return ts.fail("flush", fmt.Errorf("the state records a resync of the table in progress, but its copy %s does not exist, "+
			"so the rows it held are gone: remove the table's entry from the state (or the whole state) to sync it again", ts.qResync))
	case !inResync && !finishing && ts.resyncCopy == copyBegun:
		return ts.fail("flush", errors.New("BeginResync was called, but the state records no resync in progress"))
	case ended && !finishing:
		return ts.fail("flush", errors.New("EndResync was called, but the state does not record the table's sync finished"))
	}
	if err := s.state.ensureTable(ctx); err != nil {
		return ts.fail("flush", err)
	}
	dest, swap, drop := ts.qTarget, false, false
	switch {
	case inResync:
		dest = ts.qResync
	case finishing:
		dest, swap = ts.qResync, true
	default:
		drop = ts.resyncCopy.exists()
	}
	return ts.commit(ctx, []string{dest}, swap, drop, doc)
}

// commit merges the staged rows into each of dests, swaps the resync copy in
// (swap) or drops it (drop), saves doc when it is not nil, and commits.
func (ts *tableSink) commit(ctx context.Context, dests []string, swap, drop bool, doc []byte) error {
	if err := ts.begin(ctx); err != nil {
		return ts.fail("begin", err)
	}
	for _, dest := range dests {
		if ts.rows == 0 {
			break
		}
		if err := ts.merge(ctx, dest); err != nil {
			return ts.fail("merge", err)
		}
	}
	if swap {
		if err := ts.swap(ctx); err != nil {
			return ts.fail("swap in the resynced table", err)
		}
	}
	if drop {
		if _, err := ts.tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+ts.qResync); err != nil {
			return ts.fail("drop the copy of an abandoned resync", err)
		}
	}
	if doc != nil {
		if err := ts.s.state.save(ctx, ts.tx, doc); err != nil {
			return ts.fail("save state", err)
		}
	}
	err := ts.tx.Commit()
	ts.tx, ts.staged, ts.rows, ts.keysReady = nil, false, 0, false
	if err != nil {
		ts.broken = err
		return fmt.Errorf("pgsink: table %s: commit: %w", ts.name, err)
	}
	if swap || drop {
		ts.resyncCopy = copyNone
	}
	return nil
}
