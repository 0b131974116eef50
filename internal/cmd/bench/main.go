// Command bench measures redshiftsync's row path side by side with the
// server's own COPY, in one run, and prints the numbers as Markdown tables:
// times, rows per second, peak RSS, client CPU and the ratios between cases,
// the targets of issue 15 beside them, a first incremental sync's rate over
// time, the rows a no-op incremental sync re-reads, and CPU profiles (files
// go tool pprof reads, summed by package). It writes no prose: BENCHMARKS.md
// is written by a person from these tables.
//
//	go run ./internal/cmd/bench [-dsn URL] [-rows 5000000] [-reps 3] [-cases copy,lib] [-out FILE] [-profiles DIR]
//
// or ./scripts/bench, which starts a throwaway PostgreSQL first. It creates
// the tables of schema bench once (setup.go) and keeps them between runs.
// Each measured run is a child process of its own (this program again,
// child.go, or psql, or examples/basic), so that its peak RSS (ru_maxrss) is
// its own; the cases alternate, each repeated -reps times.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// envDSN holds the server's URL (scripts/lib/pg.sh sets it).
const envDSN = "REDSHIFTSYNC_TEST_DSN"

// probeDeadline stops the probe of a first incremental sync.
const probeDeadline = 30 * time.Second

func main() {
	if spec, ok := os.LookupEnv(envJob); ok {
		os.Exit(childMain(spec))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// groups are the values of -cases, in the order they run.
var groups = []string{"copy", "pq", "lib", "part", "jsonl", "noop", "widths", "blocks", "firstinc", "rereads", "deletes", "profile", "unload"}

type options struct {
	dsn, cases, out, profiles, psql string
	rows                            int64
	reps                            int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.StringVar(&o.dsn, "dsn", os.Getenv(envDSN), "PostgreSQL URL (postgres://user@host:port/db?sslmode=disable); default $"+envDSN)
	fl.Int64Var(&o.rows, "rows", 5_000_000, "rows of bench.wide; the other tables scale with it")
	fl.IntVar(&o.reps, "reps", 3, "repetitions of each case")
	fl.StringVar(&o.cases, "cases", strings.Join(groups, ","), "comma-separated groups to run, of "+strings.Join(groups, ","))
	fl.StringVar(&o.out, "out", "", "also write the Markdown to this file")
	fl.StringVar(&o.profiles, "profiles", "bench-profiles", "directory for the CPU profiles (go tool pprof DIR/FILE)")
	fl.StringVar(&o.psql, "psql", "", "psql binary (default: PATH, then /usr/lib/postgresql/*/bin)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	want := strings.Split(o.cases, ",")
	for _, g := range want {
		if !slices.Contains(groups, g) {
			return fmt.Errorf("-cases: unknown group %q (want some of %s)", g, strings.Join(groups, ","))
		}
	}
	switch {
	case fl.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	case o.dsn == "":
		return fmt.Errorf("no server: pass -dsn URL or set %s (or run ./scripts/bench, which starts one)", envDSN)
	case o.rows < 10 || o.reps < 1:
		return errors.New("-rows must be at least 10, -reps at least 1")
	}
	start := time.Now()
	db, err := sql.Open("postgres", o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", redactURL(o.dsn), err)
	}
	tmp, err := os.MkdirTemp("", "redshiftsync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// The server writes the COPY file into tmp/copy, maybe as another OS
	// user: it may pass through tmp (not list it) and write there.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, "copy"), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(tmp, "copy"), 0o777); err != nil {
		return err
	}
	r := &runner{dsn: o.dsn, tmp: tmp, db: db, server: serverCPU(ctx, db)}
	if r.exe, err = os.Executable(); err != nil {
		return err
	}
	rep := &report{Machine: describeMachine(ctx, db, o.dsn), Opts: o, Tables: map[string]int64{}}
	all := tables(o.rows)
	cases := allCases(all, want, tmp)
	r.rows = map[string]int64{}
	rebuilt := map[string]bool{}
	need := map[string]bool{}
	for _, c := range cases {
		need[c.Table] = true
	}
	if slices.Contains(want, "firstinc") {
		need["wide_inc"] = true
	}
	if slices.Contains(want, "profile") {
		need["wide"] = true
	}
	for _, name := range slices.Sorted(maps.Keys(need)) {
		if rep.Tables[name], err = ensure(ctx, db, all, all[name], rebuilt); err != nil {
			return err
		}
		r.rows[name] = all[name].Rows
	}
	if slices.Contains(want, "unload") { // unload.go
		stop, err := startStandin(ctx, o.dsn, tmp)
		if err != nil {
			return err
		}
		defer stop()
	}
	if slices.ContainsFunc(cases, func(c *benchCase) bool { return c.Kind == kindPsql }) {
		if r.psql, err = findPsql(o.psql); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(cases, func(c *benchCase) bool { return c.Kind == kindBasic }) {
		logf("building examples/basic...")
		r.basic = filepath.Join(tmp, "basic")
		if out, err := exec.CommandContext(ctx, goBin(), "build", "-o", r.basic, "github.com/seed2085993a/redshiftsync/examples/basic").CombinedOutput(); err != nil {
			return fmt.Errorf("go build examples/basic: %w\n%s", err, out)
		}
	}
	if slices.ContainsFunc(cases, func(c *benchCase) bool { return c.ID == "noop" }) {
		// A finished sync of bench.wide_inc to start from, in as many key
		// ranges as the library allows: a first incremental sync in one
		// range slows as it goes (see firstinc) and would take long.
		logf("preparing noop: a full sync of bench.wide_inc in %d key ranges (not timed)...", redshiftsync.MaxParallelWorkersMax)
		s, err := r.child(ctx, job{Kind: kindExtract, Table: "wide_inc", Partitions: redshiftsync.MaxParallelWorkersMax, Workers: 1,
			SaveState: filepath.Join(tmp, "inc-state.json")})
		if err != nil {
			return fmt.Errorf("prepare noop: %w", err)
		}
		if s.Rows != r.rows["wide_inc"] || s.Mode != string(redshiftsync.ModeIncremental) {
			return fmt.Errorf("prepare noop: %d rows in mode %q, want %d incremental", s.Rows, s.Mode, r.rows["wide_inc"])
		}
	}
	if slices.Contains(want, "firstinc") {
		logf("probe: a first incremental sync of bench.wide_inc in one key range, stopped after %v...", probeDeadline)
		s, err := r.child(ctx, job{Kind: kindExtract, Table: "wide_inc", Deadline: probeDeadline})
		if err != nil {
			return fmt.Errorf("firstinc: %w", err)
		}
		rep.FirstInc = &s.result
	}
	if slices.Contains(want, "rereads") {
		logf("probe: rows re-read by no-op incremental syncs of bench.live...")
		if rep.Rereads, err = measureRereads(ctx, db, o.dsn, max(1000, o.rows/50)); err != nil {
			return fmt.Errorf("rereads: %w", err)
		}
	}
	if slices.Contains(want, "deletes") {
		logf("probe: delete detection on bench.del...")
		if rep.Deletes, err = measureDeletes(ctx, db, o.dsn, o.rows); err != nil {
			return fmt.Errorf("deletes: %w", err)
		}
	}
	for _, c := range cases { // warm the page cache: the first repetition pays no cold reads
		if _, err := db.ExecContext(ctx, `SELECT count(*) FROM `+schema+`.`+c.Table); err != nil {
			return err
		}
	}
	for i := 1; i <= o.reps; i++ {
		for _, c := range cases {
			s, err := r.run(ctx, c)
			if err != nil {
				return fmt.Errorf("case %s, repetition %d: %w", c.ID, i, err)
			}
			c.Samples = append(c.Samples, s)
			logf("rep %d/%d %-16s %10d rows %8.3fs  RSS %6.1f MiB  CPU %6.2fs", i, o.reps, c.ID, s.Rows, s.Seconds, s.RSSMiB, s.CPU)
		}
	}
	if slices.Contains(want, "profile") {
		if err := os.MkdirAll(o.profiles, 0o755); err != nil {
			return err
		}
		for _, p := range []struct{ name, jsonl string }{{"lib", ""}, {"jsonl", filepath.Join(tmp, "profile-jsonl")}} {
			path, _ := filepath.Abs(filepath.Join(o.profiles, p.name+".pprof"))
			logf("profiling one more (untimed) run of %s into %s...", p.name, path)
			if _, err := r.child(ctx, job{Kind: kindExtract, Table: "wide", CkptRows: 50_000, JSONL: p.jsonl, Profile: path}); err != nil {
				return fmt.Errorf("profile %s: %w", p.name, err)
			}
			ps, err := summarise(path)
			if err != nil {
				return err
			}
			ps.Case = p.name
			rep.Profiles = append(rep.Profiles, ps)
		}
	}
	rep.Cases, rep.Machine.LoadEnd, rep.Elapsed = cases, loadAvg(), time.Since(start)
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(md), 0o644)
	}
	return nil
}

// The kinds of case the parent runs itself; the others are a child's.
const (
	kindPsql     = "psql"     // psql's COPY TO STDOUT into /dev/null
	kindCopyFile = "copyfile" // the server's COPY TO a file
	kindBasic    = "basic"    // examples/basic, JSONL into a directory
)

// benchCase is one measured case and its samples.
type benchCase struct {
	ID, Group, What, Table string
	Kind                   string   // a kind of child, or kindPsql, kindCopyFile, kindBasic
	Job                    job      // for a child
	Args                   []string // more arguments of examples/basic
	Ref                    string   // the case its time is divided by, "" for none
	Samples                []sample
}

// allCases lists the cases of the groups wanted, in the order they
// alternate.
func allCases(ts map[string]table, want []string, tmp string) []*benchCase {
	x := func(id, group, what, tbl, ref string, j job) *benchCase {
		j.Kind, j.Table = kindExtract, tbl
		return &benchCase{ID: id, Group: group, What: what, Table: tbl, Kind: kindExtract, Job: j, Ref: ref}
	}
	jsonlDir := filepath.Join(tmp, "jsonl")
	cs := []*benchCase{
		{ID: "copy-null", Group: "copy", What: "psql: `COPY (SELECT * …) TO STDOUT` > /dev/null", Table: "wide", Kind: kindPsql},
		{ID: "copy-file", Group: "copy", What: "server: `COPY (SELECT * …) TO` a file", Table: "wide", Kind: kindCopyFile},
		{ID: "pq-scan", Group: "pq", What: "lib/pq, database/sql Rows.Scan into []any", Table: "wide", Kind: kindScan, Job: job{Kind: kindScan, Table: "wide"}, Ref: "copy-null"},
		{ID: "pq-driver", Group: "pq", What: "lib/pq, driver Rows.Next into []driver.Value", Table: "wide", Kind: kindDriver, Job: job{Kind: kindDriver, Table: "wide"}, Ref: "copy-null"},
		x("lib", "lib", "Extractor, discarding sink, checkpoint every 50,000 rows", "wide", "copy-null", job{CkptRows: 50_000}),
		x("lib-nockpt", "lib", "Extractor, discarding sink, no checkpoints", "wide", "copy-null", job{CkptRows: -1}),
		x("lib-1m", "lib", "as lib, on the smaller table", "wide_1m", "", job{CkptRows: 50_000}),
		x("lib-p2", "part", "as lib, Partitions 2, 2 workers", "wide", "copy-null", job{CkptRows: 50_000, Partitions: 2}),
		x("lib-p4", "part", "as lib, Partitions 4, 4 workers", "wide", "copy-null", job{CkptRows: 50_000, Partitions: 4}),
		x("jsonl", "jsonl", "Extractor into jsonlsink, one reader", "wide", "copy-null", job{JSONL: jsonlDir}),
		{ID: "basic", Group: "jsonl", What: "examples/basic (its defaults) into JSONL files", Table: "wide", Kind: kindBasic, Ref: "copy-file"},
		{ID: "basic-ckpt-end", Group: "jsonl", What: "as basic, `-checkpoint-every 100000000`: one checkpoint, at the end (what the durable checkpoints cost)", Table: "wide", Kind: kindBasic,
			Args: []string{"-checkpoint-every", "100000000"}, Ref: "basic"},
		{ID: "basic-1m", Group: "jsonl", What: "examples/basic, on the smaller table", Table: "wide_1m", Kind: kindBasic},
		x("noop", "noop", "Extractor, incremental sync that finds nothing new", "wide_inc", "", job{LoadState: filepath.Join(tmp, "inc-state.json")}),
	}
	for _, w := range widths {
		cs = append(cs,
			x(w.Table+"-none", "widths", w.What+" rows, batch_bytes none", w.Table, "", job{BatchBytes: redshiftsync.BatchBytesNone}),
			x(w.Table, "widths", w.What+" rows, batch_bytes default", w.Table, w.Table+"-none", job{}))
	}
	// The crash falls 45,000 rows (at 2M rows; scaled) past half the table:
	// near the worst point, checkpoints falling every 50,000 rows.
	failAt := ts["nokey"].Rows/2 + 45_000*ts["nokey"].Rows/2_000_000
	cs = append(cs,
		x("blk-pass", "blocks", "keyless table in one streaming pass (partitioned copy)", "nokey_part", "", job{}),
		x("blk-order", "blocks", "keyless table in block order (resumable)", "nokey", "blk-pass", job{}),
		x("blk-pass-crash", "blocks", "as blk-pass, the sink fails half-way, a rerun finishes; rows of both runs", "nokey_part", "", job{FailAt: failAt}),
		x("blk-order-crash", "blocks", "as blk-order, the sink fails half-way, a rerun finishes; rows of both runs", "nokey", "", job{FailAt: failAt}))
	cs = append(cs, unloadCases()...) // unload.go
	return slices.DeleteFunc(cs, func(c *benchCase) bool { return !slices.Contains(want, c.Group) })
}

// sample is one measurement of a case.
type sample struct {
	result
	RSSMiB float64 // peak RSS of the measured process; -1: unknown (the server's)
	CPU    float64 // user + system CPU seconds of the measured process; -1: unknown
	// Server is the local server's CPU seconds over the case (servercpu.go);
	// -1: unknown.
	Server float64
}

// runner starts the measured processes.
type runner struct {
	dsn, tmp, exe, psql, basic string
	db                         *sql.DB
	rows                       map[string]int64      // of each table
	server                     func() (float64, int) // the server's CPU seconds so far and live processes; nil: unknown
}

// run measures one repetition of c and checks the rows it read.
func (r *runner) run(ctx context.Context, c *benchCase) (s sample, err error) {
	q := schema + "." + c.Table
	srv0, live0 := -1.0, 0
	if r.server != nil {
		srv0, live0 = r.server()
	}
	defer func() {
		s.Server = -1
		if srv0 < 0 {
			return
		}
		// The case's backends end with it: wait (up to 2 s) until the
		// postmaster has reaped them, so that their CPU is counted.
		srv, live := r.server()
		for i := 0; i < 40 && live > live0; i++ {
			time.Sleep(50 * time.Millisecond)
			srv, live = r.server()
		}
		s.Server = srv - srv0
	}()
	switch c.Kind {
	case kindPsql:
		s, err = r.process(ctx, exec.CommandContext(ctx, r.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "COPY (SELECT * FROM "+q+") TO STDOUT"), "")
		s.Rows = r.rows[c.Table] // psql does not say; the file of copy-file is counted
	case kindCopyFile:
		path := filepath.Join(r.tmp, "copy", c.Table+".txt")
		t0 := time.Now()
		_, err = r.db.ExecContext(ctx, `COPY (SELECT * FROM `+q+`) TO '`+path+`'`)
		s = sample{result: result{Seconds: time.Since(t0).Seconds()}, RSSMiB: -1, CPU: -1}
		if err == nil {
			s.Rows, s.OutBytes, err = countLines(path, "")
		}
		os.Remove(path)
	case kindBasic:
		dir := filepath.Join(r.tmp, "basic-out")
		cmd := exec.CommandContext(ctx, r.basic, append([]string{"-schema", schema, "-tables", c.Table, "-out", dir, "-progress", "off"}, c.Args...)...)
		cmd.Dir = r.tmp // no configuration.json there: the PG* variables it is given
		s, err = r.process(ctx, cmd, "")
		if err == nil {
			s.Rows, s.OutBytes, err = countLines(filepath.Join(dir, jsonlsink.FileName(schema, c.Table)), `{"`+jsonlsink.ControlPrefix)
		}
		os.RemoveAll(dir)
	case kindUnloadStmt: // unload.go
		s, err = theStandin.runUnloadStmt(ctx, c)
	default:
		s, err = r.child(ctx, c.Job)
	}
	if err != nil {
		return s, err
	}
	want := r.rows[c.Table]
	switch {
	case c.ID == "noop": // it re-reads what lies at its bookmark: counted, not checked
	case c.Job.FailAt > 0:
		if s.Rows < want {
			return s, fmt.Errorf("%d rows of %s delivered by a crash and a rerun, fewer than its %d", s.Rows, q, want)
		}
	case s.Rows != want:
		return s, fmt.Errorf("%d rows of %s read, which has %d", s.Rows, q, want)
	}
	if c.Job.Partitions > 1 && s.Ranges != c.Job.Partitions {
		return s, fmt.Errorf("asked for %d key ranges, the Extractor read %s in %d", c.Job.Partitions, q, s.Ranges)
	}
	return s, nil
}

// child runs j in a child process and returns what it reported, with its
// peak RSS and CPU time.
func (r *runner) child(ctx context.Context, j job) (sample, error) {
	spec, err := json.Marshal(j)
	if err != nil {
		return sample{}, err
	}
	var out strings.Builder
	cmd := exec.CommandContext(ctx, r.exe)
	cmd.Stdout = &out
	s, err := r.process(ctx, cmd, envJob+"="+string(spec))
	if err != nil {
		return s, fmt.Errorf("%s of %s.%s: %w", j.Kind, schema, j.Table, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s.result); err != nil {
		return s, fmt.Errorf("%s of %s.%s: unreadable result %q: %w", j.Kind, schema, j.Table, out.String(), err)
	}
	return s, nil
}

// process runs cmd with the server's address in its environment (the URL
// for a child, PG* variables for psql and examples/basic: a password never
// in argv) and measures its wall time, peak RSS and CPU time.
func (r *runner) process(ctx context.Context, cmd *exec.Cmd, env string) (sample, error) {
	cmd.Env = append(os.Environ(), envDSN+"="+r.dsn)
	cmd.Env = append(cmd.Env, pgEnv(r.dsn)...)
	if env != "" {
		cmd.Env = append(cmd.Env, env)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	err := cmd.Run()
	s := sample{result: result{Seconds: time.Since(t0).Seconds()}, RSSMiB: -1, CPU: -1}
	if ps := cmd.ProcessState; ps != nil {
		s.RSSMiB, s.CPU = maxRSSMiB(ps), (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if err != nil {
		return s, fmt.Errorf("%s: %w; its stderr:\n%s", filepath.Base(cmd.Path), err, stderr.String())
	}
	return s, nil
}

// countLines returns the lines of a file, but those that begin with skip
// ("" for none), and its bytes.
func countLines(path, skip string) (lines, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	atStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		size += int64(len(chunk))
		if atStart && len(chunk) > 0 && (skip == "" || !bytes.HasPrefix(chunk, []byte(skip))) {
			lines++
		}
		atStart = err == nil // a chunk cut by the full buffer continues the line
		switch {
		case errors.Is(err, io.EOF):
			return lines, size, nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return lines, size, err
		}
	}
}

// pgEnv returns the libpq variables for the URL's server, for psql and for
// examples/basic (which reads them when given no -source).
func pgEnv(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	env := []string{"PGHOST=" + u.Hostname(), "PGPORT=" + u.Port(), "PGDATABASE=" + strings.TrimPrefix(u.Path, "/"),
		"PGUSER=" + u.User.Username(), "PGSSLMODE=" + u.Query().Get("sslmode")}
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
	}
	return slices.DeleteFunc(env, func(kv string) bool { return strings.HasSuffix(kv, "=") })
}

// redactURL returns the URL with its password hidden, for display.
func redactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// findPsql returns the psql binary to use.
func findPsql(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql"); len(m) > 0 {
		return m[len(m)-1], nil // the highest version, two digits since 10
	}
	return "", errors.New("psql not found (case copy-null needs it): install postgresql-client or pass -psql")
}

// goBin is the go command of the toolchain that built this program.
func goBin() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// logOut receives the progress lines (the test silences them).
var logOut io.Writer = os.Stderr

// started is when the program started, for the progress lines.
var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(logOut, "%6.1fs "+format+"\n", append([]any{time.Since(started).Seconds()}, args...)...)
}
