// This file holds ReadAll: every part of an UNLOAD read with a number of
// workers, as the extractor reads them, for the benchmark program
// (internal/cmd/bench) and other callers that want a whole UNLOAD.

package unload

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/seed2085993a/redshiftsync"
)

// ReadAll reads every part of the UNLOAD at location (see Parts) with up to
// workers parts streamed at once (at least 1), each with ReadPart's
// batches of maxRows rows and maxBytes bytes, and returns the rows read.
// emit is called from up to workers goroutines at once; the first error
// (of a part or of emit) stops every read and is returned.
func (r *Reader) ReadAll(ctx context.Context, table *redshiftsync.Table, location string, workers, maxRows int, maxBytes int64, emit func(rows [][]any) error) (int64, error) {
	parts, err := r.Parts(ctx, location)
	if err != nil {
		return 0, err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	var rows atomic.Int64
	for _, p := range parts {
		g.Go(func() error {
			return r.ReadPart(ctx, table, p, maxRows, maxBytes, func(b [][]any) error {
				rows.Add(int64(len(b)))
				return emit(b)
			})
		})
	}
	err = g.Wait()
	return rows.Load(), err
}
