package redshiftsync

import "time"

// SetWatermarkTimings sets the clock margin of timestamp marks and the age
// from which a held bookmark is a WARN, for tests that show what the
// transaction tracking alone does; the returned func restores them. Tests
// that call it must not run in parallel.
func SetWatermarkTimings(margin, warnAfter time.Duration) (restore func()) {
	m, w := clockMargin, holdWarnAfter
	clockMargin, holdWarnAfter = margin, warnAfter
	return func() { clockMargin, holdWarnAfter = m, w }
}
