package redshiftsync

import "time"

// SetWatermarkTimings sets the clock margin of timestamp marks, Redshift's
// lookback floor and the age from which a held bookmark is a WARN, for tests
// that show what the transaction tracking alone does; the returned func
// restores them. Tests that call it must not run in parallel.
func SetWatermarkTimings(margin, floor, warnAfter time.Duration) (restore func()) {
	m, f, w := clockMargin, redshiftFloor, holdWarnAfter
	clockMargin, redshiftFloor, holdWarnAfter = margin, floor, warnAfter
	return func() { clockMargin, redshiftFloor, holdWarnAfter = m, f, w }
}

// RowBytes is the estimate of a decoded row's memory that BatchBytes
// budgets, for tests that check the batches a sink receives.
func RowBytes(row []any) int64 { return rowBytes(row) }

// SetChunkRows sets the rows a Redshift chunk aims at, for tests that cut
// small tables into several chunks; the returned func restores it. Tests
// that call it must not run in parallel.
func SetChunkRows(n int64) (restore func()) {
	old := chunkRows
	chunkRows = n
	return func() { chunkRows = old }
}
