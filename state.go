// This file holds the state document: its versioned JSON form (internal:
// tools read it through InspectState) and its decoding.

package redshiftsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// StateVersion is the newest version of the state document this library
// writes and reads. It refuses to resume from a document with a higher
// version. Version 2 added pending marks (tableState.Pending,
// progress.Marks); a version-1 document is read as it is, its bookmark the
// confirmed bookmark. Version 3 is written only while a table is read from
// an UNLOAD (progress.Unload), which a library that reads up to version 2
// would misread: it would ignore the parts delivered and read the phase
// again with SELECT, delivering them twice to an exactly-once sink, and
// leave the files behind. Every other document is still written as
// version 2 (stateVersionBase), which such a library reads rightly.
const StateVersion = 3

// stateVersionBase is the version of a document with no UNLOAD in progress.
const stateVersionBase = 2

// version returns the version st is written as: StateVersion while a table
// is read from an UNLOAD, else stateVersionBase.
func (st *stateDoc) version() int {
	for _, ts := range st.Tables {
		if ts != nil && ts.InProgress != nil && ts.InProgress.Unload != nil {
			return StateVersion
		}
	}
	return stateVersionBase
}

// stateDoc is the saved progress of every table of a source. It is stored as
// JSON by a StateStore; its shape is documented so that an operator can read
// it, but it is written only by the library.
type stateDoc struct {
	Version int `json:"version"`
	// Source identifies what the state belongs to: "database/schema".
	Source string `json:"source"`
	// Server identifies the server the state was saved against, as the
	// server reports it (see SourceInfo.Server): "postgresql:<system
	// identifier>" or "redshift:<cluster namespace>". A state saved against
	// another server is refused unless adopted (WithAdoptState); a state
	// without it (saved before it was recorded) is bound to the server of
	// its next run.
	Server string `json:"server,omitempty"`
	// Tables maps "schema.table" to that table's progress.
	Tables map[string]*tableState `json:"tables"`
}

// tableState is the progress of one table.
//
// Bookmark, HighWater and every Position value are the exact text form of a
// column value ("2024-05-01 12:00:00.123456", "12345678901234567890.5"), cast
// back to the column's source type when they are bound into a query, so no
// value ever passes through a float or loses precision.
type tableState struct {
	Mode Mode `json:"mode"`
	// ReplicationKey and KeyType name the key the bookmark belongs to. When
	// the plan's key or its type changes, the bookmark is discarded and the
	// table syncs in full again.
	ReplicationKey string `json:"replication_key,omitempty"`
	KeyType        string `json:"replication_key_type,omitempty"`
	// Bookmark is where the next incremental sync starts, inclusive: the
	// newest high-water mark known safe (see pendingMark), at most the server's
	// time for timestamp keys. Nil before the first one.
	Bookmark *string `json:"bookmark,omitempty"`
	// Pending are the high-water marks of earlier syncs not yet safe to
	// become the bookmark, oldest first.
	Pending []*pendingMark `json:"pending_marks,omitempty"`
	// InProgress is set while a sync of the table is unfinished: a run that
	// finds it resumes there.
	InProgress *progress `json:"in_progress,omitempty"`
	// LastSyncedAt is when the last sync of the table finished.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
	// Deletes is what the last delete detection of the table left (see
	// deleteState); nil before the first.
	Deletes *deleteState `json:"deletes,omitempty"`
	// Columns are the table's columns at its last sync, each "name",
	// "source type", "logical type": what a schema change is found against.
	Columns [][3]string `json:"columns,omitempty"`
}

// deleteState is the last delete detection of a table: the key ranges it
// cut the primary key into, and each range's digest then (deletes.go).
type deleteState struct {
	// Key is "name type" of each primary key column the ranges belong to;
	// another key starts over (a full comparison).
	Key []string `json:"key"`
	// Hash names how the digests hash a key (keySpace.hashScheme); digests
	// of another scheme are not compared (a full comparison).
	Hash string `json:"hash,omitempty"`
	// Bounds are the inner bounds of the ranges, each the texts of a key:
	// range i holds the keys at or above Bounds[i-1] and below Bounds[i].
	Bounds [][]string `json:"bounds,omitempty"`
	// Digests are "count:sum of hashes" of each range, len(Bounds)+1.
	Digests []string `json:"digests"`
	// Dirty are the ranges rows were written into since the digests were
	// taken: compared whether their digest changed or not (a row inserted
	// and synced, then deleted, leaves the digest as it was).
	Dirty []int `json:"dirty,omitempty"`
	// At is when the digests were taken.
	At time.Time `json:"at"`
}

