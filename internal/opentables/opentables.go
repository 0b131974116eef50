// Package opentables holds a sink's registry of its open tables: what Open
// registers for a table and every later call of the table looks up, safe
// for the concurrent calls of different tables, and closed once with the
// sink. jsonlsink and pgsink share it.
package opentables

import (
	"errors"
	"fmt"
	"sync"

	"github.com/seed2085993a/redshiftsync"
)

// key identifies a source table across the calls for it.
type key struct{ schema, name string }

func keyOf(t *redshiftsync.Table) key { return key{t.Schema, t.Name} }

// Registry maps source tables to a sink's open state of each (T). The zero
// value is not usable: use New.
type Registry[T any] struct {
	pkg       string // prefix of the errors: the sink's package name
	errClosed error

	mu     sync.Mutex
	tables map[key]T
	closed bool
}

// New returns an empty registry whose errors begin with pkg.
func New[T any](pkg string) *Registry[T] {
	return &Registry[T]{pkg: pkg, errClosed: errors.New(pkg + ": sink is closed"), tables: map[key]T{}}
}

// ErrClosed is the error of every call after Close.
func (r *Registry[T]) ErrClosed() error { return r.errClosed }

// Get returns the open table of t for the sink method op, or an error
// naming op and the table: t is nil, the sink is closed, or t was not
// opened.
func (r *Registry[T]) Get(t *redshiftsync.Table, op string) (T, error) {
	var zero T
	if t == nil {
		return zero, fmt.Errorf("%s: %s: nil table", r.pkg, op)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return zero, r.errClosed
	}
	v, ok := r.tables[keyOf(t)]
	if !ok {
		return zero, fmt.Errorf("%s: %s: table %s was not opened", r.pkg, op, t.QualifiedName())
	}
	return v, nil
}

// Lookup returns the open table of t, if any; an error only when the sink
// is closed.
func (r *Registry[T]) Lookup(t *redshiftsync.Table) (T, bool, error) { return r.find(t, false) }

// Remove takes the open table of t out of the registry and returns it, if
// any; an error only when the sink is closed.
func (r *Registry[T]) Remove(t *redshiftsync.Table) (T, bool, error) { return r.find(t, true) }

func (r *Registry[T]) find(t *redshiftsync.Table, remove bool) (T, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	if r.closed {
		return zero, false, r.errClosed
	}
	v, ok := r.tables[keyOf(t)]
	if remove {
		delete(r.tables, keyOf(t))
	}
	return v, ok, nil
}

// Put registers v as the open table of t. It fails when the sink is closed,
// and when t is registered already: only two Opens of one table at once,
// which the Sink contract rules out, get there.
func (r *Registry[T]) Put(t *redshiftsync.Table, v T) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.errClosed
	}
	if _, ok := r.tables[keyOf(t)]; ok {
		return fmt.Errorf("%s: table %s opened concurrently", r.pkg, t.QualifiedName())
	}
	r.tables[keyOf(t)] = v
	return nil
}

// Close marks the registry closed and returns the tables that were open, for
// the sink to close; ok is false when it was closed already.
func (r *Registry[T]) Close() (open []T, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false
	}
	r.closed = true
	for _, v := range r.tables {
		open = append(open, v)
	}
	r.tables = nil
	return open, true
}
