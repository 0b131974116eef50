// This file turns the samples into Markdown tables of numbers. It writes no
// prose (BENCHMARKS.md's is written by a person from these tables): only
// headings, the labels of what ran, and for each target a "met" computed
// from the number beside it.

package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is everything the program measured.
type report struct {
	Machine  machine
	Opts     options
	Tables   map[string]int64 // pg_table_size of each table used
	Cases    []*benchCase
	FirstInc *result // the probe of a first incremental sync, nil when not run
	Rereads  []step
	Deletes  []deleteStep
	Profiles []*profSummary
	Elapsed  time.Duration
}

// stats summarises the samples of a case: times in seconds; RSS the highest
// of the repetitions; CPU the median; -1 for unknown.
type stats struct {
	Rows                      int64 // of the last repetition
	Median, Best, Worst       float64
	RSS, CPU                  float64
	Server                    float64 // median of the server's CPU seconds; -1: unknown
	Out                       int64
	Ranges                    int
	RowsEach                  []int64 // of each repetition
	Seconds                   []float64
	MedianRowsPS, BestRowsPS  float64
	RefMedianRatio, RefBestRT float64 // time ÷ the reference case's; 0 when none
	Write, Flush, Else        float64 // medians of the JSONL sink's timed calls, and of the rest of the wall time
	// Medians of the Go heap's counts over the timed part; 0 when the
	// process is not this program's child (psql, examples/basic).
	Mallocs, AllocBytes, NumGC float64
}

func (r *report) stats() map[string]*stats {
	out := map[string]*stats{}
	for _, c := range r.Cases {
		if len(c.Samples) == 0 {
			continue
		}
		st := &stats{RSS: -1}
		var cpu, server, write, flush, rest, mallocs, allocBytes, gcs []float64
		for _, s := range c.Samples {
			server = append(server, s.Server)
			mallocs, allocBytes, gcs = append(mallocs, float64(s.Mallocs)), append(allocBytes, float64(s.AllocBytes)), append(gcs, float64(s.NumGC))
			write, flush, rest = append(write, s.WriteSecs), append(flush, s.FlushSecs), append(rest, s.Seconds-s.WriteSecs-s.FlushSecs)
			st.Seconds = append(st.Seconds, s.Seconds)
			st.RowsEach = append(st.RowsEach, s.Rows)
			st.RSS = max(st.RSS, s.RSSMiB)
			cpu = append(cpu, s.CPU)
			st.Out = max(st.Out, s.OutBytes)
			st.Rows, st.Ranges = s.Rows, s.Ranges
		}
		st.Median, st.Best, st.Worst, st.CPU = median(st.Seconds), slices.Min(st.Seconds), slices.Max(st.Seconds), median(cpu)
		st.Write, st.Flush, st.Else = median(write), median(flush), median(rest)
		st.Server = median(server)
		st.Mallocs, st.AllocBytes, st.NumGC = median(mallocs), median(allocBytes), median(gcs)
		st.MedianRowsPS, st.BestRowsPS = float64(st.Rows)/st.Median, float64(st.Rows)/st.Best
		out[c.ID] = st
	}
	for _, c := range r.Cases {
		if st, ref := out[c.ID], out[c.Ref]; st != nil && ref != nil {
			st.RefMedianRatio, st.RefBestRT = st.Median/ref.Median, st.Best/ref.Best
		}
	}
	return out
}

