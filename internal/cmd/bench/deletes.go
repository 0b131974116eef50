// This file holds the delete-detection probe (-cases deletes): on a wide
// table (bench.wide's columns) and a narrow one, each of -rows keys, it
// times a full sync, the first detection (a full comparison), a detection
// when nothing was deleted (digest rows only) and its ratio to the full
// sync, and the digest query's shapes before and after side by side; on
// the narrow one then a detection after 100 scattered deletes (the keys it
// reads), and beside it a full key-set comparison (every source key
// streamed to the client and compared with the sink's).

package main

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// deleteStep is one timed step of the probe.
type deleteStep struct {
	What    string
	Seconds float64
	Stats   *redshiftsync.DeleteStats
	Rows    int64  // rows synced, or keys the full comparison read
	Load    string // the load average when the step ended
}

// bitSink is a DeleteSink and KeyLister over keys 1..n held as a bitmap,
// so that the probe's sink costs next to nothing beside the source.
type bitSink struct {
	mu   sync.Mutex
	live []bool
	rows int64
}

func (s *bitSink) Open(context.Context, *redshiftsync.Table) error  { return nil }
func (s *bitSink) Flush(context.Context, *redshiftsync.Table) error { return nil }

func (s *bitSink) Write(_ context.Context, b redshiftsync.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range b.Rows {
		s.live[r[0].(int64)] = true
	}
	s.rows += int64(len(b.Rows))
	return nil
}

func (s *bitSink) Delete(_ context.Context, _ *redshiftsync.Table, keys []redshiftsync.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		s.live[k[0].(int64)] = false
	}
	return nil
}

