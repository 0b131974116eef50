// This file holds the delete-detection probe (-cases deletes): on a table
// of -rows keys it times a full sync, the first detection (a full
// comparison), a detection when nothing was deleted (digest rows only),
// one after 100 scattered deletes (the keys it reads), and beside them a
// full key-set comparison (every source key streamed to the client and
// compared with the sink's).

package main

import (
	"context"
	"database/sql"
	"fmt"
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
	Rows    int64 // rows synced, or keys the full comparison read
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

// measureDeletes builds bench.del with rows keys and runs the probe.
func measureDeletes(ctx context.Context, db *sql.DB, dsn string, rows int64) ([]deleteStep, error) {
	q := schema + ".del"
	r := strings.NewReplacer("{t}", q, "{n}", fmt.Sprint(rows))
	if err := execAll(ctx, db, r,
		`CREATE SCHEMA IF NOT EXISTS `+schema,
		`DROP TABLE IF EXISTS {t}`,
		`CREATE TABLE {t} (id bigint PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL)`,
		`INSERT INTO {t} SELECT g, g % 1000, timestamp '2024-01-01' + g * interval '1 millisecond' FROM generate_series(1, {n}) g`,
		`CREATE INDEX ON {t} (updated_at, id)`,
		`VACUUM ANALYZE {t}`,
	); err != nil {
		return nil, err
	}
	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Schema, cfg.IncludeTables, cfg.BatchSize = schema, []string{"del"}, pageRows
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
		st := deleteStep{What: what, Seconds: time.Since(t0).Seconds(), Rows: sink.rows - before}
		if len(rep.Tables) == 1 {
			st.Stats = rep.Tables[0].Deletes
		}
		steps = append(steps, st)
		logf("deletes: %s: %.1fs, %d rows, %+v", what, st.Seconds, st.Rows, st.Stats)
		return nil
	}
	if err := sync("full sync (detection off)", false); err != nil {
		return nil, err
	}
	if err := sync("first detection: a full comparison (and an incremental sync)", true); err != nil {
		return nil, err
	}
	if err := sync("detection, nothing deleted (and an incremental sync)", true); err != nil {
		return nil, err
	}
	if st := steps[len(steps)-1].Stats; st != nil && st.Ranges > 1 {
		shapes, err := digestShapes(ctx, db, r, rows, st.Ranges)
		if err != nil {
			return nil, err
		}
		steps = append(steps, shapes...)
	}
	if _, err := db.ExecContext(ctx, r.Replace(`DELETE FROM {t} WHERE id % ({n} / 100) = 7`)); err != nil {
		return nil, err
	}
	// The alternative to one scan: a query per range (as many ranges as
	// the library cut, of equal width), each digesting its range.
	if st := steps[len(steps)-1].Stats; st != nil && st.Ranges > 0 {
		t0 := time.Now()
		width := rows/int64(st.Ranges) + 1
		for i := int64(0); i < int64(st.Ranges); i++ {
			var n int64
			var sum sql.NullString
			if err := db.QueryRowContext(ctx, r.Replace(`SELECT count(*), sum(hashtextextended(CAST(id AS TEXT) COLLATE "C", 0)) FROM {t} WHERE id >= $1 AND id < $2`), i*width, (i+1)*width).Scan(&n, &sum); err != nil {
				return nil, err
			}
		}
		steps = append(steps, deleteStep{What: fmt.Sprintf("digests by a query per range (%d queries), against the one scan's %.2fs", st.Ranges, st.DigestScan.Seconds()), Seconds: time.Since(t0).Seconds()})
		logf("deletes: %s: %.2fs", steps[len(steps)-1].What, time.Since(t0).Seconds())
	}
	// The full key-set comparison: every source key to the client, in key
	// order, merged with the sink's.
	t0 := time.Now()
	rs, err := db.QueryContext(ctx, r.Replace(`SELECT id FROM {t} ORDER BY id`))
	if err != nil {
		return nil, err
	}
	var n, missing int64
	next := int64(1)
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return nil, err
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
		return nil, err
	}
	steps = append(steps, deleteStep{What: fmt.Sprintf("full key-set comparison (%d keys the sink holds and the source lacks)", missing), Seconds: time.Since(t0).Seconds(), Rows: n})
	logf("deletes: full key-set comparison: %.1fs, %d keys", time.Since(t0).Seconds(), n)
	if err := sync("detection, 100 scattered deletes (and an incremental sync)", true); err != nil {
		return nil, err
	}
	return steps, nil
}

// digestShapes times, side by side on one connection (JIT off, as the
// library runs them), the digest query's shapes over ranges equal-width
// ranges of ids 1..rows: the CASE tree the library ran before with the
// planner's default plan (a sort of every row), the CASE tree hash-
// aggregated (enable_sort off: what composite keys run), and width_bucket
// hash-aggregated (what single-column keys run).
func digestShapes(ctx context.Context, db *sql.DB, r *strings.Replacer, rows int64, ranges int) ([]deleteStep, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	bounds := make([]string, ranges-1)
	for i := range bounds {
		bounds[i] = fmt.Sprint(int64(i+1) * rows / int64(ranges))
	}
	var tree func(lo, hi int) string
	tree = func(lo, hi int) string {
		if lo == hi {
			return fmt.Sprint(lo)
		}
		mid := (lo + hi + 1) / 2
		return "CASE WHEN s.id < " + bounds[mid-1] + "::bigint THEN " + tree(lo, mid-1) + " ELSE " + tree(mid, hi) + " END"
	}
	const hash = `sum(hashtextextended(CAST(s.id AS TEXT) COLLATE "C", 0))`
	caseQ := "SELECT " + tree(0, len(bounds)) + " AS g, count(*), " + hash + " FROM {t} s GROUP BY 1"
	bucketQ := "SELECT width_bucket(s.id, ARRAY[" + strings.Join(bounds, ", ") + "]::bigint[]) AS g, count(*), " + hash + " FROM {t} s GROUP BY 1"
	var out []deleteStep
	for _, c := range []struct{ what, sort, q string }{
		{"CASE tree, default plan (before)", "on", caseQ},
		{"CASE tree, enable_sort off (composite keys, after)", "off", caseQ},
		{"width_bucket, enable_sort off (single-column keys, after)", "off", bucketQ},
	} {
		if _, err := conn.ExecContext(ctx, "SELECT set_config('jit', 'off', false), set_config('enable_sort', $1, false)", c.sort); err != nil {
			return nil, err
		}
		t0 := time.Now()
		rs, err := conn.QueryContext(ctx, r.Replace(c.q))
		if err != nil {
			return nil, err
		}
		n := 0
		for rs.Next() {
			n++
		}
		if err := rs.Err(); err != nil {
			return nil, err
		}
		rs.Close()
		step := deleteStep{What: fmt.Sprintf("digest scan shape: %s, %d groups", c.what, n), Seconds: time.Since(t0).Seconds()}
		logf("deletes: %s: %.2fs", step.What, step.Seconds)
		out = append(out, step)
	}
	return out, nil
}
