// This file turns the samples into the results table, checks the targets,
// and renders both as text (stdout) and Markdown (BENCHMARKS.md).

package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// caseStats summarises the samples of one case.
type caseStats struct {
	Case       *benchCase
	Rows       int64
	Best       float64 // seconds
	Median     float64 // seconds
	Worst      float64 // seconds
	RowsPerSec float64 // rows / best
	MBPerSec   float64 // text bytes of the table / best, 10^6 bytes; 0: not applicable
	PeakRSSMiB float64 // the highest peak RSS of the repetitions
	CPUMedian  float64 // median CPU seconds of the measured process
	VsA        float64 // rows/s ÷ rows/s of (a); 0: not applicable
	VsC        float64 // best time ÷ best time of (c); 0: not applicable
	OutBytes   int64   // JSONL bytes written (g)
	Partitions int64   // key ranges the Extractor read the table in (e)
	Mode, Key  string
}

func summarise(c *benchCase, tables map[string]tableInfo) *caseStats {
	st := &caseStats{Case: c}
	if len(c.Samples) == 0 {
		return st
	}
	secs := make([]float64, len(c.Samples))
	cpu := make([]float64, len(c.Samples))
	for i, s := range c.Samples {
		secs[i] = s.Seconds
		cpu[i] = s.CPUSeconds
		st.PeakRSSMiB = max(st.PeakRSSMiB, kibToMiB(s.MaxRSSKiB))
		st.OutBytes = max(st.OutBytes, s.OutBytes)
	}
	last := c.Samples[len(c.Samples)-1]
	st.Rows, st.Mode, st.Key, st.Partitions = last.Rows, last.Mode, last.Key, last.Partitions
	st.Best, st.Median, st.Worst = slices.Min(secs), median(secs), slices.Max(secs)
	st.CPUMedian = median(cpu)
	if st.Best > 0 {
		st.RowsPerSec = float64(st.Rows) / st.Best
		if !c.StateFrom {
			st.MBPerSec = float64(tables[c.Table].TextBytes) / st.Best / 1e6
		}
	}
	return st
}

