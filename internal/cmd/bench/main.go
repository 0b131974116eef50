// Command bench measures how fast redshiftsync copies a wide table out of
// PostgreSQL, next to bare lib/pq reads and the server's own COPY, and writes
// the results to BENCHMARKS.md.
//
//	go run ./internal/cmd/bench [-dsn URL] [-rows 5000000] [-reps 3] [-out BENCHMARKS.md]
//
// or, from a clean clone with no server at hand, ./scripts/bench, which starts
// a throwaway PostgreSQL first.
//
// It creates (once) the tables bench.wide (-rows rows, ten columns of common
// types, no replication key: the Extractor syncs it in full, paged by primary
// key), bench.wide_inc (the same rows plus an updated_at NOT NULL column and
// an index on (updated_at, id): the Extractor syncs it incrementally) and
// bench.wide_1m (1,000,000 rows, for the memory comparison). Each case then
// runs in a child process of its own (this program re-executed), so that the
// peak RSS read from the child's rusage belongs to that case alone; the cases
// alternate, each repeated -reps times.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
)

// envDSN is the variable that holds the server's URL (scripts/lib/pg.sh sets it).
const envDSN = "REDSHIFTSYNC_TEST_DSN"

// childFlag, as the first argument, runs one case in this process: see child.go.
const childFlag = "-bench-child"

// rows1M is the size of the table of the memory comparison.
const rows1M = 1_000_000

// probeDeadline bounds the probe of a first incremental sync in one range.
const probeDeadline = 30 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(childMain(os.Args[2:]))
	}
	if err := parentMain(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	dsn        string
	rows       int64
	reps       int
	out        string
	psql       string
	cpuprofile string
	profile    bool
	only       string
	widths     bool
}

