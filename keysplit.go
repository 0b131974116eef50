// This file holds the splitter of delete detection: it cuts a table's
// primary-key space (composite and text keys too) into ranges whose bounds
// come from a sorted sample of the keys, cuts them again when their sizes
// have grown uneven (recut), and cuts a range again into small chunks at
// the keys a sink lists, so that a changed range is narrowed down to a few
// hundred keys before any key is looked up at the source.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
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

// recutFactor is how uneven ranges may grow before they are cut again: a
// range holding more than recutFactor times the keys a range aims at (the
// table grew, or its keys moved), or more than recutFactor times the ranges
// its keys need (it shrank). A fresh cut is within about a fifth of the
// aim, so a table is not cut again until it has changed a lot.
const recutFactor = 4

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

// recutting is a new cut of the key space, taken by recut.
type recutting struct {
	bounds  []Key          // the new ranges' inner bounds
	digests map[int]string // each new range's digest
	// old and cut map each interval of the union of the old and new
	// bounds to the old range and to the new range it lies in.
	old, cut []int
}

// recut returns a new cut of the key space when the ranges' sizes (the
// counts of digests, one per range of d.bounds) have grown uneven (see
// recutFactor), nil when they have not. The new bounds come from a sample
// of the keys, as a first detection's; one scan then digests the intervals
// of the old and new bounds together, so that the old ranges' digests (to
// compare with the state's) and the new ones' (to save) are of the same
// moment, taken before any range is examined, as the digests of a
// detection without a new cut are: a key deleted at the source after that
// scan changes a saved digest, and is found by the next detection.
// digests is updated with the old ranges' digests of that scan.
func (d *detector) recut(ctx context.Context, u *unit, digests map[int]string) (*recutting, error) {
	var total, biggest int64
	for r := 0; r <= len(d.bounds); r++ {
		n, err := digestCount(digests[r])
		if err != nil {
			return nil, err
		}
		total += n
		biggest = max(biggest, n)
	}
	want := min(maxRanges, max(1, (total+rangeKeys-1)/rangeKeys))
	aim := max(rangeKeys, (total+maxRanges-1)/maxRanges)
	if biggest <= recutFactor*aim && int64(len(d.bounds)+1) <= recutFactor*want {
		return nil, nil
	}
	bounds, err := d.sampleBounds(ctx, u, total)
	if err != nil {
		return nil, err
	}
	// The union of the old and new bounds, sorted, each once.
	union := slices.Concat(d.bounds, bounds)
	slices.SortFunc(union, CompareKeys)
	union = slices.CompactFunc(union, func(a, b Key) bool { return CompareKeys(a, b) == 0 })
	texts, err := d.ks.allTexts(union)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(union)+1)
	for i := range ids {
		ids[i] = i
	}
	parts, err := d.digests(ctx, u, texts, ids, "", nil)
	if err != nil {
		return nil, err
	}
	rc := &recutting{bounds: bounds, digests: map[int]string{}, old: make([]int, len(ids)), cut: make([]int, len(ids))}
	in := func(bounds []Key, i int) int { // the range of bounds interval i of union lies in
		if i == 0 {
			return 0
		}
		return sort.Search(len(bounds), func(j int) bool { return CompareKeys(union[i-1], bounds[j]) < 0 })
	}
	oldSums := map[int]string{}
	for i := range ids {
		rc.old[i], rc.cut[i] = in(d.bounds, i), in(bounds, i)
		if oldSums[rc.old[i]], err = addDigests(oldSums[rc.old[i]], parts[i]); err != nil {
			return nil, err
		}
		if rc.digests[rc.cut[i]], err = addDigests(rc.digests[rc.cut[i]], parts[i]); err != nil {
			return nil, err
		}
	}
	for r := range oldSums {
		digests[r] = oldSums[r]
	}
	return rc, nil
}

// examine returns the new ranges to examine: those overlapping an old range
// for which changed is true.
func (rc *recutting) examine(changed func(old int) bool) []int {
	var out []int
	for i, r := range rc.old {
		if changed(r) && !slices.Contains(out, rc.cut[i]) {
			out = append(out, rc.cut[i])
		}
	}
	slices.Sort(out)
	return out
}

// digestCount returns the count of a digest ("count:sum").
func digestCount(dg string) (int64, error) {
	c, _, _ := strings.Cut(dg, ":")
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("digest %q: %w", dg, err)
	}
	return n, nil
}

// addDigests returns the digest of the union of two disjoint key sets,
// given theirs ("" for none): counts and sums add up.
func addDigests(a, b string) (string, error) {
	var sum digest
	for _, dg := range []string{a, b} {
		if dg == "" {
			continue
		}
		c, s, _ := strings.Cut(dg, ":")
		n, err := strconv.ParseInt(c, 10, 64)
		var v big.Int
		if _, ok := v.SetString(s, 10); err != nil || !ok {
			return "", fmt.Errorf("digest %q is not count:sum", dg)
		}
		sum.count += n
		sum.sum.Add(&sum.sum, &v)
	}
	return sum.String(), nil
}