// progress is the position of an unfinished sync of one table.
type progress struct {
	// Phase is "rows" while the rows with a non-NULL key (or all rows, in
	// a full sync) are read, then "null_keys" while those whose key is NULL
	// are read.
	Phase string `json:"phase"`
	// From is the inclusive lower bound of this sync (the previous bookmark,
	// less the lookback), HighWater its inclusive upper bound, fixed when
	// the sync began: the key's maximum then, even when it lies above the
	// server's clock (such rows are read on every sync).
	From      *string `json:"from,omitempty"`
	HighWater *string `json:"high_water,omitempty"`
	// After is the ordering tuple (key, primary key...) of the last row
	// delivered and flushed in this phase; the sync resumes strictly after
	// it. Nil when the phase has not delivered a row yet.
	After []string `json:"after,omitempty"`
	// Resync is true when the sync is a full resync that a ResyncSink was
	// told about.
	Resync bool `json:"resync,omitempty"`
	// Rows counts the rows delivered so far in this sync.
	Rows int64 `json:"rows"`
	// Watermark is true when the sync began with a watermark (state
	// version 2); NextBookmark and Marks are then what its finish records:
	// the bookmark to adopt (nil: keep it) and the marks left pending.
	Watermark    bool           `json:"watermark,omitempty"`
	NextBookmark *string        `json:"next_bookmark,omitempty"`
	Marks        []*pendingMark `json:"marks,omitempty"`
	// Order is the ordering this position belongs to, as the sync began:
	// "name type" of the replication key (if any) and of each primary key
	// column. A rerun resumes at After only while the table's ordering is
	// the same; otherwise it starts this sync again.
	Order []string `json:"order,omitempty"`
	// Partitions, when set, split the "rows" phase into key ranges read
	// concurrently; each resumes after its own After. The phase ends when
	// every partition is done.
	Partitions []*partition `json:"partitions,omitempty"`
	// Chunked is true when the partitions are chunks: each is streamed
	// whole without ORDER BY and is the unit of resume (Redshift, where a
	// per-page sort runs on the leader node).
	Chunked bool `json:"chunked,omitempty"`
	// ChunkColumn names the column the chunks' bounds range over when it
	// is not the leading ordering column: a Redshift table ordered by a
	// text key is chunked on its sort key, or an integer, date or
	// timestamp column.
	ChunkColumn string `json:"chunk_column,omitempty"`
	// Blocks is set when the phase is read in block order (PostgreSQL 14+,
	// a table with no index to page by): its one partition's After is the
	// ctid of the last row delivered.
	Blocks *blockPass `json:"blocks,omitempty"`
	// SnapshotXmin is the xmin (a 64-bit transaction id) of the first
	// snapshot this phase was read in, when it is read in one (a full sync
	// or a pass in block order on PostgreSQL). A run that resumes the
	// phase in a new snapshot first reads again the rows written since.
	SnapshotXmin *string `json:"snapshot_xmin,omitempty"`
	// SnapshotXmax and SnapshotXip are that snapshot's xmax and the
	// transactions in progress in it: with them, the rows read again are
	// exactly those it could not see (see SnapshotXmin).
	SnapshotXmax *string  `json:"snapshot_xmax,omitempty"`
	SnapshotXip  []string `json:"snapshot_xip,omitempty"`
	// Unload, when set, is the UNLOAD the rows phase is read from (a large
	// Redshift table; see unloadread.go): From and HighWater are its
	// bounds. A document that holds one is written as version 3.
	Unload *unloadProgress `json:"unload,omitempty"`
}

// unloadProgress is an UNLOAD in progress: where it writes, whether it ran,
// and its parts, each delivered whole or not at all.
type unloadProgress struct {
	// Location is the UNLOAD's TO prefix, "s3://bucket/prefix/run/table/".
	Location string `json:"location"`
	// Ran is set once the UNLOAD finished and Parts lists its manifest.
	// Until then a resumed sync looks for the manifest first, and runs
	// the UNLOAD again only when there is none.
	Ran   bool                  `json:"ran,omitempty"`
	Parts []*unloadPartProgress `json:"parts,omitempty"`
}

