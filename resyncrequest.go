// This file holds a sink's request for a full resync of a table
// (ErrResyncRequired): what the extractor does when Open asks for one.

package redshiftsync

import "errors"

// ErrResyncRequired is returned (wrapped) by a ResyncSink's Open when the
// destination cannot take the table's rows where its saved state stands: a
// column's type changed at the source in a way the destination cannot follow
// in place (a narrowing, such as numeric(12,4) to numeric(10,2), or an
// incompatible change). The error's text says which column and why.
//
// The table is open nonetheless: the sink must accept the calls that follow.
// The extractor logs a warning with the reason, discards the table's saved
// bookmark and progress, and syncs it in full as a resync (BeginResync, every
// row, EndResync), whatever its mode; an incremental table keeps its mode,
// and its next sync is incremental again from the new high-water mark. The
// sink builds the resync's copy in the new shape. A sink that is not a
// ResyncSink cannot ask: the error then fails the table.
var ErrResyncRequired = errors.New("redshiftsync: the destination requires a full resync of the table")

// resyncRequested reports whether err, from the sink's Open, asks for a full
// resync that the extractor can do; if so, it discards the saved position
// and bookmark, so that begin starts a resync.
func (s *tableSync) resyncRequested(err error) bool {
	if !s.e.ab.resyncs() || !errors.Is(err, ErrResyncRequired) {
		return false
	}
	s.log.Warn("the sink requires a full resync of the table: syncing it in full into a copy of the new shape",
		"mode", s.plan.Mode, "reason", err)
	s.state.Bookmark, s.state.InProgress = nil, nil
	s.forceResync = true
	return true
}