func parentMain() error {
	var o options
	flag.StringVar(&o.dsn, "dsn", os.Getenv(envDSN), "PostgreSQL URL (postgres://user@host:port/db?sslmode=disable); default $"+envDSN)
	flag.Int64Var(&o.rows, "rows", 5_000_000, "rows of bench.wide and bench.wide_inc")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each case")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "Markdown report to write (\"\" for none)")
	flag.StringVar(&o.psql, "psql", "", "psql binary for case (c) (default: PATH, then /usr/lib/postgresql/*/bin)")
	flag.BoolVar(&o.profile, "profile", true, "after the measurements, profile one extra (untimed) run of case (d) and report its top functions")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "keep the CPU profile of case (d) in this file (implies -profile)")
	flag.StringVar(&o.only, "cases", "", "comma-separated case ids to run (default: all), e.g. a,b,d")
	flag.BoolVar(&o.widths, "widths", false, "run only the row-width probe (peak RSS of narrow, 64 KB, 1 MB and 16 MB rows, batch_bytes none vs default; widths.go), print its Markdown table and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./internal/cmd/bench [flags]\n\n"+
			"Benchmarks redshiftsync against bare lib/pq and psql's COPY and writes BENCHMARKS.md.\n"+
			"./scripts/bench runs it against a throwaway PostgreSQL.\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	switch {
	case o.dsn == "":
		return fmt.Errorf("no server: pass -dsn URL or set %s (or run ./scripts/bench, which starts one)", envDSN)
	case o.rows < 1:
		return errors.New("-rows must be at least 1")
	case o.reps < 1:
		return errors.New("-reps must be at least 1")
	}
	if o.cpuprofile != "" {
		o.profile = true
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	psql, err := findPsql(o.psql)
	if err != nil {
		return err
	}

	db, err := sql.Open("postgres", o.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", redactURL(o.dsn), err)
	}

	m := describeMachine(ctx, db)
	m.Server = redactURL(o.dsn)
	fmt.Printf("machine: %s, %d cores, %s RAM; %s; %s\n", m.CPUModel, m.Cores, m.Memory, m.Postgres, m.Go)

	if o.widths {
		tmp, err := os.MkdirTemp("", "redshiftsync-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fmt.Println("probe: peak RSS by row width...")
		rows, err := measureWidths(ctx, db, &runner{exe: exe, psql: psql, dsn: o.dsn, tmp: tmp}, o.reps)
		if err != nil {
			return err
		}
		fmt.Print(widthsMarkdown(rows))
		return nil
	}

	cases := allCases(o.rows)
	if o.only != "" {
		keep := map[string]bool{}
		for _, id := range strings.Split(o.only, ",") {
			keep[strings.TrimSpace(id)] = true
		}
		var sel []*benchCase
		for _, c := range cases {
			if keep[c.ID] || (c.Group != "" && keep[c.Group]) {
				sel = append(sel, c)
			}
		}
		if len(sel) == 0 {
			return fmt.Errorf("-cases %q selects no case", o.only)
		}
		cases = sel
	}

	need := map[string]bool{}
	for _, c := range cases {
		need[c.Table] = true
	}
	if need[tableInc] {
		need[tableWide] = true // bench.wide_inc is built from it
	}
	if need[tableNoKeyPart] {
		need[tableNoKey] = true
	}
	tables, err := ensureTables(ctx, db, o.rows, need)
	if err != nil {
		return err
	}
	for _, name := range []string{tableWide, tableInc, table1M, tableNoKey, tableNoKeyPart} {
		t, ok := tables[name]
		if !ok {
			continue
		}
		text := ""
		if t.TextBytes > 0 {
			text = ", " + mb(t.TextBytes) + " of row text"
		}
		fmt.Printf("table bench.%s: %s rows%s, pg_table_size %s\n", t.Name, thousands(t.Rows), text, mb(t.TableBytes))
	}

	tmp, err := os.MkdirTemp("", "redshiftsync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	r := &runner{exe: exe, psql: psql, dsn: o.dsn, tmp: tmp, tables: tables}

	// (f) starts from the state of a finished full sync of bench.wide_inc.
	// That sync is split into as many key ranges as the library allows: in
	// one range, a first incremental sync re-reads the index from the start
	// of the range for every page (see the probe below), which would take
	// the better part of an hour at 5M rows.
	var probe *probeResult
	if hasCase(cases, "f") {
		fmt.Printf("preparing (f): a full sync of bench.%s in %d key ranges (not timed)...\n", tableInc, redshiftsync.MaxParallelWorkersMax)
		t0 := time.Now()
		res, _, err := r.child(ctx, childArgs{Kind: kindExtract, Table: tableInc, Sink: "discard",
			Partitions: redshiftsync.MaxParallelWorkersMax, Workers: 1, SaveState: filepath.Join(tmp, "inc-state.json")})
		if err != nil {
			return fmt.Errorf("prepare (f): %w", err)
		}
		if res.Rows != tables[tableInc].Rows || res.Mode != "incremental" {
			return fmt.Errorf("prepare (f): the full sync of bench.%s delivered %d rows in mode %q; want %d rows, incremental", tableInc, res.Rows, res.Mode, tables[tableInc].Rows)
		}
		fmt.Printf("  done in %.1fs (replication key %s, %d key ranges)\n", time.Since(t0).Seconds(), res.Key, res.Partitions)

		fmt.Printf("probe: a first incremental sync of bench.%s in one key range, stopped after %v...\n", tableInc, probeDeadline)
		res, _, err = r.child(ctx, childArgs{Kind: kindExtract, Table: tableInc, Sink: "discard", Deadline: probeDeadline})
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		probe = &probeResult{Rows: res.Rows, Seconds: res.Seconds, Stopped: res.Stopped, Timeline: res.Timeline, TableRows: tables[tableInc].Rows}
		fmt.Println("  " + probe.summary())
	}

	var rereads *rereadResult
	if hasCase(cases, "f") {
		fmt.Printf("probe: rows re-read by no-op incremental syncs of bench.%s (%s rows, keys up to the server's clock)...\n", tableLive, thousands(liveRows))
		if rereads, err = measureRereads(ctx, db, o.dsn); err != nil {
			return fmt.Errorf("re-read probe: %w", err)
		}
		fmt.Println("  " + rereads.summary())
	}

	if err := warmUp(ctx, db, cases); err != nil {
		return err
	}

	for rep := 1; rep <= o.reps; rep++ {
		for _, c := range cases {
			s, err := r.run(ctx, c)
			if err != nil {
				return fmt.Errorf("case (%s), rep %d: %w", c.ID, rep, err)
			}
			c.Samples = append(c.Samples, s)
			fmt.Printf("rep %d/%d  %-11s %9d rows  %7.2fs  %10.0f rows/s  RSS %6.1f MiB  client CPU %6.2fs%s\n",
				rep, o.reps, "("+c.ID+")", s.Rows, s.Seconds, float64(s.Rows)/s.Seconds, kibToMiB(s.MaxRSSKiB), s.CPUSeconds, s.noteSuffix())
		}
	}

	var prof *profileResult
	if o.profile && hasCase(cases, "d") {
		prof, err = r.profile(ctx, o.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile of (d):", err)
			prof = nil
		}
	}

	m.LoadEnd = loadAvg()
	rep := buildReport(m, tables, cases, o, time.Since(start), prof)
	rep.Probe = probe
	rep.Rereads = rereads
	fmt.Println()
	fmt.Print(rep.text())
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(rep.markdown()), 0o644); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s (%.0fs in all)\n", o.out, time.Since(start).Seconds())
	}
	return nil
}

