// This file holds the checkpointer: it owns the state document of a run and
// saves it while tables run in parallel, and the Checkpoint a hook is given.

package redshiftsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

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
		c.state = &stateDoc{Version: stateVersionBase, Source: source, Server: c.bind.server, Tables: map[string]*tableState{}}
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
	st.Version, st.Source, st.Server = st.version(), source, c.bind.server
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
	prev, prevVersion := c.state.Tables[name], c.state.Version
	c.state.Tables[name] = &ts
	c.state.Version = c.state.version()
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
		c.state.Version = prevVersion
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