// pairedRatios lists a[i] ÷ b[i] for the repetitions both have: the cases
// of one repetition run back to back, so these ratios are less moved by the
// machine's slow phases than the ratio of two medians.
func pairedRatios(a, b []float64) string {
	var rs []string
	for i := range min(len(a), len(b)) {
		rs = append(rs, fmt.Sprintf("%.2f", a[i]/b[i]))
	}
	return strings.Join(rs, ", ")
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// target is a number computed from the cases, with the target it is held
// to ("" for none).
type target struct {
	What, Value, Target, Met string
}

// targets computes the ratios BENCHMARKS.md and issue 15 state targets for,
// from the cases that ran.
func (r *report) targets(st map[string]*stats) []target {
	var ts []target
	add := func(what string, v float64, format, goal string, ok func(float64) bool) {
		t := target{What: what, Value: fmt.Sprintf(format, v), Target: goal, Met: "—"}
		if ok != nil {
			t.Met = map[bool]string{true: "yes", false: "no"}[ok(v)]
		}
		ts = append(ts, t)
	}
	le := func(lim float64) func(float64) bool { return func(v float64) bool { return v <= lim } }
	ge := func(lim float64) func(float64) bool { return func(v float64) bool { return v >= lim } }
	timeRatio := func(a, b, goal string, ok func(float64) bool) {
		if st[a] != nil && st[b] != nil {
			add(fmt.Sprintf("time %s ÷ %s, median (best: %.2f×; repetition by repetition: %s)", a, b, st[a].Best/st[b].Best, pairedRatios(st[a].Seconds, st[b].Seconds)),
				st[a].Median/st[b].Median, "%.2f×", goal, ok)
		}
	}
	timeRatio("lib", "copy-null", "≤ 1.10×", le(1.10))
	timeRatio("jsonl", "copy-null", "", nil)
	timeRatio("jsonl", "copy-file", "", nil)
	timeRatio("basic", "copy-file", "≤ 1.60×", le(1.60))
	timeRatio("basic", "basic-ckpt-end", "", nil)
	for _, c := range []string{"basic", "lib"} {
		if s := st[c]; s != nil {
			add("peak RSS of "+c, s.RSS, "%.1f MiB", "≤ 64 MiB", le(64))
		}
		if s, s1 := st[c], st[c+"-1m"]; s != nil && s1 != nil {
			add(fmt.Sprintf("peak RSS of %s ÷ %s-1m (%s ÷ %s rows)", c, c, thousands(s.Rows), thousands(s1.Rows)), s.RSS/s1.RSS, "%.2f×", "0.90–1.10×",
				func(v float64) bool { return v >= 0.9 && v <= 1.1 })
		}
	}
	if l, n := st["lib"], st["lib-nockpt"]; l != nil && n != nil {
		add(fmt.Sprintf("checkpoint cost: time lib ÷ lib-nockpt − 1, median (best: %+.1f%%)", 100*(l.Best/n.Best-1)), 100*(l.Median/n.Median-1), "%+.1f%%", "< 3%",
			func(v float64) bool { return v < 3 })
	}
	if l, a := st["lib"], st["pq-scan"]; l != nil && a != nil {
		add("rows/s lib ÷ pq-scan, median", l.MedianRowsPS/a.MedianRowsPS, "%.2f×", "≥ 1.00×", ge(1))
	}
	if p := bestOf(st, "lib-p2", "lib-p4"); p != "" {
		timeRatio(p, "copy-null", "≤ 1.25×", le(1.25))
		if a := st["pq-scan"]; a != nil {
			add("rows/s "+p+" ÷ pq-scan, median", st[p].MedianRowsPS/a.MedianRowsPS, "%.2f×", "≥ 1.30×", ge(1.3))
		}
	}
	if s := st["noop"]; s != nil {
		add(fmt.Sprintf("noop: slowest repetition (rows read: %s)", thousands(s.Rows)), s.Worst, "%.3f s", "< 1 s", func(v float64) bool { return v < 1 })
	}
	if f := r.FirstInc; f != nil {
		first, last := firstLast(f.Timeline)
		add(fmt.Sprintf("first incremental sync: rows/s in its last 5 s ÷ its first 5 s (%s ÷ %s)", thousands(int64(last)), thousands(int64(first))),
			last/first, "%.2f", "≥ 0.80", ge(0.8))
	}
	var wmax float64
	for _, w := range widths {
		if s := st[w.Table]; s != nil {
			wmax = max(wmax, s.RSS)
		}
	}
	if wmax > 0 {
		add("widths, batch_bytes default: highest peak RSS", wmax, "%.1f MiB", "≤ 256 MiB", le(256))
	}
	if b, p := st["blk-order"], st["blk-pass"]; b != nil && p != nil {
		add(fmt.Sprintf("rows/s blk-order ÷ blk-pass, median (best: %.2f×)", b.BestRowsPS/p.BestRowsPS), b.MedianRowsPS/p.MedianRowsPS, "%.2f×", "≥ 1.00×", ge(1))
	}
	for _, id := range []string{"blk-order-crash", "blk-pass-crash"} {
		if s := st[id]; s != nil {
			var each []string
			worst := 0.0
			for _, n := range s.RowsEach {
				f := float64(n) / float64(r.tableRows("nokey"))
				each = append(each, fmt.Sprintf("%.3f", f))
				worst = max(worst, f)
			}
			goal, ok := "", (func(float64) bool)(nil)
			if id == "blk-order-crash" {
				goal, ok = "≤ 1.05×", le(1.05)
			}
			add(id+": rows delivered ÷ the table's, worst (each: "+strings.Join(each, ", ")+")", worst, "%.3f×", goal, ok)
		}
	}
	return ts
}

// tableRows is the rows of a table of this run's size.
func (r *report) tableRows(name string) int64 { return tables(r.Opts.rows)[name].Rows }

// bestOf returns the case of ids with the lowest median time, "" if none ran.
func bestOf(st map[string]*stats, ids ...string) string {
	best := ""
	for _, id := range ids {
		if st[id] != nil && (best == "" || st[id].Median < st[best].Median) {
			best = id
		}
	}
	return best
}

// rowsAt returns the last point of tl at or before t (the origin before the
// first).
func rowsAt(tl []point, t float64) point {
	p := point{}
	for _, q := range tl {
		if q.T > t+1e-9 {
			break
		}
		p = q
	}
	return p
}

// rate is the rows per second between the points at or before t0 and t1.
func rate(tl []point, t0, t1 float64) float64 {
	a, b := rowsAt(tl, t0), rowsAt(tl, t1)
	if b.T <= a.T {
		return 0
	}
	return float64(b.Rows-a.Rows) / (b.T - a.T)
}

// firstLast are the rates of the first and the last 5 s of a timeline.
func firstLast(tl []point) (first, last float64) {
	if len(tl) == 0 {
		return 0, 0
	}
	end := tl[len(tl)-1].T
	return rate(tl, 0, min(5, end)), rate(tl, max(0, end-5), end)
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	m, st := r.Machine, r.stats()
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	head := func(left int, cells ...string) { // the first left columns are text, the others numbers
		row(cells...)
		b.WriteString("|" + strings.Repeat("---|", left) + strings.Repeat("--:|", len(cells)-left) + "\n")
	}
	fmt.Fprintf(&b, "## Run\n\n- %s; %s, %d cores; %s RAM; Go %s\n- %s (%s), at %s\n- load average (1, 5, 15 min): %s at the start, %s at the end\n- `-rows %d -reps %d -cases %s`: %.0f s in all\n\n",
		m.Date, m.CPU, m.Cores, m.Memory, m.Go, m.Postgres, m.Settings, "`"+m.Server+"`", m.LoadStart, m.LoadEnd, r.Opts.rows, r.Opts.reps, r.Opts.cases, r.Elapsed.Seconds())

	b.WriteString("## Tables\n\n")
	head(1, "table", "rows", "pg_table_size MB")
	for _, name := range slices.Sorted(maps.Keys(r.Tables)) {
		row("bench."+name, thousands(tables(r.Opts.rows)[name].Rows), fmt.Sprintf("%.1f", float64(r.Tables[name])/1e6))
	}

	b.WriteString("\n## Cases\n\nMedian and best of the repetitions; rows/s by the median; peak RSS the highest, client CPU the median, of the measured process (— for the server's own COPY); output in MB (10^6 bytes).\n\n")
	head(3, "case", "what", "table", "rows", "median s", "best s", "rows/s", "peak RSS MiB", "client CPU s", "output MB", "time ÷", "median", "best")
	for _, c := range r.Cases {
		s := st[c.ID]
		if s == nil {
			continue
		}
		what := c.What
		if s.Ranges > 1 {
			what += fmt.Sprintf(" (%d key ranges)", s.Ranges)
		}
		ref, rm, rb := "", "", ""
		if s.RefMedianRatio > 0 {
			ref, rm, rb = c.Ref, fmt.Sprintf("%.2f×", s.RefMedianRatio), fmt.Sprintf("%.2f×", s.RefBestRT)
		}
		row(c.ID, what, "bench."+c.Table, thousands(s.Rows), fmt.Sprintf("%.3f", s.Median), fmt.Sprintf("%.3f", s.Best),
			thousands(int64(s.MedianRowsPS)), known(s.RSS, "%.1f"), known(s.CPU, "%.2f"), known(float64(s.Out)/1e6, "%.1f"), ref, rm, rb)
	}

	b.WriteString("\n## Client CPU and allocations per row (medians)\n\nLess moved by the machine's load than wall time: client CPU per million rows, and its ratio to the reference case's; the Go heap's allocations (runtime.MemStats) of this program's children.\n\n")
	head(3, "case", "rows", "client CPU s per 1M rows", "CPU ÷", "ratio", "allocations per row", "bytes allocated per row", "GCs", "server CPU s per 1M rows")
	for _, c := range r.Cases {
		s := st[c.ID]
		if s == nil || s.CPU < 0 || s.Rows == 0 {
			continue
		}
		perM := s.CPU / float64(s.Rows) * 1e6
		ref, ratio := "", ""
		if rs := st[c.Ref]; rs != nil && rs.CPU > 0 && rs.Rows > 0 {
			ref, ratio = c.Ref, fmt.Sprintf("%.2f×", perM/(rs.CPU/float64(rs.Rows)*1e6))
		}
		allocs, bytes, gcs := "—", "—", "—"
		if s.Mallocs > 0 {
			allocs, bytes, gcs = fmt.Sprintf("%.2f", s.Mallocs/float64(s.Rows)), fmt.Sprintf("%.0f", s.AllocBytes/float64(s.Rows)), fmt.Sprintf("%.0f", s.NumGC)
		}
		srv := "—"
		if s.Server >= 0 {
			srv = fmt.Sprintf("%.3f", s.Server/float64(s.Rows)*1e6)
		}
		row(c.ID, thousands(s.Rows), fmt.Sprintf("%.3f", perM), ref, ratio, allocs, bytes, gcs, srv)
	}

	first := true
	for _, c := range r.Cases {
		if s := st[c.ID]; s != nil && s.Write > 0 {
			if first {
				b.WriteString("\n## Where a JSONL sync's wall time goes (medians)\n\n")
				head(1, "case", "wall s", "in sink Write s", "in sink Flush and Close s", "elsewhere s", "client CPU s")
				first = false
			}
			row(c.ID, fmt.Sprintf("%.2f", s.Median), fmt.Sprintf("%.2f", s.Write), fmt.Sprintf("%.2f", s.Flush), fmt.Sprintf("%.2f", s.Else), fmt.Sprintf("%.2f", s.CPU))
		}
	}

	if ts := r.targets(st); len(ts) > 0 {
		b.WriteString("\n## Ratios and targets\n\n")
		head(4, "quantity", "value", "target", "met")
		for _, t := range ts {
			row(t.What, t.Value, t.Target, t.Met)
		}
	}

	if f := r.FirstInc; f != nil {
		fmt.Fprintf(&b, "\n## First incremental sync of bench.wide_inc, one key range\n\n%s rows in %.1f s (%s); rows/s in 5-second windows:\n\n",
			thousands(f.Rows), f.Seconds, map[bool]string{true: "stopped by the deadline", false: "finished"}[f.Stopped])
		head(0, "from s", "to s", "rows/s")
		end := f.Timeline[len(f.Timeline)-1].T
		for t := 0.0; t < end; t += 5 {
			row(fmt.Sprintf("%.0f", t), fmt.Sprintf("%.1f", min(t+5, end)), thousands(int64(rate(f.Timeline, t, min(t+5, end)))))
		}
	}

	if len(r.Rereads) > 0 {
		b.WriteString("\n## Rows read by each sync of bench.live, in order\n\n")
		head(1, "sync", "rows read")
		for _, s := range r.Rereads {
			row(s.What, thousands(s.Rows))
		}
	}

	r.unloadMarkdown(&b, st) // unload.go

	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "\n## CPU profile of %s: %.2f s sampled, `go tool pprof %s`\n\n", p.Case, p.Seconds, p.Path)
		head(1, "package", "flat %", "cum %")
		for _, s := range p.Packages[:min(12, len(p.Packages))] {
			row("`"+s.Name+"`", fmt.Sprintf("%.1f", s.Flat), fmt.Sprintf("%.1f", s.Cum))
		}
		b.WriteString("\n")
		head(1, "function", "flat %", "cum %")
		for _, s := range p.Funcs[:min(15, len(p.Funcs))] {
			row("`"+s.Name+"`", fmt.Sprintf("%.1f", s.Flat), fmt.Sprintf("%.1f", s.Cum))
		}
	}
	return b.String()
}

// known formats v, or "—" when it is unknown (negative).
func known(v float64, format string) string {
	if v <= 0 {
		return "—"
	}
	return fmt.Sprintf(format, v)
}

// thousands formats n with commas: 5,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
