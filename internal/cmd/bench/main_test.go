package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestMain makes the test binary a child when the parent (TestEndToEnd)
// re-executes it, as the program re-executes itself.
func TestMain(m *testing.M) {
	if spec, ok := os.LookupEnv(envJob); ok {
		os.Exit(childMain(spec))
	}
	os.Exit(m.Run())
}

// TestEndToEnd runs every group of the program on tiny tables, so that it
// cannot rot: each case must read its table's rows (the program checks
// them and fails otherwise), and the report must hold each case, the
// probes and profiles that go tool pprof can read.
func TestEndToEnd(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	out, profiles := filepath.Join(dir, "bench.md"), filepath.Join(dir, "profiles")
	if err := run(context.Background(), []string{"-dsn", dsn, "-rows", "2000", "-reps", "1", "-out", out, "-profiles", profiles}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, c := range allCases(tables(2000), groups, dir) {
		if !strings.Contains(md, "\n| "+c.ID+" | ") {
			t.Errorf("case %s is not in the report", c.ID)
		}
	}
	for _, want := range []string{
		"| lib | Extractor, discarding sink, checkpoint every 50,000 rows | bench.wide | 2,000 |",
		"| basic | examples/basic (its defaults) into JSONL files | bench.wide | 2,000 |",
		"| time basic ÷ copy-file, median", "| first incremental sync: rows/s in its last 5 s",
		"| the first sync (in full) | 1,000 |", "## CPU profile of jsonl", "## Where a JSONL sync's wall time goes",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	// On tables this small a case may run between two samples of the
	// profiler, so the profiles are only checked to be CPU profiles the
	// children wrote; TestSummarise checks the summing on a profile of
	// known content.
	for _, name := range []string{"lib.pprof", "jsonl.pprof"} {
		f, err := os.Open(filepath.Join(profiles, name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := profile.Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.ContainsFunc(p.SampleType, func(v *profile.ValueType) bool { return v.Type == "cpu" }) {
			t.Errorf("%s: not a CPU profile: %v", name, p.SampleType)
		}
	}
}

// TestSummarise sums a profile of known content: flat time to the innermost
// function, cumulative time to each function and package on the stack once
// (a recursive frame counts once), shares in percent of the total.
func TestSummarise(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	decode := fn(1, "github.com/seed2085993a/redshiftsync.decodeInto")
	recv := fn(2, "github.com/lib/pq.(*conn).recv")
	run := fn(3, "github.com/seed2085993a/redshiftsync.(*Extractor).Run")
	loc := func(id uint64, f *profile.Function) *profile.Location {
		return &profile.Location{ID: id, Line: []profile.Line{{Function: f}}}
	}
	lDecode, lRecv, lRun := loc(1, decode), loc(2, recv), loc(3, run)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lDecode, lRun}, Value: []int64{3, 3e9}},
			{Location: []*profile.Location{lRecv, lDecode, lRun, lRun}, Value: []int64{1, 1e9}},
		},
		Location: []*profile.Location{lDecode, lRecv, lRun},
		Function: []*profile.Function{decode, recv, run},
	}
	path := filepath.Join(t.TempDir(), "p.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ps, err := summarise(path)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Seconds != 4 {
		t.Errorf("seconds = %v, want 4", ps.Seconds)
	}
	wantPkgs := []share{{"github.com/seed2085993a/redshiftsync", 75, 100}, {"github.com/lib/pq", 25, 25}}
	if !slices.Equal(ps.Packages, wantPkgs) {
		t.Errorf("packages = %+v, want %+v", ps.Packages, wantPkgs)
	}
	wantFuncs := []share{{decode.Name, 75, 100}, {recv.Name, 25, 25}, {run.Name, 0, 100}}
	if !slices.Equal(ps.Funcs, wantFuncs) {
		t.Errorf("funcs = %+v, want %+v", ps.Funcs, wantFuncs)
	}
}

func TestPackageOf(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/lib/pq.(*conn).recv":                                        "github.com/lib/pq",
		"runtime.mallocgc":                                                      "runtime",
		"internal/runtime/syscall/linux.Syscall6":                               "internal/runtime/syscall/linux",
		"github.com/seed2085993a/redshiftsync.parseDateTime[go.shape.string]":   "github.com/seed2085993a/redshiftsync",
		"slices.SortFunc[go.shape.[]github.com/x/y.T,go.shape.struct {}].func1": "slices",
		"gcWriteBarrier": "gcWriteBarrier",
	} {
		if got := packageOf(fn); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestCountLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.jsonl")
	long := strings.Repeat("x", 3<<20) // longer than the reader's buffer
	body := `{"_redshiftsync_resync":"begin"}` + "\n{\"a\":1}\n{\"a\":\"" + long + "\"}\n" + `{"_redshiftsync_resync":"end"}` + "\n{\"a\":3}"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	lines, size, err := countLines(path, `{"_redshiftsync_`)
	if err != nil || lines != 3 || size != int64(len(body)) {
		t.Errorf("countLines = %d lines, %d bytes, %v; want 3, %d", lines, size, err, len(body))
	}
}

func TestRates(t *testing.T) {
	tl := []point{{1, 100}, {2, 200}, {3, 300}, {4, 400}, {5, 500}, {6, 550}, {7, 560}, {8, 570}, {9, 580}, {10, 590}, {10.5, 595}}
	first, last := firstLast(tl)
	if first != 100 || last != 95/5.5 { // from the point at 5 s (500 rows), the last at or before 10.5-5
		t.Errorf("firstLast = %v, %v; want 100, 95/5.5", first, last)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %v", got)
	}
	if got := thousands(-1234567); got != "-1,234,567" {
		t.Errorf("thousands = %q", got)
	}
}

func TestPGEnv(t *testing.T) {
	env := pgEnv("postgres://bob:s%40cret@db:5433/x?sslmode=disable")
	want := []string{"PGHOST=db", "PGPORT=5433", "PGDATABASE=x", "PGUSER=bob", "PGSSLMODE=disable", "PGPASSWORD=s@cret"}
	if !slices.Equal(env, want) {
		t.Errorf("pgEnv = %q, want %q", env, want)
	}
	if got := redactURL("postgres://bob:secret@db/x"); strings.Contains(got, "secret") {
		t.Errorf("redactURL kept the password: %q", got)
	}
}
