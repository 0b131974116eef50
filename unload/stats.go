// This file holds Stats: the counters of a Reader's S3 traffic, which the
// tests and the benchmark program (internal/cmd/bench) read to show how a
// part is fetched.

package unload

import "sync/atomic"

// Stats counts what a Reader fetched from S3 since New.
type Stats struct {
	// Requests is the number of GET requests: manifests, footers, and one
	// per column chunk stream (more when a stream is reopened).
	Requests int64
	// Bytes is the number of object bytes received.
	Bytes int64
	// Rows is the number of rows handed to emit by ReadPart.
	Rows int64
}

// counters is the live form of Stats.
type counters struct{ requests, bytes, rows atomic.Int64 }

func (c *counters) request(n int64) {
	if c != nil {
		c.requests.Add(1)
		c.bytes.Add(n)
	}
}

// Stats returns what r fetched so far. It is safe to call while r is in use.
func (r *Reader) Stats() Stats {
	return Stats{Requests: r.stats.requests.Load(), Bytes: r.stats.bytes.Load(), Rows: r.stats.rows.Load()}
}
