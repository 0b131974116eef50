//go:build race

package redshiftsync

// raceEnabled is set when tests run under the race detector, which
// allocates on its own.
const raceEnabled = true
