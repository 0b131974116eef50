// This file holds the abilities of the sink and the state store: the
// optional interfaces (ResyncSink, StateSink, AttemptSink, SourceAware,
// Checker, DeleteSink, KeyLister, SchemaSink, Locker) probed once, when the Extractor is built, into one value
// whose methods fall back to what the contracts say a sink or store without
// the ability gets. Every call of an optional method goes through it, so
// no other file asserts an interface.

package redshiftsync

import "context"

// abilities is the sink and the store, with their optional interfaces
// probed once. A nil field is an ability the value lacks.
type abilities struct {
	sink    Sink
	resync  ResyncSink
	state   StateSink
	attempt AttemptSink
	source  SourceAware
	checker Checker // the sink's
	deleter DeleteSink
	lister  KeyLister
	schema  SchemaSink

	store        StateStore
	locker       Locker
	storeChecker Checker
}

// probe returns the abilities of sink and store.
func probe(sink Sink, store StateStore) *abilities {
	a := &abilities{sink: sink, store: store}
	a.resync, _ = sink.(ResyncSink)
	a.state, _ = sink.(StateSink)
	a.attempt, _ = sink.(AttemptSink)
	a.source, _ = sink.(SourceAware)
	a.checker, _ = sink.(Checker)
	a.deleter, _ = sink.(DeleteSink)
	a.lister, _ = sink.(KeyLister)
	a.schema, _ = sink.(SchemaSink)
	a.locker, _ = store.(Locker)
	a.storeChecker, _ = store.(Checker)
	return a
}

// open opens table in the sink: OpenState for a StateSink, told what the
// saved state records of the table (nil: nothing), else Open.
func (a *abilities) open(ctx context.Context, table *Table, saved *TableView) error {
	if a.state != nil {
		return a.state.OpenState(ctx, table, saved)
	}
	return a.sink.Open(ctx, table)
}

// detectsDeletes reports whether the sink can be given deletes: it lists
// its keys (KeyLister) and takes deletes (DeleteSink); else why not.
func (a *abilities) detectsDeletes() (bool, string) {
	switch {
	case a.deleter == nil && a.lister == nil:
		return false, "the sink is neither a DeleteSink nor a KeyLister"
	case a.deleter == nil:
		return false, "the sink is not a DeleteSink (it cannot take deletes)"
	case a.lister == nil:
		return false, "the sink is not a KeyLister (it cannot list its keys)"
	}
	return true, ""
}

// listKeys lists the sink's live keys of table within r.
func (a *abilities) listKeys(ctx context.Context, table *Table, r KeyRange, fn func(Key) error) error {
	return a.lister.ListKeys(ctx, table, r, fn)
}

// deleteKeys tells the sink that keys were deleted at the source.
func (a *abilities) deleteKeys(ctx context.Context, table *Table, keys []Key) error {
	return a.deleter.Delete(ctx, table, keys)
}

// schemaChanged tells a SchemaSink how table's columns changed; other sinks
// are not told.
func (a *abilities) schemaChanged(ctx context.Context, table *Table, change SchemaChange) error {
	if a.schema == nil {
		return nil
	}
	return a.schema.SchemaChanged(ctx, table, change)
}

// resyncs reports whether the sink is told of full resyncs (a ResyncSink).
func (a *abilities) resyncs() bool { return a.resync != nil }

// beginResync tells a ResyncSink that a full resync of table begins (again);
// it does nothing for another sink.
func (a *abilities) beginResync(ctx context.Context, table *Table) error {
	if a.resync == nil {
		return nil
	}
	return a.resync.BeginResync(ctx, table)
}

// endResync tells a ResyncSink that the resync of table ended; it does
// nothing for another sink.
func (a *abilities) endResync(ctx context.Context, table *Table) error {
	if a.resync == nil {
		return nil
	}
	return a.resync.EndResync(ctx, table)
}

// keepsState reports whether the sink commits the state document with the
// rows (a StateSink): its FlushState then replaces Flush and the store's
// Save.
func (a *abilities) keepsState() bool { return a.state != nil }

// flushState has a StateSink commit the rows of table with doc, whose entry
// for table is entry.
func (a *abilities) flushState(ctx context.Context, table *Table, entry *tableState, doc []byte) error {
	return a.state.FlushState(ctx, table, entry.view(), doc)
}

// undoesAttempts reports whether the sink can undo a failed attempt of a
// streamed read (an AttemptSink).
func (a *abilities) undoesAttempts() bool { return a.attempt != nil }

// beginAttempt tells an AttemptSink that an attempt of a streamed read of
// table begins; it does nothing for another sink.
func (a *abilities) beginAttempt(ctx context.Context, table *Table) error {
	if a.attempt == nil {
		return nil
	}
	return a.attempt.BeginAttempt(ctx, table)
}

// undoAttempt has an AttemptSink discard the rows of table written since
// the last beginAttempt; another sink keeps them (at-least-once).
func (a *abilities) undoAttempt(ctx context.Context, table *Table) error {
	if a.attempt == nil {
		return nil
	}
	return a.attempt.UndoAttempt(ctx, table)
}

// setSource gives a SourceAware sink the source's identity; other sinks
// are not told.
func (a *abilities) setSource(ctx context.Context, src SourceInfo) error {
	if a.source == nil {
		return nil
	}
	return a.source.SetSource(ctx, src)
}

// check runs the checks of a Checker store and of a Checker sink (the
// sink's only when there are plans to check); none for the others.
func (a *abilities) check(ctx context.Context, src SourceInfo, plans []*Plan, discovered bool) []CheckResult {
	var out []CheckResult
	if a.storeChecker != nil {
		out = append(out, a.storeChecker.Check(ctx, src, plans)...)
	}
	if a.checker != nil && discovered {
		out = append(out, a.checker.Check(ctx, src, plans)...)
	}
	return out
}
