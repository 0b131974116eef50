package redshiftsync

// SetDeleteRangeSizes sets the keys a range of delete detection aims at and
// the sink keys of a chunk, so that a small test table is cut into several
// of each; the returned func restores them. Tests that call it must not run
// in parallel.
func SetDeleteRangeSizes(rangeSize int64, chunkSize int) (restore func()) {
	r, c := rangeKeys, chunkKeys
	rangeKeys, chunkKeys = rangeSize, chunkSize
	return func() { rangeKeys, chunkKeys = r, c }
}
