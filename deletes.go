// This file holds delete detection (Config.DeleteDetection): after a table's
// rows are synced, the source computes one digest per range of the primary
// key in one scan; ranges whose digest changed since the last detection, or
// that rows were written into since, are narrowed down by the keys the sink
// lists (KeyLister) to chunks of a few hundred keys whose digests differ,
// those chunks' sink keys are looked up at the source, the keys not found
// are asked again until a query finds none of them, and the sink is told
// (DeleteSink). The deletes are made durable by the table's final flush,
// before the state that records the new digests is saved: a run stopped
// during detection keeps the old digests, and the next run detects again
// (detection is idempotent: a key deleted already is no longer listed).

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DeleteStats is what a table's delete detection did in a Run.
type DeleteStats struct {
	// Ranges is the number of key ranges digested; Examined those compared
	// (their digest changed, rows were written into them, or this was the
	// table's first detection, Full).
	Ranges   int  `json:"ranges"`
	Examined int  `json:"examined"`
	Full     bool `json:"full,omitempty"`
	// DigestRows counts the digest rows the source sent; KeyRows the rows
	// holding keys (a first detection's sample, lookups of sink keys).
	DigestRows int64 `json:"digest_rows"`
	KeyRows    int64 `json:"key_rows"`
	// SinkKeys counts the keys the sink listed; Deleted those deleted.
	SinkKeys int64 `json:"sink_keys"`
	Deleted  int64 `json:"deleted"`
	// Recut says the ranges were cut again (their sizes had grown uneven,
	// see recut); Ranges then counts the new ones.
	Recut bool `json:"recut,omitempty"`
	// Duration is the detection's time; DigestScan that of its first
	// query, the digests of every range.
	Duration   time.Duration `json:"duration"`
	DigestScan time.Duration `json:"digest_scan"`
}

// detector is the delete detection of one table in one run.
type detector struct {
	ks     *keySpace
	bounds []Key // the ranges' inner bounds (from the state, or sampled)

	mu    sync.Mutex
	dirty map[int]bool // ranges rows were written into in this run

	stats DeleteStats
}

// deletePlan says whether delete detection runs for t, and why not.
func (e *Extractor) deletePlan(t *Table, dialect Dialect) (ok bool, reason string) {
	if e.cfg.DeleteDetection != DeleteDetectionOn {
		return false, ""
	}
	if ok, why := e.ab.detectsDeletes(); !ok {
		return false, "off: " + why
	}
	ks, why := newKeySpace(t, dialect)
	if ks == nil {
		return false, "off: " + why
	}
	return true, "on: range digests of the primary key (" + strings.Join(t.PrimaryKey, ", ") + ")"
}

// newDetector returns the table's detector, nil when detection is off for
// it. Saved digests of another key are dropped (the next detection compares
// every range).
func (s *tableSync) newDetector() *detector {
	if ok, _ := s.e.deletePlan(s.plan.Table, s.dialect); !ok {
		return nil
	}
	ks, _ := newKeySpace(s.plan.Table, s.dialect)
	d := &detector{ks: ks, dirty: map[int]bool{}}
	if st := s.state.Deletes; st != nil {
		bounds, err := d.parseBounds(st)
		if err != nil {
			s.log.Warn("the saved digests of delete detection do not fit the table: comparing every range again", "error", err)
			s.state.Deletes = nil
		} else {
			d.bounds = bounds
			for _, r := range st.Dirty {
				d.dirty[r] = true
			}
		}
	}
	return d
}

// parseBounds reads the saved ranges' bounds, checking they belong to the
// key and fit the digests.
func (d *detector) parseBounds(st *deleteState) ([]Key, error) {
	if !slices.Equal(st.Key, d.ks.order()) {
		return nil, fmt.Errorf("they belong to the key %v, the table's is %v", st.Key, d.ks.order())
	}
	if st.Hash != d.ks.hashScheme() {
		return nil, fmt.Errorf("they hash the key by the scheme %q, this version by %q", st.Hash, d.ks.hashScheme())
	}
	if len(st.Digests) != len(st.Bounds)+1 {
		return nil, fmt.Errorf("%d digests for %d ranges", len(st.Digests), len(st.Bounds)+1)
	}
	var bounds []Key
	for _, b := range st.Bounds {
		k, err := d.ks.parse(b)
		if err != nil {
			return nil, err
		}
		if n := len(bounds); n > 0 && CompareKeys(bounds[n-1], k) >= 0 {
			return nil, fmt.Errorf("bounds out of order at %v", b)
		}
		bounds = append(bounds, k)
	}
	return bounds, nil
}

