// This file holds WithoutState: the sink used through Flush, for a state
// kept elsewhere (at-least-once).

package pgsink

import (
	"context"

	"github.com/seed2085993a/redshiftsync"
)

// WithoutState returns s as a sink that keeps no state: it is not a
// [redshiftsync.StateSink], so the extractor opens its tables with Open,
// makes rows durable with Flush and saves the state in its own StateStore
// (a state file, say). Use it when the state cannot live in the destination:
// the sink is then at-least-once (see "Without FlushState" in the package
// documentation). The value returned is also a [redshiftsync.ResyncSink], a
// [redshiftsync.AttemptSink], a [redshiftsync.SourceAware], a
// [redshiftsync.Checker], a [redshiftsync.DeleteSink], a
// [redshiftsync.KeyLister] and a [redshiftsync.SchemaSink], each call going
// to s; close s, not it. Its deletes are made durable by Flush, like its
// rows (at least once: a delete applied twice changes nothing).
func (s *Sink) WithoutState() redshiftsync.ResyncSink { return withoutState{s} }

// withoutState is a Sink's every method but OpenState and FlushState.
type withoutState struct{ s *Sink }

var (
	_ redshiftsync.ResyncSink  = withoutState{}
	_ redshiftsync.AttemptSink = withoutState{}
	_ redshiftsync.SourceAware = withoutState{}
	_ redshiftsync.Checker     = withoutState{}
	_ redshiftsync.DeleteSink  = withoutState{}
	_ redshiftsync.KeyLister   = withoutState{}
	_ redshiftsync.SchemaSink  = withoutState{}
)

func (w withoutState) Open(ctx context.Context, t *redshiftsync.Table) error { return w.s.Open(ctx, t) }
func (w withoutState) Write(ctx context.Context, b redshiftsync.Batch) error {
	return w.s.Write(ctx, b)
}
func (w withoutState) Flush(ctx context.Context, t *redshiftsync.Table) error {
	return w.s.Flush(ctx, t)
}
func (w withoutState) BeginResync(ctx context.Context, t *redshiftsync.Table) error {
	return w.s.BeginResync(ctx, t)
}
func (w withoutState) EndResync(ctx context.Context, t *redshiftsync.Table) error {
	return w.s.EndResync(ctx, t)
}
func (w withoutState) BeginAttempt(ctx context.Context, t *redshiftsync.Table) error {
	return w.s.BeginAttempt(ctx, t)
}
func (w withoutState) UndoAttempt(ctx context.Context, t *redshiftsync.Table) error {
	return w.s.UndoAttempt(ctx, t)
}
func (w withoutState) SetSource(ctx context.Context, src redshiftsync.SourceInfo) error {
	return w.s.SetSource(ctx, src)
}
func (w withoutState) Check(ctx context.Context, src redshiftsync.SourceInfo, plans []*redshiftsync.Plan) []redshiftsync.CheckResult {
	return w.s.Check(ctx, src, plans)
}
func (w withoutState) Delete(ctx context.Context, t *redshiftsync.Table, keys []redshiftsync.Key) error {
	return w.s.Delete(ctx, t, keys)
}
func (w withoutState) ListKeys(ctx context.Context, t *redshiftsync.Table, r redshiftsync.KeyRange, fn func(redshiftsync.Key) error) error {
	return w.s.ListKeys(ctx, t, r, fn)
}
func (w withoutState) SchemaChanged(ctx context.Context, t *redshiftsync.Table, ch redshiftsync.SchemaChange) error {
	return w.s.SchemaChanged(ctx, t, ch)
}
