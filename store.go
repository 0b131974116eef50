// This file holds the StateStore contract and the shipped stores: in memory
// and in a file.

package redshiftsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/seed2085993a/redshiftsync/internal/durable"
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
	if err := durable.WriteFile(f.Path, doc); err != nil {
		return fmt.Errorf("redshiftsync: save state: %w", err)
	}
	return nil
}