func hasCase(cases []*benchCase, id string) bool {
	for _, c := range cases {
		if c.ID == id {
			return true
		}
	}
	return false
}

// benchCase is one measured case and its samples.
type benchCase struct {
	ID    string // "a", "b", "b-pages", "c", "d", "d-nockpt", "e2", "e4", "f", "g", "d-1M"
	Group string // "e" for e2 and e4
	Title string
	Table string
	Kind  string // kindPQScan, kindPQDriver, kindPsql, kindExtract

	Sink         string // for kindExtract: "discard" or "jsonl"
	CkptRows     int    // 0: the library's default
	CkptInterval time.Duration
	Partitions   int
	StateFrom    bool // start from the state of a finished sync (f)
	Workers      int  // MaxParallelWorkers; 0: the child's default
	Blocks       bool // read in block ranges, or in the one pass they replace: not key ranges (u)
	FailHalf     bool // the sink fails half-way and a rerun finishes; rows are both runs' (u)

	Samples []sample
}

// allCases lists the cases in the order they alternate.
func allCases(rows int64) []*benchCase {
	noCkpt := time.Duration(math.MaxInt64)
	return append([]*benchCase{
		{ID: "a", Title: "lib/pq, database/sql Rows.Scan into []any", Table: tableWide, Kind: kindPQScan},
		{ID: "b", Title: "lib/pq, driver-level Rows.Next([]driver.Value)", Table: tableWide, Kind: kindPQDriver},
		{ID: "b-pages", Title: "diagnostic: (b) over keyset pages (WHERE id > $1 ORDER BY id LIMIT 10,000)", Table: tableWide, Kind: kindPQPages},
		{ID: "c", Title: "psql COPY (SELECT *) TO STDOUT > /dev/null", Table: tableWide, Kind: kindPsql},
		{ID: "d", Title: "Extractor, discard sink, checkpoint every 50,000 rows", Table: tableWide, Kind: kindExtract, Sink: "discard", CkptRows: 50_000},
		{ID: "d-nockpt", Title: "Extractor, discard sink, no checkpoints", Table: tableWide, Kind: kindExtract, Sink: "discard", CkptRows: math.MaxInt, CkptInterval: noCkpt},
		{ID: "e2", Group: "e", Title: "Extractor, discard sink, 2 intra-table partitions", Table: tableWide, Kind: kindExtract, Sink: "discard", CkptRows: 50_000, Partitions: 2},
		{ID: "e4", Group: "e", Title: "Extractor, discard sink, 4 intra-table partitions", Table: tableWide, Kind: kindExtract, Sink: "discard", CkptRows: 50_000, Partitions: 4},
		{ID: "f", Title: "Extractor, incremental sync that finds nothing new", Table: tableInc, Kind: kindExtract, Sink: "discard", StateFrom: true},
		{ID: "g", Title: "Extractor into jsonlsink (temp dir, deleted after)", Table: tableWide, Kind: kindExtract, Sink: "jsonl"},
		{ID: "d-1M", Title: fmt.Sprintf("case (d) on the %s-row table", thousands(rows1M)), Table: table1M, Kind: kindExtract, Sink: "discard", CkptRows: 50_000},
	}, blockCases()...)
}