func (s *bitSink) ListKeys(_ context.Context, _ *redshiftsync.Table, r redshiftsync.KeyRange, fn func(redshiftsync.Key) error) error {
	lo, hi := int64(0), int64(len(s.live))
	if r.Lower != nil {
		lo = r.Lower[0].(int64)
	}
	if r.Upper != nil {
		hi = r.Upper[0].(int64)
	}
	k := redshiftsync.Key{int64(0)}
	for i := max(lo, 0); i < hi && i < int64(len(s.live)); i++ {
		if s.live[i] {
			k[0] = i
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// measureDeletes runs the probe on two tables of rows keys: bench.del_wide,
// bench.wide's ten columns plus updated_at (the 5M-row table: about
// 1 GB), and bench.del, three narrow columns (the worst case for the
// ratio: a full sync of it is cheap, the digests cost the same). On each it
// times a full sync, the first detection and a detection that finds
// nothing deleted, and the digest query's shapes side by side; on the
// narrow table then 100 scattered deletes, a query per range and a full
// key-set comparison.
func measureDeletes(ctx context.Context, db *sql.DB, dsn string, rows int64) ([]deleteStep, error) {
	wide, err := delWideSQL()
	if err != nil {
		return nil, err
	}
	var steps []deleteStep
	for _, t := range []struct {
		name, what string
		build      []string
	}{
		{"del_wide", "10 columns, bench.wide's", wide},
		{"del", "narrow: id, v, updated_at", []string{
			`CREATE TABLE {t} (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL)`,
			`INSERT INTO {t} SELECT g, g % 1000, timestamp '2024-01-01' + g * interval '1 millisecond' FROM generate_series(1, {n}) g`,
		}},
	} {
		st, err := measureDeletesOn(ctx, db, dsn, rows, t.name, t.what, t.build, t.name == "del")
		steps = append(steps, st...)
		if err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// delWideSQL is wideSQL with an updated_at column, distinct per row, for
// the incremental syncs beside each detection.
func delWideSQL() ([]string, error) {
	out := slices.Clone(wideSQL)
	for _, r := range []struct {
		i        int
		old, new string
	}{
		{0, "tstz timestamptz)", "tstz timestamptz, updated_at timestamp NOT NULL)"},
		{1, "\nFROM generate_series(", ",\n\ttimestamp '2024-01-01' + g * interval '1 millisecond'\nFROM generate_series("},
	} {
		if !strings.Contains(out[r.i], r.old) {
			return nil, fmt.Errorf("deletes: wideSQL[%d] has no %q: update delWideSQL", r.i, r.old)
		}
		out[r.i] = strings.Replace(out[r.i], r.old, r.new, 1)
	}
	return out, nil
}

// measureDeletesOn builds one table of the probe and times its steps;
// more adds the steps that delete rows.
func measureDeletesOn(ctx context.Context, db *sql.DB, dsn string, rows int64, name, what string, build []string, more bool) ([]deleteStep, error) {
	q := schema + "." + name
	r := strings.NewReplacer("{t}", q, "{n}", fmt.Sprint(rows))
	logf("deletes: building %s (%s rows, %s)...", q, thousands(rows), what)
	stmts := append([]string{`CREATE SCHEMA IF NOT EXISTS ` + schema, `DROP TABLE IF EXISTS {t}`}, build...)
	stmts = append(stmts, `CREATE INDEX ON {t} (updated_at, id)`, `VACUUM ANALYZE {t}`)
	if err := execAll(ctx, db, r, stmts...); err != nil {
		return nil, err
	}
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Schema, cfg.IncludeTables, cfg.BatchSize = schema, []string{name}, pageRows
	sink := &bitSink{live: make([]bool, rows+1)}
	store := &redshiftsync.MemoryStore{}
	var steps []deleteStep
	sync := func(what string, detect bool) error {
		c := cfg
		if detect {
			c.DeleteDetection = redshiftsync.DeleteDetectionOn
		}
		ex, err := redshiftsync.New(c, sink, store)
		if err != nil {
			return err
		}
		defer ex.Close()
		before := sink.rows
		t0 := time.Now()
		rep, err := ex.Run(ctx)
		if err != nil {
			return err
		}
		st := deleteStep{What: name + ": " + what, Seconds: time.Since(t0).Seconds(), Rows: sink.rows - before, Load: loadAvg()}
		if len(rep.Tables) == 1 {
			st.Stats = rep.Tables[0].Deletes
		}
		steps = append(steps, st)
		logf("deletes: %s: %.1fs, %d rows, %+v (load %s)", st.What, st.Seconds, st.Rows, st.Stats, st.Load)
		return nil
	}
	if err := sync("full sync (detection off)", false); err != nil {
		return steps, err
	}
	full := steps[len(steps)-1].Seconds
	if err := sync("first detection: a full comparison (and an incremental sync)", true); err != nil {
		return steps, err
	}
	if err := sync("detection, nothing deleted (and an incremental sync)", true); err != nil {
		return steps, err
	}
	if st := steps[len(steps)-1].Stats; st != nil {
		logf("deletes: %s: detection, nothing deleted: %.2fs (its digest scan %.2fs) = %.1f%% of the full sync's %.1fs; %d digest rows, %d key rows (load %s)",
			name, st.Duration.Seconds(), st.DigestScan.Seconds(), 100*st.Duration.Seconds()/full, full, st.DigestRows, st.KeyRows, loadAvg())
		if st.Ranges > 1 {
			shapes, err := digestShapes(ctx, db, r, name, rows, st.Ranges)
			steps = append(steps, shapes...)
			if err != nil {
				return steps, err
			}
		}
	}
	if !more {
		return steps, nil
	}
	if _, err := db.ExecContext(ctx, r.Replace(`DELETE FROM {t} WHERE id % ({n} / 100) = 7`)); err != nil {
		return steps, err
	}
	// The alternative to one scan: a query per range (as many ranges as
	// the library cut, of equal width), each digesting its range.
	if st := steps[2].Stats; st != nil && st.Ranges > 0 {
		t0 := time.Now()
		width := rows/int64(st.Ranges) + 1
		for i := int64(0); i < int64(st.Ranges); i++ {
			var n int64
			var sum sql.NullString
			if err := db.QueryRowContext(ctx, r.Replace(`SELECT count(*), sum(hashint8extended(id, 0)) FROM {t} WHERE id >= $1 AND id < $2`), i*width, (i+1)*width).Scan(&n, &sum); err != nil {
				return steps, err
			}
		}
		steps = append(steps, deleteStep{What: fmt.Sprintf("%s: digests by a query per range (%d queries), against the library's %.2fs", name, st.Ranges, st.DigestScan.Seconds()), Seconds: time.Since(t0).Seconds(), Load: loadAvg()})
		logf("deletes: %s: %.2fs", steps[len(steps)-1].What, time.Since(t0).Seconds())
	}
	// The full key-set comparison: every source key to the client, in key
	// order, merged with the sink's.
	t0 := time.Now()
	rs, err := db.QueryContext(ctx, r.Replace(`SELECT id FROM {t} ORDER BY id`))
	if err != nil {
		return steps, err
	}
	var n, missing int64
	next := int64(1)
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return steps, err
		}
		for ; next < id; next++ {
			if sink.live[next] {
				missing++
			}
		}
		next = id + 1
		n++
	}
	if err := rs.Err(); err != nil {
		return steps, err
	}
	steps = append(steps, deleteStep{What: fmt.Sprintf("%s: full key-set comparison (%d keys the sink holds and the source lacks)", name, missing), Seconds: time.Since(t0).Seconds(), Rows: n, Load: loadAvg()})
	logf("deletes: %s: full key-set comparison: %.1fs, %d keys", name, time.Since(t0).Seconds(), n)
	if err := sync("detection, 100 scattered deletes (and an incremental sync)", true); err != nil {
		return steps, err
	}
	return steps, nil
}

// digestShapes times, side by side on one connection (JIT and sorts off,
// as the library runs them), the digest query's shapes over ranges
// equal-width ranges of ids 1..rows, twice each, interleaved: the one scan
// of session 3 (width_bucket, each key's text hashed: the library before),
// the same with the integer hash, the per-range aggregates as the library
// runs them (a VALUES list of ranges joined LATERAL to one aggregate) with
// either hash, the same as a UNION ALL of an aggregate per range (planned
// once per range), serial and with the planner free to run it in parallel,
// and the one scan with parallel partial aggregation (a join on
// generate_series makes the planner expect a few hundred groups instead of
// one per row).
func digestShapes(ctx context.Context, db *sql.DB, r *strings.Replacer, name string, rows int64, ranges int) ([]deleteStep, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	bounds := make([]string, ranges-1)
	for i := range bounds {
		bounds[i] = fmt.Sprint(int64(i+1) * rows / int64(ranges))
	}
	const (
		textHash = `hashtextextended(CAST(s.id AS TEXT) COLLATE "C", 0)`
		intHash  = `hashint8extended(s.id, 0)`
	)
	bucket := "width_bucket(s.id, ARRAY[" + strings.Join(bounds, ", ") + "]::bigint[])"
	oneScan := func(hash string) string {
		return "SELECT " + bucket + " AS g, count(*), sum(" + hash + ") FROM {t} s GROUP BY 1"
	}
	union := func(hash string) string {
		parts := make([]string, ranges)
		for i := range parts {
			var conds []string
			if i > 0 {
				conds = append(conds, "s.id >= "+bounds[i-1]+"::bigint")
			}
			if i < len(bounds) {
				conds = append(conds, "s.id < "+bounds[i]+"::bigint")
			}
			parts[i] = fmt.Sprintf("SELECT %d, count(*), sum(%s) FROM {t} s WHERE %s HAVING count(*) > 0", i, hash, strings.Join(conds, " AND "))
		}
		return strings.Join(parts, " UNION ALL ")
	}
	lateral := func(hash string) string {
		rows := make([]string, len(bounds)-1)
		for i := range rows {
			rows[i] = fmt.Sprintf("(%d, %s::bigint, %s::bigint)", i+1, bounds[i], bounds[i+1])
		}
		agg := "count(*), sum(" + hash + ")"
		return "SELECT 0, " + agg + " FROM {t} s WHERE s.id < " + bounds[0] + "::bigint HAVING count(*) > 0 UNION ALL " +
			"SELECT r.i, d.n, d.h FROM (VALUES " + strings.Join(rows, ", ") + ") r(i, lo, hi) CROSS JOIN LATERAL " +
			"(SELECT count(*) AS n, sum(" + hash + ") AS h FROM {t} s WHERE s.id >= r.lo AND s.id < r.hi) d WHERE d.n > 0 UNION ALL " +
			"SELECT " + fmt.Sprint(len(bounds)) + ", " + agg + " FROM {t} s WHERE s.id >= " + bounds[len(bounds)-1] + "::bigint HAVING count(*) > 0"
	}
	joined := "SELECT b.g, count(*), sum(" + intHash + ") FROM {t} s JOIN generate_series(0, " + fmt.Sprint(ranges-1) + ") b(g) ON b.g = " + bucket + " GROUP BY 1"
	shapes := []struct{ what, workers, q string }{
		{"one scan, width_bucket, text hash (session 3, before)", "2", oneScan(textHash)},
		{"one scan, width_bucket, integer hash", "2", oneScan(intHash)},
		{"per-range aggregates (LATERAL), text hash", "0", lateral(textHash)},
		{"per-range aggregates (LATERAL), integer hash (the library now)", "0", lateral(intHash)},
		{"per-range aggregates (UNION ALL of each), integer hash", "0", union(intHash)},
		{"per-range aggregates (UNION ALL of each), integer hash, parallel allowed", "2", union(intHash)},
		{"one scan, parallel partial aggregation (join), integer hash", "2", joined},
	}
	var out []deleteStep
	for rep := range 2 {
		for _, c := range shapes {
			if _, err := conn.ExecContext(ctx, "SELECT set_config('jit', 'off', false), set_config('enable_sort', 'off', false), set_config('max_parallel_workers_per_gather', $1, false)", c.workers); err != nil {
				return out, err
			}
			t0 := time.Now()
			rs, err := conn.QueryContext(ctx, r.Replace(c.q))
			if err != nil {
				return out, err
			}
			n := 0
			for rs.Next() {
				n++
			}
			if err := rs.Err(); err != nil {
				return out, err
			}
			rs.Close()
			step := deleteStep{What: fmt.Sprintf("%s: digest scan shape %d/2: %s, %d groups", name, rep+1, c.what, n), Seconds: time.Since(t0).Seconds(), Load: loadAvg()}
			logf("deletes: %s: %.2fs (load %s)", step.What, step.Seconds, step.Load)
			out = append(out, step)
		}
	}
	return out, nil
}
