package redshiftsync

import (
	"context"
	"net"
	"time"
)

// SetWatermarkTimings sets the clock margin of timestamp marks, Redshift's
// lookback floor and the age from which a held bookmark is a WARN, for tests
// that show what the transaction tracking alone does; the returned func
// restores them. Tests that call it must not run in parallel.
func SetWatermarkTimings(margin, floor, warnAfter time.Duration) (restore func()) {
	m, f, w := clockMargin, redshiftFloor, holdWarnAfter
	clockMargin, redshiftFloor, holdWarnAfter = margin, floor, warnAfter
	return func() { clockMargin, redshiftFloor, holdWarnAfter = m, f, w }
}

// SnapshotAppName is the application_name of an exporting session while it
// holds its snapshot.
const SnapshotAppName = snapshotAppName

// RowBytes is the estimate of a decoded row's memory that BatchBytes
// budgets, for tests that check the batches a sink receives.
func RowBytes(row []any) int64 { return rowBytes(row) }

// WithDialAddress returns c whose pool (New) dials addr whatever host and
// port c names, so that lib/pq verifies the certificate of the server at
// addr against c.Host: a Redshift host name can reach a local TLS server.
func WithDialAddress(c Config, addr string) Config {
	c.dial = fixedDialer(addr)
	return c
}

type fixedDialer string

func (a fixedDialer) Dial(network, _ string) (net.Conn, error) {
	return net.Dial(network, string(a))
}

func (a fixedDialer) DialTimeout(network, _ string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout(network, string(a), timeout)
}

func (a fixedDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, string(a))
}

// SetChunkRows sets the rows a Redshift chunk aims at, for tests that cut
// small tables into several chunks; the returned func restores it. Tests
// that call it must not run in parallel.
func SetChunkRows(n int64) (restore func()) {
	old := chunkRows
	chunkRows = n
	return func() { chunkRows = old }
}