// sample is one measurement of a case.
type sample struct {
	Rows       int64
	Seconds    float64
	MaxRSSKiB  int64
	CPUSeconds float64 // user + system CPU of the measured process
	Mode       string
	Key        string
	OutBytes   int64
	Partitions int64 // key ranges the Extractor split the table into; -1: unknown
}

func (s sample) noteSuffix() string {
	var b strings.Builder
	if s.Mode != "" {
		b.WriteString("  mode " + s.Mode)
	}
	if s.Partitions > 1 {
		fmt.Fprintf(&b, "  partitions %d", s.Partitions)
	}
	if s.OutBytes > 0 {
		b.WriteString("  output " + mb(s.OutBytes))
	}
	return b.String()
}

// runner starts the measured processes.
type runner struct {
	exe, psql, dsn, tmp string
	tables              map[string]tableInfo
}

func (r *runner) run(ctx context.Context, c *benchCase) (sample, error) {
	want := r.tables[c.Table].Rows
	if c.Kind == kindPsql {
		return r.runPsql(ctx, c.Table, want)
	}
	a := childArgs{Kind: c.Kind, Table: c.Table, Sink: c.Sink, CkptRows: c.CkptRows, CkptInterval: c.CkptInterval, Partitions: c.Partitions, Workers: c.Workers}
	if c.FailHalf {
		// Past half the table and 45,000 rows past a checkpoint (every
		// 50,000 by default): near the worst point for a crash.
		a.FailAt = want/2 + 45_000
	}
	if c.StateFrom {
		a.LoadState = filepath.Join(r.tmp, "inc-state.json")
	}
	if c.Sink == "jsonl" {
		a.OutDir = filepath.Join(r.tmp, "jsonl")
	}
	res, s, err := r.child(ctx, a)
	if err != nil {
		return s, err
	}
	if !c.StateFrom && !c.FailHalf && res.Rows != want || c.FailHalf && res.Rows < want {
		return s, fmt.Errorf("read %d rows of bench.%s, which has %d", res.Rows, c.Table, want)
	}
	if c.Blocks {
		return s, nil // block ranges are not key ranges: Partitions does not set them
	}
	if c.Partitions > 1 && res.Partitions >= 0 && res.Partitions <= 1 {
		return s, fmt.Errorf("asked for %d partitions, but the Extractor read bench.%s in %d", c.Partitions, c.Table, max(res.Partitions, 1))
	}
	if c.Partitions <= 1 && res.Partitions > 1 {
		return s, fmt.Errorf("partitions are off, but the Extractor split bench.%s into %d", c.Table, res.Partitions)
	}
	return s, nil
}

