// This file holds the sync state: its versioned JSON document, the StateStore
// that keeps it, the shipped memory and file stores, and the checkpointer that
// saves it while tables run in parallel.

package redshiftsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// StateVersion is the version of the state document this library writes.
// It refuses to resume from a document with a higher version. Version 2
// added pending marks (tableState.Pending, progress.Marks); a version-1
// document is read as it is, its bookmark the confirmed bookmark.
const StateVersion = 2

// State is the saved progress of every table of a source. It is stored as
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
	return &c
}

const (
	phaseRows     = "rows"
	phaseNullKeys = "null_keys"
)

// StateStore keeps the state document. The extractor calls Load once at the
// start of Run and Save after each checkpoint, from one goroutine at a time;
// each Save is given the whole document.
type StateStore interface {
	// Load returns the last document saved, or an error wrapping
	// ErrNoCheckpoint when none was saved yet.
	Load(ctx context.Context) ([]byte, error)
	// Save stores doc durably, replacing the previous one. A nil error
	// means a crash after it returns cannot lose doc; an error leaves the
	// previous document in place.
	Save(ctx context.Context, doc []byte) error
}

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

// MemoryStore is a StateStore that keeps the document in memory, for tests
// and for callers that persist it themselves. The zero value is ready to use.
type MemoryStore struct {
	mu  sync.Mutex
	doc []byte
}

// Load returns a copy of the last saved document.
func (m *MemoryStore) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.doc == nil {
		return nil, ErrNoCheckpoint
	}
	return bytes.Clone(m.doc), nil
}

// Save keeps a copy of doc.
func (m *MemoryStore) Save(_ context.Context, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doc = bytes.Clone(doc)
	return nil
}

// FileStore is a StateStore that keeps the document in a file. Save is
// atomic: it writes a temporary file in the same directory, syncs it, renames
// it over the old file and syncs the directory, so a crash leaves either the
// old document or the new one, never a torn one. Save refuses to overwrite a
// file that is not a state document it can read, so a corrupt or foreign
// file is kept for the user.
type FileStore struct {
	Path string
}

// NewFileStore returns a FileStore for path.
func NewFileStore(path string) *FileStore { return &FileStore{Path: path} }

// Load reads the file; a missing file is ErrNoCheckpoint.
func (f *FileStore) Load(context.Context) ([]byte, error) {
	doc, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoCheckpoint, f.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("redshiftsync: read state: %w", err)
	}
	return doc, nil
}

// Save replaces the file atomically with doc.
func (f *FileStore) Save(_ context.Context, doc []byte) error {
	if old, err := os.ReadFile(f.Path); err == nil {
		if _, err := decodeState(old, ""); err != nil && !errors.Is(err, ErrStateMismatch) {
			return fmt.Errorf("redshiftsync: refusing to overwrite state file %s: %w", f.Path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("redshiftsync: read state: %w", err)
	}
	dir := filepath.Dir(f.Path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(doc); err != nil {
		tmp.Close()
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	return nil
}

// Checkpoint describes one saved checkpoint, as passed to the hook set with
// WithCheckpointHook.
type Checkpoint struct {
	Table string // "schema.table"
	Rows  int64  // rows of the table delivered in this sync so far
	Done  bool   // the table's sync finished with this checkpoint
	// State is what the saved document records of the table.
	State TableView
}

// checkpointer owns the state document of a run. Tables update their own
// entry only after their sink flush succeeded, and every save writes a
// snapshot of the whole document, serialized so that an older snapshot never
// overwrites a newer one.
type checkpointer struct {
	store StateStore
	hook  func(Checkpoint)
	bind  serverBinding // the server the state must belong to (see identity.go)

	mu     sync.Mutex // guards state
	state  *stateDoc
	saveMu sync.Mutex // serializes marshal+save
}

// load reads the saved state for source, or starts an empty one.
func (c *checkpointer) load(ctx context.Context, source string) error {
	doc, err := c.store.Load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		c.state = &stateDoc{Version: StateVersion, Source: source, Server: c.bind.server, Tables: map[string]*tableState{}}
		return nil
	case err != nil:
		return err
	}
	check := source
	if c.bind.adopt {
		check = "" // adopted on purpose: its source is rewritten below
	}
	st, err := decodeState(doc, check)
	if err != nil {
		return err
	}
	if err := c.bind.check(st, source); err != nil {
		return err
	}
	rebound := st.Server != c.bind.server || st.Source != source
	st.Version, st.Source, st.Server = StateVersion, source, c.bind.server
	c.state = st
	if rebound {
		// Saved at once, so that the next run finds it bound to this
		// source even when this one saves no checkpoint.
		doc, err := json.MarshalIndent(st, "", "  ")
		if err == nil {
			err = c.store.Save(ctx, doc)
		}
		if err != nil {
			return fmt.Errorf("redshiftsync: save the state bound to this source: %w", err)
		}
	}
	return nil
}

// view returns the read-only view of the saved state of table, nil when
// the state has no entry for it.
func (c *checkpointer) view(name string) *TableView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.Tables[name].view()
}

// table returns a copy of the saved state of table, or nil.
func (c *checkpointer) table(name string) *tableState {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := c.state.Tables[name]
	if ts == nil {
		return nil
	}
	cp := *ts
	if ts.InProgress != nil {
		cp.InProgress = ts.InProgress.clone() // the caller mutates its copy while others marshal the document
	}
	return &cp
}

// save records ts as the state of table and saves the document, through
// commit when it is non-nil (a StateSink's FlushState), else the store. The
// caller must have flushed the sink for every row ts claims, unless commit
// does it atomically with the document.
func (c *checkpointer) save(ctx context.Context, name string, ts tableState, rows int64, done bool, commit func(ctx context.Context, entry *tableState, doc []byte) error) error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.mu.Lock()
	prev := c.state.Tables[name]
	c.state.Tables[name] = &ts
	doc, err := json.MarshalIndent(c.state, "", "  ")
	c.mu.Unlock()
	if err == nil {
		if commit != nil {
			err = commit(ctx, &ts, doc)
		} else {
			err = c.store.Save(ctx, doc)
		}
	}
	if err != nil {
		// The document in memory must not claim what was not saved: a
		// later save of another table would carry it.
		c.mu.Lock()
		if prev == nil {
			delete(c.state.Tables, name)
		} else {
			c.state.Tables[name] = prev
		}
		c.mu.Unlock()
		return err
	}
	if c.hook != nil {
		c.hook(Checkpoint{Table: name, Rows: rows, Done: done, State: *ts.view()})
	}
	return nil
}
