package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	for _, name := range []string{"lib.pprof", "jsonl.pprof"} {
		ps, err := summarise(filepath.Join(profiles, name))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(ps.Packages, func(s share) bool { return s.Name == "github.com/seed2085993a/redshiftsync" && s.Cum > 0 }) {
			t.Errorf("%s: no time in package redshiftsync: %+v", name, ps.Packages)
		}
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
