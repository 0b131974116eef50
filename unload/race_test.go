//go:build race

// This file sizes TestReadPartMemoryBounded under the race detector, which
// makes writing and reading Parquet ten times slower: 200,000 rows (some
// 11 MiB) keep the check (peak heap a small fraction of the part) in
// seconds; without -race it reads a million.

package unload

const memoryTestRows = 200_000