// child runs one case in a child process and returns what it reported, with
// the child's peak RSS and CPU time.
func (r *runner) child(ctx context.Context, a childArgs) (childResult, sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.exe, append([]string{childFlag}, a.args()...)...)
	// The URL (it may hold a password) goes through the environment, not argv.
	cmd.Env = append(os.Environ(), envDSN+"="+r.dsn)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var s sample
	if cmd.ProcessState != nil {
		s.MaxRSSKiB = maxRSSKiB(cmd.ProcessState)
		s.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err != nil {
		return childResult{}, s, fmt.Errorf("child %s on bench.%s: %w", a.Kind, a.Table, err)
	}
	var res childResult
	if err := json.Unmarshal([]byte(lastLine(out.String())), &res); err != nil {
		return childResult{}, s, fmt.Errorf("child %s: unreadable result %q: %w", a.Kind, out.String(), err)
	}
	s.Rows, s.Seconds, s.Mode, s.Key, s.OutBytes, s.Partitions = res.Rows, res.Seconds, res.Mode, res.Key, res.OutBytes, res.Partitions
	return res, s, nil
}

// runPsql times psql copying the table out as COPY text into /dev/null: the
// server's own limit, with no Go client in the way.
func (r *runner) runPsql(ctx context.Context, table string, rows int64) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	dsn, password := splitPassword(r.dsn)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return sample{}, err
	}
	defer devnull.Close()
	cmd := exec.CommandContext(ctx, r.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn,
		"-c", "COPY (SELECT * FROM bench."+table+") TO STDOUT")
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	cmd.Stdout = devnull
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	err = cmd.Run()
	secs := time.Since(t0).Seconds()
	if err != nil {
		return sample{}, fmt.Errorf("psql COPY: %w", err)
	}
	return sample{
		Rows:       rows,
		Seconds:    secs,
		MaxRSSKiB:  maxRSSKiB(cmd.ProcessState),
		CPUSeconds: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(),
	}, nil
}

// profileResult is the CPU profile of one run of case (d).
type profileResult struct {
	Seconds float64
	Top     string // go tool pprof -top, trimmed
	Path    string // where the profile was kept ("" when deleted)
}

// profile runs case (d) once more, with a CPU profile, and summarises it
// with go tool pprof -top.
func (r *runner) profile(ctx context.Context, keep string) (*profileResult, error) {
	path := keep
	if path == "" {
		path = filepath.Join(r.tmp, "d.pprof")
	} else if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fmt.Println("profiling one more (untimed) run of case (d)...")
	res, _, err := r.child(ctx, childArgs{Kind: kindExtract, Table: tableWide, Sink: "discard", CkptRows: 50_000, CPUProfile: path})
	if err != nil {
		return nil, err
	}
	p := &profileResult{Seconds: res.Seconds}
	if keep != "" {
		p.Path = keep
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out, err := exec.CommandContext(ctx, goBin, "tool", "pprof", "-top", "-nodefraction=0", "-edgefraction=0", path).Output()
	if err != nil {
		return p, fmt.Errorf("go tool pprof: %w", err)
	}
	p.Top = trimPprof(string(out))
	return p, nil
}

// trimPprof drops the header lines of pprof -top that name files and builds.
func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// warmUp reads every table the cases use once, untimed, so that the first
// case of the first repetition does not pay for a cold page cache.
func warmUp(ctx context.Context, db *sql.DB, cases []*benchCase) error {
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Table] {
			continue
		}
		seen[c.Table] = true
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT octet_length(t) FROM bench.`+c.Table+`) x`).Scan(&n); err != nil {
			return fmt.Errorf("warm up bench.%s: %w", c.Table, err)
		}
	}
	return nil
}

// findPsql returns the psql binary to use.
func findPsql(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	if len(matches) > 0 {
		return matches[0], nil
	}
	return "", errors.New("psql not found (case (c) needs it): install postgresql-client or pass -psql")
}

func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// splitPassword returns the URL without its password, and the password.
func splitPassword(dsn string) (string, string) {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn, ""
	}
	pw, ok := u.User.Password()
	if !ok {
		return dsn, ""
	}
	u.User = url.User(u.User.Username())
	return u.String(), pw
}

// redactURL returns the URL with its password replaced, for display.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
