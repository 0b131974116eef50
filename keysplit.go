// This file holds the splitter of delete detection: it cuts a table's
// primary-key space (composite and text keys too) into ranges whose bounds
// come from a sorted sample of the keys, and cuts a range again into small
// chunks at the keys a sink lists, so that a changed range is narrowed down
// to a few hundred keys before any key is looked up at the source.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"slices"
	"strconv"
)

// Variables, not constants, so that tests cut small tables into several
// ranges and chunks (export_deletes_test.go).
var (
	// rangeKeys is the number of keys a top range aims at: the state keeps
	// one digest per range, at most maxRanges of them (a few KB).
	rangeKeys int64 = 20_000
	maxRanges int64 = 256
	// chunkKeys is the number of sink keys of a chunk: a chunk whose
	// digest differs at the source has its sink keys looked up there.
	chunkKeys = 256
)

// sampleBounds returns the inner bounds of the ranges of a table of rows
// keys: quantiles of a random sample of its keys, sorted as CompareKeys
// sorts them (bytewise text, as the source compares them in colExpr).
// The sample is the only time key rows reach the client when nothing was
// deleted: on a table's first detection.
func (d *detector) sampleBounds(ctx context.Context, u *unit, rows int64) ([]Key, error) {
	ranges := min(maxRanges, (rows+rangeKeys-1)/rangeKeys)
	if ranges <= 1 {
		return nil, nil
	}
	p := float64(ranges*32) / float64(rows)
	q := "SELECT " + d.ks.selectList() + " FROM " + d.ks.from()
	if p < 1 {
		q += " WHERE RANDOM() < " + strconv.FormatFloat(p, 'f', 8, 64)
	}
	var sample []Key
	err := u.query(ctx, q, nil, func(row []driver.Value) error {
		k, err := d.ks.decode(row)
		if err != nil {
			return err
		}
		sample = append(sample, k)
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.stats.KeyRows += int64(len(sample))
	slices.SortFunc(sample, CompareKeys)
	sample = slices.CompactFunc(sample, func(a, b Key) bool { return CompareKeys(a, b) == 0 })
	var bounds []Key
	for i := int64(1); i < ranges; i++ {
		j := int(i * int64(len(sample)) / ranges)
		if j <= 0 || j >= len(sample) {
			continue
		}
		if n := len(bounds); n == 0 || CompareKeys(bounds[n-1], sample[j]) < 0 {
			bounds = append(bounds, sample[j])
		}
	}
	return bounds, nil
}

// chunk is a run of at most chunkKeys sorted sink keys of one range: the
// source's digest of [keys[0], upper) is compared with theirs.
type chunk struct {
	keys  []Key
	upper Key // the next chunk's first key, or the range's upper bound (nil: open)
}

// chunksOf cuts a range's sorted sink keys into chunks.
func chunksOf(keys []Key, upper Key) []chunk {
	var out []chunk
	for start := 0; start < len(keys); start += chunkKeys {
		end := min(start+chunkKeys, len(keys))
		c := chunk{keys: keys[start:end], upper: upper}
		if end < len(keys) {
			c.upper = keys[end]
		}
		out = append(out, c)
	}
	return out
}

// chunkBounds returns the bounds and interval ids (see digestSQL) of
// chunks, sorted and disjoint: interval i+1 (at or above bounds[i]) is
// chunk ids[i+1], -1 for the gaps between them.
func chunkBounds(chunks []chunk) (bounds []Key, ids []int) {
	ids = []int{-1}
	for i, c := range chunks {
		lower := c.keys[0]
		if n := len(bounds); n > 0 && CompareKeys(bounds[n-1], lower) == 0 {
			ids[n] = i // the previous chunk ends where this one starts
		} else {
			bounds = append(bounds, lower)
			ids = append(ids, i)
		}
		next := i + 1
		if c.upper != nil && (next == len(chunks) || CompareKeys(chunks[next].keys[0], c.upper) != 0) {
			bounds = append(bounds, c.upper)
			ids = append(ids, -1)
		}
	}
	return bounds, ids
}