// unloadPartProgress is one part of an UNLOAD; Done once its rows are
// delivered and flushed (a part is the unit of resume).
type unloadPartProgress struct {
	UnloadPart
	Done bool `json:"done,omitempty"`
}

// partition is one key range of a partitioned read: Lower <= key < Upper on
// the leading ordering column, each bound absent at its end of the range;
// or, with Null, the rows whose leading ordering column is NULL, which no
// range holds (a chunk, streamed whole).
type partition struct {
	Lower *string  `json:"lower,omitempty"`
	Upper *string  `json:"upper,omitempty"`
	Null  bool     `json:"null,omitempty"`
	After []string `json:"after,omitempty"`
	Done  bool     `json:"done,omitempty"`
	Rows  int64    `json:"rows"`
}

// clone returns a deep copy of p, for a snapshot.
func (p *progress) clone() *progress {
	c := *p
	c.After = append([]string(nil), p.After...)
	if p.After == nil {
		c.After = nil
	}
	c.Partitions = make([]*partition, len(p.Partitions))
	for i, part := range p.Partitions {
		pc := *part
		if part.After != nil {
			pc.After = append([]string(nil), part.After...)
		}
		c.Partitions[i] = &pc
	}
	if p.Partitions == nil {
		c.Partitions = nil
	}
	if p.Unload != nil {
		uc := *p.Unload
		uc.Parts = make([]*unloadPartProgress, len(p.Unload.Parts))
		for i, part := range p.Unload.Parts {
			pc := *part
			uc.Parts[i] = &pc
		}
		c.Unload = &uc
	}
	return &c
}

const (
	phaseRows     = "rows"
	phaseNullKeys = "null_keys"
)

// decodeState parses a saved document and checks that it belongs to source
// ("" skips that check). Every error wraps ErrStateCorrupt, ErrStateVersion
// or ErrStateMismatch.
func decodeState(doc []byte, source string) (*stateDoc, error) {
	// The version first: a newer library may have changed the rest of the
	// shape, and that must read as "upgrade", not as corruption.
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if json.Unmarshal(doc, &head) == nil {
		var v int64
		if json.Unmarshal(head.Version, &v) == nil && v > StateVersion {
			return nil, fmt.Errorf("%w: version %d, this library reads up to %d; upgrade redshiftsync", ErrStateVersion, v, StateVersion)
		}
	}
	var st stateDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStateCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		// Two documents, or one followed by debris: not written by Save.
		return nil, fmt.Errorf("%w: data after the JSON document", ErrStateCorrupt)
	}
	switch {
	case st.Version <= 0:
		return nil, fmt.Errorf("%w: no version field", ErrStateCorrupt)
	case st.Version > StateVersion:
		return nil, fmt.Errorf("%w: version %d, this library reads up to %d; upgrade redshiftsync", ErrStateVersion, st.Version, StateVersion)
	case source != "" && st.Source != "" && st.Source != source:
		return nil, fmt.Errorf("%w: it was saved for %q, this run reads %q; point the state at another location or remove it to start over, or adopt it on purpose (WithAdoptState; examples/basic -adopt-state)", ErrStateMismatch, st.Source, source)
	}
	if st.Tables == nil {
		st.Tables = map[string]*tableState{}
	}
	for name, ts := range st.Tables {
		if ts == nil {
			return nil, fmt.Errorf("%w: table %q has no state", ErrStateCorrupt, name)
		}
		// A phase this library does not know would read nothing and then
		// mark the sync finished: rows would be skipped, not re-read.
		if p := ts.InProgress; p != nil && p.Phase != phaseRows && p.Phase != phaseNullKeys {
			return nil, fmt.Errorf("%w: table %q: unknown phase %q", ErrStateCorrupt, name, p.Phase)
		}
		if err := checkProgress(name, ts.InProgress); err != nil {
			return nil, err
		}
		// A malformed mark could release a bookmark too early.
		if err := checkMarks(ts.Pending); err != nil {
			return nil, fmt.Errorf("%w: table %q: pending marks: %v", ErrStateCorrupt, name, err)
		}
		if p := ts.InProgress; p != nil {
			if err := checkMarks(p.Marks); err != nil {
				return nil, fmt.Errorf("%w: table %q: marks of the sync in progress: %v", ErrStateCorrupt, name, err)
			}
		}
	}
	return &st, nil
}