// rangeOf returns the index of the range holding key.
func (d *detector) rangeOf(key Key) int {
	return sort.Search(len(d.bounds), func(i int) bool { return CompareKeys(key, d.bounds[i]) < 0 })
}

// mark records the ranges that rows written to the sink fall into.
func (d *detector) mark(rows [][]any) {
	if d == nil || len(rows) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.bounds) == 0 {
		d.dirty[0] = true
		return
	}
	for _, row := range rows {
		d.dirty[d.rangeOf(d.ks.keyOf(row))] = true
	}
}

// withDirty returns st with the ranges written into so far, for a
// checkpoint: a run that stops before its detection leaves them to the
// next.
func (d *detector) withDirty(st *deleteState) *deleteState {
	if d == nil || st == nil {
		return st
	}
	c := *st
	c.Dirty = d.dirtyList()
	return &c
}

func (d *detector) dirtyList() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]int, 0, len(d.dirty))
	for r := range d.dirty {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// detectDeletes runs the table's delete detection, when it is on and due.
func (s *tableSync) detectDeletes(ctx context.Context) error {
	d := s.del
	if d == nil {
		return nil
	}
	if st := s.state.Deletes; st != nil && s.e.cfg.DeleteDetectionInterval > 0 && time.Since(st.At) < s.e.cfg.DeleteDetectionInterval {
		return nil // not due: the ranges written into wait in the state
	}
	t0 := time.Now()
	if err := s.detect(ctx, d); err != nil {
		return &TableError{Table: s.name, Step: StepDetectDeletes, Err: err}
	}
	d.stats.Duration = time.Since(t0)
	s.log.Info("delete detection finished", "ranges", d.stats.Ranges, "examined", d.stats.Examined, "full", d.stats.Full,
		"recut", d.stats.Recut, "digest_rows", d.stats.DigestRows, "key_rows", d.stats.KeyRows, "sink_keys", d.stats.SinkKeys, "deleted", d.stats.Deleted)
	return nil
}

func (s *tableSync) detect(ctx context.Context, d *detector) error {
	u := s.newUnit(nil, nil)
	u.planning = true
	defer u.releaseConn(false)
	if err := u.ensureConn(ctx); err != nil {
		return err
	}
	restore, err := planSettings(ctx, u)
	if err != nil {
		return err
	}
	defer restore()
	at := time.Now().UTC()
	saved := s.state.Deletes
	if saved == nil {
		// The first detection (or one whose key changed): new ranges, and
		// every one of them compared.
		var rows int64
		if err := u.query(ctx, "SELECT COUNT(*) FROM "+d.ks.from(), nil, func(row []driver.Value) error {
			v, err := decodeInt(row[0])
			rows, _ = v.(int64)
			return err
		}); err != nil {
			return err
		}
		bounds, err := d.sampleBounds(ctx, u, rows)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.bounds = bounds
		d.mu.Unlock()
		d.stats.Full = true
	}
	texts, err := d.ks.allTexts(d.bounds)
	if err != nil {
		return err
	}
	ids := make([]int, len(d.bounds)+1)
	for i := range ids {
		ids[i] = i
	}
	t0 := time.Now()
	digests, err := d.digests(ctx, u, texts, ids, "", nil)
	if err != nil {
		return err
	}
	d.stats.DigestScan = time.Since(t0)
	for r := range ids {
		if digests[r] == "" {
			digests[r] = emptyDigest // the source sends no row for an empty range
		}
	}
	dirty := d.dirtyList()
	changed := func(r int) bool {
		return saved == nil || saved.Digests[r] != digests[r] || slices.Contains(dirty, r)
	}
	var examine []int
	if saved != nil {
		recut, err := d.recut(ctx, u, digests)
		if err != nil {
			return err
		}
		if recut != nil {
			// The ranges to examine are those of the new cut that overlap
			// an old range which changed: both come from recut's one scan.
			examine = recut.examine(changed)
			d.mu.Lock()
			d.bounds = recut.bounds
			d.mu.Unlock()
			digests = recut.digests
			if texts, err = d.ks.allTexts(d.bounds); err != nil {
				return err
			}
			d.stats.Recut = true
		}
	}
	if !d.stats.Recut {
		for r := range ids {
			if changed(r) {
				examine = append(examine, r)
			}
		}
	}
	d.stats.Ranges = len(d.bounds) + 1
	d.stats.Examined = len(examine)
	if err := s.examine(ctx, u, d, examine); err != nil {
		return err
	}
	st := &deleteState{Key: d.ks.order(), Hash: d.ks.hashScheme(), Bounds: texts, Digests: make([]string, len(d.bounds)+1), At: at}
	for r := range st.Digests {
		st.Digests[r] = digests[r]
	}
	d.mu.Lock()
	d.dirty = map[int]bool{}
	d.mu.Unlock()
	s.state.Deletes = st
	return nil
}

// planSettings sets PostgreSQL's planner up on the unit's connection for the
// detection, and returns what sets it back as it was. Redshift has none of
// these settings.
//
//   - jit off: a digest query's CASE tree of a few thousand bounds costs the
//     JIT minutes to compile (measured: 143 s of JIT for a 53 s query of
//     500,000 rows), for a scan that takes a second without.
//   - enable_sort off: PostgreSQL estimates as many groups as rows for a
//     GROUP BY over an expression of the key, so it sorts every row (on
//     disk) before aggregating a few hundred groups; without sorts it hashes
//     them (measured on 5,000,000 rows: see BENCHMARKS.md). The detection's
//     other queries read ranges of the key through its index, or need their
//     sort, which enable_sort off only discourages.
//   - max_parallel_workers_per_gather 0: the per-range aggregates
//     (rangeScanSQL) run in parallel workers when the planner may, and cost
//     the source nearly twice the CPU for them (0.7 s against 0.4 s on
//     5,000,000 rows), to save wall time only on idle cores; the one scan
//     plans serially anyway (BENCHMARKS.md, "Detection, session 4").
func planSettings(ctx context.Context, u *unit) (restore func(), err error) {
	if u.t.dialect == DialectRedshift {
		return func() {}, nil
	}
	names := []string{"jit", "enable_sort", "max_parallel_workers_per_gather"}
	want := []string{"off", "off", "0"}
	old := make([]string, len(names))
	if err := u.query(ctx, "SELECT COALESCE(current_setting('jit', true), ''), current_setting('enable_sort'), current_setting('max_parallel_workers_per_gather')", nil, func(row []driver.Value) error {
		for i := range old {
			v, err := decodeString(row[i])
			if err != nil {
				return err
			}
			old[i], _ = v.(string)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if old[0] == "" { // a server built without JIT support has no such setting: set it not
		old[0] = "off"
	}
	if slices.Equal(old, want) {
		return func() {}, nil
	}
	set := func(ctx context.Context, values []string) error {
		return u.query(ctx, "SELECT set_config('jit', $1, false) WHERE $1 <> 'off' OR current_setting('jit', true) IS NOT NULL "+
			"UNION ALL SELECT set_config('enable_sort', $2, false) UNION ALL SELECT set_config('max_parallel_workers_per_gather', $3, false)",
			[]any{values[0], values[1], values[2]}, func([]driver.Value) error { return nil })
	}
	if err := set(ctx, want); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if set(ctx, old) != nil {
			u.releaseConn(true) // a connection left without its settings is closed, not reused
		}
	}, nil
}

// digests runs digestSQL and returns the digest of each id ("" for an id
// with no rows: the source sends no row for it).
func (d *detector) digests(ctx context.Context, u *unit, bounds [][]string, ids []int, where string, args []any) (map[int]string, error) {
	q, args := d.ks.digestSQL(bounds, ids, where, args)
	if where == "" && d.ks.rangeScannable(bounds, ids) {
		if d.ks.indexed == 0 {
			iq, iargs := d.ks.rangeIndexSQL()
			d.ks.indexed = -1
			if err := u.query(ctx, iq, iargs, func(row []driver.Value) error {
				if ok, _ := row[0].(bool); ok {
					d.ks.indexed = 1
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
		if d.ks.indexed == 1 {
			q, args = d.ks.rangeScanSQL(bounds)
		}
	}
	out := map[int]string{}
	err := u.query(ctx, q, args, func(row []driver.Value) error {
		id, err := decodeInt(row[0])
		if err != nil {
			return err
		}
		dg, err := parseDigest(row[1], row[2])
		if err != nil {
			return err
		}
		d.stats.DigestRows++
		if n := id.(int64); n >= 0 {
			out[int(n)] = dg
		}
		return nil
	})
	return out, err
}

// keyRange returns the KeyRange of range r.
func (d *detector) keyRange(r int) KeyRange {
	var kr KeyRange
	if r > 0 {
		kr.Lower = d.bounds[r-1]
	}
	if r < len(d.bounds) {
		kr.Upper = d.bounds[r]
	}
	return kr
}

// emptyDigest is the digest of a range without keys.
const emptyDigest = "0:0"

// examineBatch is the number of sink keys held at once while ranges are
// examined: each batch costs one scan of the source.
const examineBatch = 500_000

// examine compares the given ranges: their sink keys, cut into chunks, whose
// digests the source computes in one scan per batch of ranges.
func (s *tableSync) examine(ctx context.Context, u *unit, d *detector, ranges []int) error {
	var chunks []chunk
	held := 0
	for i, r := range ranges {
		kr := d.keyRange(r)
		var keys []Key
		err := s.e.ab.listKeys(ctx, s.plan.Table, kr, func(k Key) error {
			keys = append(keys, slices.Clone(k))
			return nil
		})
		if err != nil {
			s.sinkFailed.Store(true)
			return fmt.Errorf("listing the sink's keys of range %d: %w", r, err)
		}
		d.stats.SinkKeys += int64(len(keys))
		slices.SortFunc(keys, CompareKeys)
		chunks = append(chunks, chunksOf(keys, kr.Upper)...)
		held += len(keys)
		if held >= examineBatch || i == len(ranges)-1 {
			if err := s.compareChunks(ctx, u, d, chunks); err != nil {
				return err
			}
			chunks, held = nil, 0
		}
	}
	return nil
}

// compareChunks has the source digest the chunks in one scan (of their span
// only), and looks up the sink keys of each chunk whose digest differs.
func (s *tableSync) compareChunks(ctx context.Context, u *unit, d *detector, chunks []chunk) error {
	if len(chunks) == 0 {
		return nil
	}
	bounds, ids := chunkBounds(chunks)
	texts, err := d.ks.allTexts(bounds)
	if err != nil {
		return err
	}
	var args []any
	where := "NOT " + d.ks.before(texts[0], &args)
	if last := chunks[len(chunks)-1]; last.upper != nil {
		where += " AND " + d.ks.before(texts[len(texts)-1], &args)
	}
	source, err := d.digests(ctx, u, texts, ids, where, args)
	if err != nil {
		return err
	}
	for i, c := range chunks {
		var sink digest
		for _, k := range c.keys {
			sink.add(d.ks.hash(k))
		}
		if src := source[i]; src == sink.String() || (src == "" && len(c.keys) == 0) {
			continue
		}
		if err := s.lookUp(ctx, u, d, c.keys); err != nil {
			return err
		}
	}
	return nil
}

// lookUp finds which of keys (a chunk's sink keys) the source lacks and
// deletes them from the sink. The source compares by its own equality (its
// collation, citext), so a key it holds in any spelling it calls equal is
// kept: never a false delete. One query returns, for each source row that
// equals a key, the index of the first key it equals; a key another key
// shadows that way (two spellings the source calls equal) is unanswered,
// so the keys not found are asked again, alone, until a query finds none of
// them: usually one more query, where there was a point lookup per key.
func (s *tableSync) lookUp(ctx context.Context, u *unit, d *detector, keys []Key) error {
	texts, err := d.ks.allTexts(keys)
	if err != nil {
		return err
	}
	ask := make([]int, len(keys)) // the keys not found so far, by index
	for i := range ask {
		ask[i] = i
	}
	for len(ask) > 0 {
		found, err := d.present(ctx, u, texts, ask)
		if err != nil {
			return err
		}
		if len(found) == 0 {
			break // the source holds none of them: every one is gone
		}
		ask = slices.DeleteFunc(ask, func(i int) bool { return found[i] })
	}
	if len(ask) == 0 {
		return nil
	}
	gone := make([]Key, len(ask))
	for n, i := range ask {
		gone[n] = keys[i]
	}
	s.sinkMu.Lock()
	err = s.e.ab.deleteKeys(ctx, s.plan.Table, gone)
	s.sinkMu.Unlock()
	if err != nil {
		s.sinkFailed.Store(true)
		return fmt.Errorf("deleting %d keys from the sink: %w", len(gone), err)
	}
	d.stats.Deleted += int64(len(gone))
	return nil
}

// present returns which of the keys texts[ask...] the source holds, by the
// index of the first of them each of its rows equals (by the source's
// equality).
func (d *detector) present(ctx context.Context, u *unit, texts [][]string, ask []int) (map[int]bool, error) {
	var args []any
	cases := make([]string, len(ask))
	ors := make([]string, len(ask))
	for n, i := range ask {
		eq := d.ks.equals(texts[i], &args)
		cases[n] = "WHEN " + eq + " THEN " + strconv.Itoa(i)
		ors[n] = eq
	}
	q := "SELECT DISTINCT CASE " + strings.Join(cases, " ") + " END FROM " + d.ks.from() + " WHERE " + strings.Join(ors, " OR ")
	found := map[int]bool{}
	err := u.query(ctx, q, args, func(row []driver.Value) error {
		i, err := decodeInt(row[0])
		if err != nil {
			return err
		}
		if n, ok := i.(int64); ok && n >= 0 && int(n) < len(texts) {
			found[int(n)] = true
		}
		d.stats.KeyRows++
		return nil
	})
	return found, err
}
