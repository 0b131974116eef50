//go:build !race

// This file sizes TestReadPartMemoryBounded without the race detector: a
// million rows (see race_test.go).

package unload

const memoryTestRows = 1_000_000
