// This file holds the read-only views of the state document: what a
// StateSink is told of a table's state, what a checkpoint hook sees, and
// InspectState, which reads a saved document for operators, tools and
// tests. The document's format itself stays internal (state.go), so
// that it can change without breaking a sink.

package redshiftsync

import (
	"slices"
	"time"
)

// StateView is a read-only view of a saved state document, as InspectState
// returns it. It is a copy: changing it changes nothing saved.
type StateView struct {
	// Version is the document's format version (see StateVersion).
	Version int
	// Source is what the state belongs to: "database/schema".
	Source string
	// Server is the identity of the server the state was saved against
	// (see SourceInfo.Server); "" when it was not recorded.
	Server string
	// Tables maps "schema.table" to that table's state.
	Tables map[string]*TableView
}

// TableView is a read-only view of one table's saved state: the bookmark of
// its last finished sync and, while a sync is unfinished, where it stands.
// A StateSink is given one at OpenState and at each FlushState; a
// checkpoint hook in Checkpoint.State; InspectState one per table. It is a
// copy: changing it changes nothing saved.
//
// Bookmark and every position are the exact text form of a column value
// ("2024-05-01 12:00:00.123456", "12345678901234567890.5").
type TableView struct {
	Mode Mode
	// ReplicationKey and KeyType name the key the bookmark belongs to
	// (KeyType is the key's source type).
	ReplicationKey string
	KeyType        string
	// Bookmark is where the next incremental sync starts, inclusive; nil
	// before the first one.
	Bookmark *string
	// PendingMarks counts the high-water marks of earlier syncs not yet
	// safe to become the bookmark: transactions in progress when they were
	// read had not ended (see the README's "Late commits").
	PendingMarks int
	// LastSyncedAt is when the last sync of the table finished; nil before.
	LastSyncedAt *time.Time
	// InProgress is set while a sync of the table is unfinished: a run that
	// finds it resumes there. Nil once the sync finished.
	InProgress *ProgressView
}

// ProgressView is where an unfinished sync of a table stands.
type ProgressView struct {
	// Phase is "rows" while the rows with a non-NULL key (or all rows, in a
	// full sync) are read, then "null_keys" for those whose key is NULL.
	Phase string
	// Rows counts the rows delivered so far in this sync.
	Rows int64
	// Resync is true when the sync is a full resync that a ResyncSink was
	// told about (BeginResync).
	Resync bool
	// After is the ordering tuple of the last row delivered in this phase;
	// the sync resumes strictly after it. Nil when it has none, or when the
	// phase is read in Partitions.
	After []string
	// Partitions are the key ranges (or Redshift chunks, or the one block
	// pass) the phase is read in, each with its own position.
	Partitions []PartitionView
}

// PartitionView is one key range of a partitioned read: Lower <= key <
// Upper on the leading ordering column, a nil bound open at its end; or,
// when Null is set, the rows whose leading ordering column is NULL (a
// Redshift key column declared without NOT NULL), which no range holds.
type PartitionView struct {
	Lower, Upper *string
	Null         bool
	// After is the position of the last row delivered in the range; nil
	// before the first.
	After []string
	// Done is true once every row of the range was delivered.
	Done bool
	// Rows counts the rows of the range delivered so far.
	Rows int64
}

// Resyncing reports whether v records a full resync in progress that a
// ResyncSink was told about. It is false for a nil v.
func (v *TableView) Resyncing() bool {
	return v != nil && v.InProgress != nil && v.InProgress.Resync
}

// Positioned reports whether v records where its unfinished sync's read
// stands: resumed, the read starts there. When it is false, an unfinished
// sync that is resumed reads its rows from the first again (a table read in
// one stream, with no order to page by, has no position until it ends), so
// a sink receives them all again. It is false for a nil v and for a v with
// no sync in progress.
func (v *TableView) Positioned() bool {
	if v == nil || v.InProgress == nil {
		return false
	}
	if v.InProgress.After != nil {
		return true
	}
	for _, part := range v.InProgress.Partitions {
		if part.After != nil || part.Done {
			return true
		}
	}
	return false
}

// InspectState decodes a state document, as a StateStore's Load returns it,
// into a read-only view. It checks the document as Run would, without
// binding it to a source: its errors wrap ErrStateCorrupt or
// ErrStateVersion.
func InspectState(doc []byte) (*StateView, error) {
	st, err := decodeState(doc, "")
	if err != nil {
		return nil, err
	}
	v := &StateView{Version: st.Version, Source: st.Source, Server: st.Server, Tables: make(map[string]*TableView, len(st.Tables))}
	for name, ts := range st.Tables {
		v.Tables[name] = ts.view()
	}
	return v, nil
}

// view returns the read-only view of ts, a deep copy; nil for a nil ts.
func (ts *tableState) view() *TableView {
	if ts == nil {
		return nil
	}
	v := &TableView{
		Mode:           ts.Mode,
		ReplicationKey: ts.ReplicationKey,
		KeyType:        ts.KeyType,
		Bookmark:       clonePtr(ts.Bookmark),
		PendingMarks:   len(ts.Pending),
		LastSyncedAt:   clonePtr(ts.LastSyncedAt),
	}
	if p := ts.InProgress; p != nil {
		v.InProgress = &ProgressView{Phase: p.Phase, Rows: p.Rows, Resync: p.Resync, After: slices.Clone(p.After)}
		for _, part := range p.Partitions {
			v.InProgress.Partitions = append(v.InProgress.Partitions, PartitionView{
				Lower: clonePtr(part.Lower), Upper: clonePtr(part.Upper), Null: part.Null,
				After: slices.Clone(part.After), Done: part.Done, Rows: part.Rows,
			})
		}
	}
	return v
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}
