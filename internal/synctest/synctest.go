// Package synctest holds what the tests of the root package, pgsink and
// jsonlsink repeat around an Extractor: building one that the test closes,
// and running one sync under a deadline. It imports the root package, so
// only external test packages (package redshiftsync_test, pgsink_test, …)
// can use it.
package synctest

import (
	"context"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// RunTimeout bounds one Run started by Run: long enough for the largest
// test table on a loaded machine, short enough that a hang fails the test
// instead of the whole suite's timeout.
const RunTimeout = 2 * time.Minute

// New returns redshiftsync.New(cfg, sink, store, opts...), failing the test
// when it returns an error. The extractor is closed in the test's Cleanup.
func New(tb testing.TB, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) *redshiftsync.Extractor {
	tb.Helper()
	ex, err := redshiftsync.New(cfg, sink, store, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ex.Close() })
	return ex
}

// Run runs one sync with a fresh extractor, under RunTimeout, and closes
// the extractor before it returns (its connections do not outlive the
// run); its Stats stay readable. A failing New fails the test; the
// run's own error is returned.
func Run(tb testing.TB, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) (*redshiftsync.Extractor, *redshiftsync.Report, error) {
	tb.Helper()
	ex := New(tb, cfg, sink, store, opts...)
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	rep, err := ex.Run(ctx)
	return ex, rep, err
}

// Discover returns ex.Discover under RunTimeout, failing the test on
// error.
func Discover(tb testing.TB, ex *redshiftsync.Extractor) *redshiftsync.Discovery {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	d, err := ex.Discover(ctx)
	if err != nil {
		tb.Fatalf("discover: %v", err)
	}
	return d
}

// LoadState returns the state that store holds, read with
// redshiftsync.InspectState, failing the test when it cannot be loaded or
// read.
func LoadState(tb testing.TB, store redshiftsync.StateStore) *redshiftsync.StateView {
	tb.Helper()
	doc, err := store.Load(context.Background())
	if err != nil {
		tb.Fatalf("load state: %v", err)
	}
	return DecodeState(tb, doc)
}

// DecodeState returns redshiftsync.InspectState(doc), failing the test when
// doc is not a state document.
func DecodeState(tb testing.TB, doc []byte) *redshiftsync.StateView {
	tb.Helper()
	st, err := redshiftsync.InspectState(doc)
	if err != nil {
		tb.Fatalf("state: %v\n%s", err, doc)
	}
	return st
}
