//go:build race

package jsonlsink

// raceEnabled is set when tests run under the race detector, which makes
// sync.Pool drop items (and so allocate) at random.
const raceEnabled = true