// median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// target is one of the targets and whether it was met.
type target struct {
	Name   string
	Status string // "PASS", "MISS", or "N/A" when the case it needs was not run
	Detail string
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// report is everything BENCHMARKS.md says.
type report struct {
	Machine machine
	Tables  map[string]tableInfo
	Stats   []*caseStats
	Targets []target
	Opts    options
	Elapsed time.Duration
	Profile *profileResult
	Probe   *probeResult
	Rereads *rereadResult
	Notes   []string
	Blocks  string // the section of group "u" (Markdown), "" when it did not run
}

// probeResult is the probe of a first incremental sync of bench.wide_inc in
// one key range, stopped after probeDeadline.
type probeResult struct {
	Rows      int64
	Seconds   float64
	Stopped   bool
	Timeline  []int64 // rows read by the end of each second
	TableRows int64
}

// rate returns the rows per second read in seconds from+1 .. to of the
// timeline (1-based, inclusive), and false when the timeline is too short.
func rate(timeline []int64, from, to int) (float64, bool) {
	if from < 0 || to <= from || to > len(timeline) {
		return 0, false
	}
	var before int64
	if from > 0 {
		before = timeline[from-1]
	}
	return float64(timeline[to-1]-before) / float64(to-from), true
}

// degraded reports whether the probe read much slower at its end than at
// its start (a third of the rate, or less).
func (p *probeResult) degraded() bool {
	n := len(p.Timeline)
	if n < 10 {
		return false
	}
	first, _ := rate(p.Timeline, 0, 5)
	last, _ := rate(p.Timeline, n-5, n)
	return last < first/3
}

// summary says what the probe found, in one sentence.
func (p *probeResult) summary() string {
	var b strings.Builder
	if p.Stopped {
		fmt.Fprintf(&b, "stopped after %.0fs, having read %s of %s rows", p.Seconds, thousands(p.Rows), thousands(p.TableRows))
	} else {
		fmt.Fprintf(&b, "finished in %.1fs: %s rows, %s rows/s", p.Seconds, thousands(p.Rows), thousands(int64(p.Rows)*1000/max(int64(p.Seconds*1000), 1)))
	}
	n := len(p.Timeline)
	if first, ok := rate(p.Timeline, 0, min(5, n)); ok && n >= 10 {
		last, _ := rate(p.Timeline, n-5, n)
		fmt.Fprintf(&b, "; %s rows/s in its first 5 s, %s rows/s in its last 5 s", thousands(int64(first)), thousands(int64(last)))
	}
	return b.String()
}

func buildReport(m machine, tables map[string]tableInfo, cases []*benchCase, o options, elapsed time.Duration, prof *profileResult) *report {
	r := &report{Machine: m, Tables: tables, Opts: o, Elapsed: elapsed, Profile: prof}
	byID := map[string]*caseStats{}
	for _, c := range cases {
		st := summarise(c, tables)
		byID[c.ID] = st
		r.Stats = append(r.Stats, st)
	}
	a, c := byID["a"], byID["c"]
	for _, st := range r.Stats {
		if st.Case.StateFrom {
			continue
		}
		if a != nil && a.RowsPerSec > 0 {
			st.VsA = st.RowsPerSec / a.RowsPerSec
		}
		if c != nil && c.Best > 0 && st.Case.Table == c.Case.Table {
			st.VsC = st.Best / c.Best
		}
	}
	r.Targets = append(checkTargets(byID, cases, tables[tableWide].Rows), blockTargets(byID)...)
	r.Blocks = blockSection(byID)
	if prof != nil && prof.Top != "" {
		// The profile says what checkpoints cost without the noise of
		// comparing two timings.
		share := 0.0
		for _, l := range parsePprofTop(prof.Top) {
			if strings.HasPrefix(l.Func, "github.com/seed2085993a/redshiftsync.") && strings.HasSuffix(l.Func, ".checkpoint") {
				share = max(share, l.Cum)
			}
		}
		for i := range r.Targets {
			if r.Targets[i].Name == targetCheckpoint && r.Targets[i].Status != "N/A" {
				r.Targets[i].Detail += fmt.Sprintf("; checkpoints take %.1f%% of the CPU profile of (d)", share)
			}
		}
	}
	r.Notes = notes(byID)
	return r
}

// targetCheckpoint names the checkpoint target.
const targetCheckpoint = "checkpoint every 50,000 rows costs < 3%"

// notes reads the client CPU times, which interference from other work on
// the machine disturbs much less than wall time: what the Extractor's own
// work costs over bare lib/pq, and what reading in keyset pages costs.
func notes(byID map[string]*caseStats) []string {
	var out []string
	a, b, bp, d := byID["a"], byID["b"], byID["b-pages"], byID["d"]
	if a != nil && b != nil && d != nil && a.CPUMedian > 0 && b.CPUMedian > 0 {
		out = append(out, fmt.Sprintf("Client CPU (medians, less disturbed by other work than wall time): (d) %.1f s, (a) %.1f s, (b) %.1f s: "+
			"the Extractor spends %+.0f%% of (a)'s CPU and %+.0f%% of (b)'s on the same rows. "+
			"When the client's CPU is the bottleneck (it is on a machine whose cores the server shares), that is how much slower (d) runs.",
			d.CPUMedian, a.CPUMedian, b.CPUMedian, 100*(d.CPUMedian/a.CPUMedian-1), 100*(d.CPUMedian/b.CPUMedian-1)))
	}
	if b != nil && bp != nil && b.Best > 0 {
		out = append(out, fmt.Sprintf("Keyset pages: (b-pages) takes %.1f s against (b)'s %.1f s (best; %+.0f%%) for %.1f s of client CPU against %.1f s: "+
			"reading in pages of 10,000 (%d queries, each an index scan of the primary key under a LIMIT, no sort) costs the server and the round trips that much more than one sequential scan.",
			bp.Best, b.Best, 100*(bp.Best/b.Best-1), bp.CPUMedian, b.CPUMedian, (bp.Rows+pageRows-1)/pageRows))
	}
	return out
}

// checkTargets checks the targets. Throughput compares the best of
// the repetitions (on a shared machine, interference only ever slows a run);
// the median-based figure is given beside it.
func checkTargets(byID map[string]*caseStats, cases []*benchCase, wideRows int64) []target {
	var ts []target
	na := func(name string, need ...string) (target, bool) {
		for _, id := range need {
			if byID[id] == nil {
				return target{Name: name, Status: "N/A", Detail: "case (" + id + ") was not run"}, true
			}
		}
		return target{}, false
	}
	a, c, d := byID["a"], byID["c"], byID["d"]

	name := "(d) rows/s ≥ 1.0× (a)"
	if t, skip := na(name, "a", "d"); skip {
		ts = append(ts, t)
	} else {
		ratio := d.RowsPerSec / a.RowsPerSec
		ts = append(ts, target{name, pass(ratio >= 1.0), fmt.Sprintf("%.2f× (best %.2fs vs %.2fs; by median %.2f×)", ratio, d.Best, a.Best, a.Median/d.Median)})
	}

	var e *caseStats
	for _, bc := range cases {
		if st := byID[bc.ID]; st != nil && bc.Group == "e" && (e == nil || st.Best < e.Best) {
			e = st
		}
	}
	nameE1, nameE2 := "best of (e) rows/s ≥ 1.3× (a)", "best of (e) time ≤ 1.25× (c)"
	switch {
	case e == nil:
		ts = append(ts, target{nameE1, "N/A", "case (e) was not run"}, target{nameE2, "N/A", "case (e) was not run"})
	default:
		if a != nil {
			ratio := e.RowsPerSec / a.RowsPerSec
			ts = append(ts, target{nameE1, pass(ratio >= 1.3), fmt.Sprintf("(%s) %.2f× (best %.2fs vs %.2fs)", e.Case.ID, ratio, e.Best, a.Best)})
		} else {
			ts = append(ts, target{nameE1, "N/A", "case (a) was not run"})
		}
		if c != nil {
			ratio := e.Best / c.Best
			ts = append(ts, target{nameE2, pass(ratio <= 1.25), fmt.Sprintf("(%s) %.2f× the time of (c) (best %.2fs vs %.2fs)", e.Case.ID, ratio, e.Best, c.Best)})
		} else {
			ts = append(ts, target{nameE2, "N/A", "case (c) was not run"})
		}
	}

	name = "(d) peak RSS ≤ 64 MiB (batch_size 10,000)"
	if t, skip := na(name, "d"); skip {
		ts = append(ts, t)
	} else {
		ts = append(ts, target{name, pass(d.PeakRSSMiB <= 64), fmt.Sprintf("%.1f MiB (highest of the repetitions)", d.PeakRSSMiB)})
	}

	d1 := byID["d-1M"]
	name = "(d) peak RSS within 10% between the 1M- and " + shortCount(wideRows) + "-row tables"
	if t, skip := na(name, "d", "d-1M"); skip {
		ts = append(ts, t)
	} else {
		diff := (d.PeakRSSMiB - d1.PeakRSSMiB) / d1.PeakRSSMiB
		ts = append(ts, target{name, pass(math.Abs(diff) <= 0.10), fmt.Sprintf("%.1f MiB vs %.1f MiB (%+.1f%%)", d.PeakRSSMiB, d1.PeakRSSMiB, 100*diff)})
	}

	nc := byID["d-nockpt"]
	name = targetCheckpoint
	if t, skip := na(name, "d", "d-nockpt"); skip {
		ts = append(ts, t)
	} else {
		cost := d.Best/nc.Best - 1
		ts = append(ts, target{name, pass(cost < 0.03), fmt.Sprintf("%+.1f%% (best %.2fs vs %.2fs; by median %+.1f%%)", 100*cost, d.Best, nc.Best, 100*(d.Median/nc.Median-1))})
	}

	f := byID["f"]
	name = "(f) incremental sync finding nothing new < 1 s"
	if t, skip := na(name, "f"); skip {
		ts = append(ts, t)
	} else {
		ts = append(ts, target{name, pass(f.Worst < 1), fmt.Sprintf("slowest repetition %.3fs (best %.3fs, %d row(s) re-read at the bookmark)", f.Worst, f.Best, f.Rows)})
	}
	return ts
}

// columns of the results table.
var resultHeader = []string{"case", "what", "rows", "best s", "median s", "rows/s", "MB/s", "peak RSS MiB", "client CPU s", "rows/s ÷ (a)", "time ÷ (c)"}

func (r *report) rows() [][]string {
	var out [][]string
	for _, st := range r.Stats {
		mbps := "—"
		if st.MBPerSec > 0 {
			mbps = fmt.Sprintf("%.1f", st.MBPerSec)
		}
		what := st.Case.Title
		if st.Mode != "" {
			what += " [" + st.Mode
			if st.Key != "" {
				what += " by " + st.Key
			}
			if st.Partitions > 1 {
				what += fmt.Sprintf(", %d key ranges", st.Partitions)
			}
			what += "]"
		}
		if st.OutBytes > 0 {
			what += fmt.Sprintf(" (writes %s)", mb(st.OutBytes))
		}
		out = append(out, []string{
			"(" + st.Case.ID + ")",
			what + " — bench." + st.Case.Table,
			thousands(st.Rows),
			fmt.Sprintf("%.3f", st.Best),
			fmt.Sprintf("%.3f", st.Median),
			thousands(int64(math.Round(st.RowsPerSec))),
			mbps,
			fmt.Sprintf("%.1f", st.PeakRSSMiB),
			fmt.Sprintf("%.2f", st.CPUMedian),
			ratio(st.VsA),
			ratio(st.VsC),
		})
	}
	return out
}

func ratio(x float64) string {
	if x == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", x)
}

// text renders the results for the terminal.
func (r *report) text() string {
	var b strings.Builder
	rows := append([][]string{resultHeader}, r.rows()...)
	widths := make([]int, len(resultHeader))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for _, row := range rows {
		for i, cell := range row {
			pad := widths[i] - len([]rune(cell))
			if i >= 2 { // numbers: right-aligned
				b.WriteString(strings.Repeat(" ", pad) + cell)
			} else {
				b.WriteString(cell + strings.Repeat(" ", pad))
			}
			if i < len(row)-1 {
				b.WriteString("  ")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\ntargets:\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "  %-4s  %s: %s\n", t.Status, t.Name, t.Detail)
	}
	for _, n := range r.Notes {
		b.WriteString("\n" + n + "\n")
	}
	if r.Probe != nil {
		fmt.Fprintf(&b, "\nprobe, first incremental sync of bench.%s in one key range: %s\n", tableInc, r.Probe.summary())
	}
	if r.Profile != nil && r.Profile.Top != "" {
		b.WriteString("\nCPU profile of case (d), by kind of work (flat time):\n")
		for _, c := range categorise(r.Profile.Top) {
			fmt.Fprintf(&b, "  %5.1f%%  %s\n", c.Percent, c.Name)
		}
		b.WriteString("hot spots (cumulative, callees included; they overlap):\n")
		for _, c := range hot(r.Profile.Top) {
			fmt.Fprintf(&b, "  %5.1f%%  %s\n", c.Percent, c.Name)
		}
	}
	return b.String()
}

// markdown renders BENCHMARKS.md.
func (r *report) markdown() string {
	var b strings.Builder
	m := r.Machine
	wide := r.Tables[tableWide]
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `./scripts/bench` (`go run ./internal/cmd/bench`); do not edit by hand, run it again.\n\n")

	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", m.Date)
	fmt.Fprintf(&b, "- CPU: %s, %d cores (`runtime.NumCPU`)\n", m.CPUModel, m.Cores)
	fmt.Fprintf(&b, "- Memory: %s (`/proc/meminfo` MemTotal)\n", m.Memory)
	fmt.Fprintf(&b, "- PostgreSQL: %s\n", m.Postgres)
	fmt.Fprintf(&b, "- Server: %s (%s); on the same machine as the client when the host is local, so both share the cores\n", "`"+m.Server+"`", m.Settings)
	fmt.Fprintf(&b, "- Go: %s\n", m.Go)
	fmt.Fprintf(&b, "- Load average (1, 5, 15 min; other work on the machine): %s at the start, %s at the end\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "- Run: `-rows %d -reps %d`, %.0f s in all (loading included)\n\n", r.Opts.rows, r.Opts.reps, r.Elapsed.Seconds())

	b.WriteString("## Data\n\n")
	b.WriteString("| table | rows | row text (MB) | pg_table_size (MB) | read as |\n|---|--:|--:|--:|---|\n")
	for _, t := range []struct{ name, how string }{
		{tableWide, "full sync, keyset pages by primary key `id` (no replication key)"},
		{tableInc, "incremental sync by `updated_at` (NOT NULL, distinct per row, index on `(updated_at, id)`)"},
		{table1M, "full sync by `id`: the memory comparison"},
		{tableNoKey, "full sync in block order (no key, no index): cases (u)"},
		{tableNoKeyPart, "the same rows, partitioned (one partition): one streaming pass, cases (u)"},
	} {
		ti, ok := r.Tables[t.name]
		if !ok {
			continue
		}
		text := "—"
		if ti.TextBytes > 0 {
			text = fmt.Sprintf("%.1f", float64(ti.TextBytes)/1e6)
		}
		fmt.Fprintf(&b, "| bench.%s | %s | %s | %.1f | %s |\n", ti.Name, thousands(ti.Rows), text, float64(ti.TableBytes)/1e6, t.how)
	}
	b.WriteString("\nColumns: `id bigint` primary key, `i int`, `s varchar(32)`, `n numeric(18,4)`, `d double precision`, " +
		"`t varchar(256)` (~100 characters, 1% with non-ASCII, quote, tab and backslash), `b boolean`, `dt date`, " +
		"`ts timestamp`, `tstz timestamptz`; every nullable column holds some NULLs (1–2% each). " +
		"bench.wide_inc is bench.wide plus `updated_at timestamp NOT NULL`: a table of its own, rather than a column " +
		"added to bench.wide, so that bench.wide keeps no replication key and syncs in full, as a table without one does. " +
		"Tables are built with `generate_series`, then `VACUUM ANALYZE`d, and kept between runs while they hold the right rows.\n\n")
	fmt.Fprintf(&b, "MB/s counts the table's rows as text: `SELECT sum(octet_length(w::text)) FROM bench.wide w` "+
		"(%.1f MB for bench.wide, about the size of `COPY ... TO STDOUT`'s output), measured once at load, divided by the best time; 1 MB = 10^6 bytes.\n\n", float64(wide.TextBytes)/1e6)

	b.WriteString("## Results\n\n")
	b.WriteString("| " + strings.Join(resultHeader, " | ") + " |\n")
	b.WriteString("|---|---|" + strings.Repeat("--:|", len(resultHeader)-2) + "\n")
	for _, row := range r.rows() {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\nHow it is measured:\n\n")
	fmt.Fprintf(&b, "- Each case runs %s, the cases alternating (a, b, c, d, ..., then again), each run in a child process of its own "+
		"(the program re-executes itself), so that the peak RSS (`getrusage` `ru_maxrss` of the child, the highest of the repetitions) is that case's alone.\n", times(r.Opts.reps))
	b.WriteString("- Time is wall-clock from opening the connection to closing it, inside the child: (a) and (b) include `sql.Open` and the query; " +
		"the Extractor cases include `redshiftsync.New`, `Run` (catalog discovery included) and `Close`, and for (g) the JSONL sink's final flush and fsync. " +
		"(c) is the whole `psql` process (`psql -X -c \"COPY (SELECT * FROM bench.wide) TO STDOUT\" > /dev/null`).\n")
	b.WriteString("- rows/s uses the best time: on a shared machine interference only ever slows a run. \"client CPU s\" is the median user+system CPU time of the measured process (not the server's).\n")
	b.WriteString("- Extractor settings: `ConfigFromURL(dsn)`, Schema `bench`, IncludeTables the one table, BatchSize 10,000, MaxParallelWorkers 1, a fresh `MemoryStore` per run; " +
		"(d) checkpoints every 50,000 rows (CheckpointInterval left at its 1m default, which a run this short never reaches), (d-nockpt) sets CheckpointEveryRows to math.MaxInt and CheckpointInterval to the largest duration; " +
		"the discarding sink is `redshiftsync.SinkFuncs{WriteFunc: count rows}`.\n")
	b.WriteString("- (b-pages) is a diagnostic beside the targets: the driver-level loop of (b) over the keyset pages the Extractor reads bench.wide by " +
		"(`WHERE (id > $1::bigint) ORDER BY id LIMIT 10000`, one query per page), rows left as lib/pq returns them. " +
		"(b) → (b-pages) is the cost of reading in pages; (b-pages) → (d) is the Extractor's own work on the rows.\n")
	b.WriteString("- (f): one full sync of bench.wide_inc into a MemoryStore (not timed) before the repetitions, split into 64 key ranges (Partitions = the library's maximum, MaxParallelWorkers 1: " +
		"see \"A first incremental sync in one key range\" below); its state document is loaded into each (f) run's MemoryStore, and the second `Run` (Partitions 1) is timed. " +
		"It re-reads the row(s) at the bookmark (the sync starts at the bookmark inclusive) and nothing else.\n")
	b.WriteString("- (e) sets `Config.Partitions` to 2 or 4, `Config.PartitionThreshold` to 1 and MaxParallelWorkers to the partition count: " +
		"the table is split into key ranges of equal width on `id`, read concurrently. Every other Extractor case sets Partitions to 1 (off).\n")
	b.WriteString("\n## Targets\n\n| target | result | measured |\n|---|---|---|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| %s | **%s** | %s |\n", t.Name, t.Status, t.Detail)
	}

	if r.Blocks != "" {
		b.WriteString("\n" + r.Blocks)
	}

	if len(r.Notes) > 0 {
		b.WriteString("\n## Reading the numbers\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}

	if p := r.Probe; p != nil {
		b.WriteString("\n## A first incremental sync in one key range\n\n")
		fmt.Fprintf(&b, "Probe, run once: the Extractor with the settings of (f) (Partitions 1, MaxParallelWorkers 1) starts a first incremental sync of bench.wide_inc "+
			"(no saved state), and is stopped after %v. It %s.\n\n", probeDeadline, p.summary())
		if p.degraded() {
			b.WriteString("The rate falls as the sync advances. Each keyset page of an incremental sync asks for `updated_at <= $hw AND (updated_at > $k OR (updated_at = $k AND id > $id)) ORDER BY updated_at, id LIMIT n`. " +
				"PostgreSQL cannot start an index range at that OR, so the index scan on `(updated_at, id)` starts at the lowest key of the sync's range and filters out " +
				"every row already read: the page at row r costs O(r), a first sync O(rows²). A full sync by `id` (one column: `id > $1`) does not have this problem, " +
				"and neither does a later incremental sync whose range starts at its bookmark (`updated_at >= $bookmark`), nor one split into key ranges (`updated_at >= $lower`). " +
				"That is why (f) is prepared with Partitions at its maximum. A redundant `updated_at >= $k` beside the OR would let the index scan start at the page's position.\n")
		} else {
			b.WriteString("The rate holds as the sync advances: the pages of a first incremental sync cost the same wherever they fall.\n")
		}
	}

	if p := r.Rereads; p != nil {
		b.WriteString("\n## Rows re-read by a no-op incremental sync\n\n")
		fmt.Fprintf(&b, "Probe, run once, counting rows (not time): bench.%s holds %s rows whose `updated_at timestamp NOT NULL` keys are one millisecond apart, "+
			"as dense as bench.wide_inc's, but end at the server's clock when the table is built, as a table being written to does (index on `(updated_at, id)`). "+
			"The Extractor (Partitions 1, MaxParallelWorkers 1, one MemoryStore throughout) syncs it in full, then:\n\n", tableLive, thousands(liveRows))
		b.WriteString("| sync | rows read |\n|---|--:|\n")
		for _, st := range p.Steps {
			fmt.Fprintf(&b, "| %s | %s |\n", st.What, thousands(st.Rows))
		}
		b.WriteString("\nWhat the numbers are: a sync's own high-water mark becomes the bookmark only once the transactions in progress when it was read have ended " +
			"(`redshiftsync.Mark`), and a timestamp bookmark stays one second (`clockMargin`) below the server's time of that mark. " +
			"So a no-op sync re-reads the rows whose keys lie within the second before the previous sync began (at this density up to 1,000 rows of a table written continuously; " +
			"1, the tie group at the bookmark, when nothing changed in that second, as in (f)); " +
			"and a sync that begins while a transaction of the database is in progress (here a session idle in transaction) leaves the bookmark where it was, " +
			"so the next sync re-reads what that sync read. " +
			"Before the watermark (commit 1b8e2ec) the same probe read 100,000, 1, 10,000, 1, 1, 1, 10,001, 1, 1 rows: every no-op sync 1 row, " +
			"and rows committed late below the bookmark were lost (issue 10).\n")
	}

	if r.Profile != nil && r.Profile.Top != "" {
		b.WriteString("\n## Where the Extractor's time goes\n\n")
		fmt.Fprintf(&b, "CPU profile of one extra, untimed run of case (d) (%.2fs; `pprof.StartCPUProfile` in the child around New+Run+Close). "+
			"Flat time by kind of work (every function of the profile, grouped by package):\n\n", r.Profile.Seconds)
		b.WriteString("| share of client CPU | work |\n|--:|---|\n")
		for _, c := range categorise(r.Profile.Top) {
			fmt.Fprintf(&b, "| %.1f%% | %s |\n", c.Percent, c.Name)
		}
		b.WriteString("\nHot spots: cumulative share, callees included (so they overlap):\n\n| cum share | where |\n|--:|---|\n")
		for _, c := range hot(r.Profile.Top) {
			fmt.Fprintf(&b, "| %.1f%% | %s |\n", c.Percent, c.Name)
		}
		b.WriteString("\n`go tool pprof -top` (first lines):\n\n```\n")
		b.WriteString(headLines(r.Profile.Top, 32))
		b.WriteString("\n```\n")
	}

	b.WriteString("\n## How to reproduce\n\n```sh\n./scripts/bench                 # starts a throwaway PostgreSQL, loads the tables, runs everything, writes BENCHMARKS.md\n" +
		"./scripts/bench -rows 1000000   # a quicker run\n" +
		"go run ./internal/cmd/bench -dsn postgres://user@host:5432/db?sslmode=disable   # against your own server (creates schema bench)\n```\n\n" +
		"Flags: `-rows N` (default 5,000,000), `-reps N` (3), `-out FILE` (BENCHMARKS.md), `-cases a,b,d` (a subset), " +
		"`-cpuprofile FILE` (keep the profile of (d)), `-profile=false` (skip it), `-psql PATH`.\n")
	return b.String()
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return strconv.Itoa(n) + " times"
}

func headLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// category is a share of the profile's flat time.
type category struct {
	Name    string
	Percent float64
}

// categories, matched in order against each function's name.
var categories = []struct {
	name     string
	prefixes []string
}{
	{"lib/pq: wire protocol and parsing values from text", []string{"github.com/lib/pq"}},
	{"strconv, math and time: number and timestamp parsing and formatting", []string{"strconv.", "internal/strconv.", "math.", "time."}},
	{"redshiftsync: decoding values, paging, checkpoints", []string{"github.com/seed2085993a/redshiftsync"}},
	{"system calls (network reads)", []string{"syscall.", "internal/runtime/syscall", "internal/poll.", "runtime.netpoll", "net.", "os."}},
	{"database/sql", []string{"database/sql."}},
	{"bufio, bytes, strings, encoding", []string{"bufio.", "bytes.", "strings.", "encoding/", "unicode/", "indexbyte"}},
	{"Go runtime: allocation, garbage collection, copying, scheduling", []string{"runtime.", "internal/runtime/", "gcWriteBarrier", "memeqbody", "aeshashbody"}},
}

// hotSpots are the functions whose cumulative share (their callees
// included) says what dominates; the highest cum% of the matching functions
// is reported.
var hotSpots = []struct {
	label  string
	prefix string
	suffix string
}{
	{"lib/pq reading rows (`(*rows).Next`: protocol, parsing values from text, allocating them)", "github.com/lib/pq.", ".Next"},
	{"  of which lib/pq parsing values from text (`decode`)", "github.com/lib/pq.", "decode"},
	{"    of which timestamps and dates (`parseTS`)", "github.com/lib/pq.", "parseTS"},
	{"redshiftsync turning driver values into Go values (`decodeInto`)", "github.com/seed2085993a/redshiftsync.", ".decodeInto"},
	{"redshiftsync checkpoints (`checkpoint`)", "github.com/seed2085993a/redshiftsync.", ".checkpoint"},
	{"allocation (`runtime.mallocgc`, everywhere)", "runtime.mallocgc", ""},
	{"garbage collector's background marking (`gcBgMarkWorker`)", "runtime.gcBgMarkWorker", ""},
	{"system calls (`Syscall6`: network reads)", "internal/runtime/syscall", "Syscall6"},
}

// pprofLine is one function line of pprof -top.
type pprofLine struct {
	Flat, Cum float64 // percent
	Func      string
}

// parsePprofTop reads the function lines of a pprof -top listing.
func parsePprofTop(top string) []pprofLine {
	var out []pprofLine
	for _, l := range strings.Split(top, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || !strings.HasSuffix(f[4], "%") {
			continue
		}
		flat, err1 := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		cum, err2 := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		fn := strings.Join(f[5:], " ")
		fn = strings.TrimSuffix(fn, " (inline)")
		out = append(out, pprofLine{Flat: flat, Cum: cum, Func: fn})
	}
	return out
}

// hot returns the cumulative share of each hot spot found in the listing.
func hot(top string) []category {
	lines := parsePprofTop(top)
	var out []category
	for _, h := range hotSpots {
		best := -1.0
		for _, l := range lines {
			if strings.HasPrefix(l.Func, h.prefix) && strings.HasSuffix(l.Func, h.suffix) {
				best = max(best, l.Cum)
			}
		}
		if best >= 0 {
			out = append(out, category{h.label, best})
		}
	}
	return out
}

// categorise sums the flat% of each function of a pprof -top listing by
// category.
func categorise(top string) []category {
	sums := make([]float64, len(categories)+1)
	for _, l := range parsePprofTop(top) {
		i := len(categories) // other
		for j, c := range categories {
			if slices.ContainsFunc(c.prefixes, func(p string) bool { return strings.HasPrefix(l.Func, p) }) {
				i = j
				break
			}
		}
		sums[i] += l.Flat
	}
	var out []category
	for i, s := range sums {
		if s < 0.05 {
			continue
		}
		name := "other"
		if i < len(categories) {
			name = categories[i].name
		}
		out = append(out, category{name, s})
	}
	slices.SortStableFunc(out, func(a, b category) int {
		switch {
		case a.Percent > b.Percent:
			return -1
		case a.Percent < b.Percent:
			return 1
		}
		return 0
	})
	return out
}

// thousands formats n with commas: 5,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// shortCount formats a row count as 1M, 5M, 250k.
func shortCount(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	case n >= 1_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// mb formats bytes as MB (10^6).
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func kibToMiB(kib int64) float64 {
	if kib < 0 {
		return 0
	}
	return float64(kib) / 1024
}
