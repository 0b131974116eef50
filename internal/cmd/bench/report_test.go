package main

import (
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if !reflect.DeepEqual(in, []float64{3, 1, 2}) {
		t.Errorf("median sorted its argument: %v", in)
	}
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 5_000_000: "5,000,000", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{1_000_000: "1M", 5_000_000: "5M", 2_500_000: "2.5M", 200_000: "200k", 123: "123"} {
		if got := shortCount(n); got != want {
			t.Errorf("shortCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSplitPassword(t *testing.T) {
	u, pw := splitPassword("postgres://bob:s%40cret@db:5432/x?sslmode=disable")
	if pw != "s@cret" || strings.Contains(u, "cret") || !strings.HasPrefix(u, "postgres://bob@db:5432/x") {
		t.Errorf("splitPassword = %q, %q", u, pw)
	}
	if u, pw := splitPassword("postgres://bob@db/x"); u != "postgres://bob@db/x" || pw != "" {
		t.Errorf("no password: %q, %q", u, pw)
	}
	if got := redactURL("postgres://bob:secret@db/x"); strings.Contains(got, "secret") {
		t.Errorf("redactURL kept the password: %q", got)
	}
}

func TestChildArgsRoundTrip(t *testing.T) {
	want := childArgs{Kind: kindExtract, Table: "wide", Sink: "jsonl", OutDir: "/tmp/o", CkptRows: 50_000,
		CkptInterval: time.Hour, Partitions: 4, LoadState: "/tmp/s", SaveState: "/tmp/t", CPUProfile: "/tmp/p"}
	var got childArgs
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.StringVar(&got.Kind, "kind", "", "")
	fs.StringVar(&got.Table, "table", "", "")
	fs.StringVar(&got.Sink, "sink", "", "")
	fs.StringVar(&got.OutDir, "outdir", "", "")
	fs.IntVar(&got.CkptRows, "ckpt-rows", 0, "")
	fs.DurationVar(&got.CkptInterval, "ckpt-interval", 0, "")
	fs.IntVar(&got.Partitions, "partitions", 0, "")
	fs.StringVar(&got.LoadState, "load-state", "", "")
	fs.StringVar(&got.SaveState, "save-state", "", "")
	fs.StringVar(&got.CPUProfile, "cpuprofile", "", "")
	if err := fs.Parse(want.args()); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
}

func TestMachineParsers(t *testing.T) {
	cpu := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
	if got := cpuModel(strings.NewReader(cpu)); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("cpuModel = %q", got)
	}
	mem := "MemTotal:       24683904 kB\nMemFree:        23242100 kB\n"
	if got := memTotalKiB(strings.NewReader(mem)); got != 24683904 {
		t.Errorf("memTotalKiB = %d", got)
	}
}

const pprofSample = `File: bench
Type: cpu
Duration: 1.28s, Total samples = 750ms (58.49%)
Showing nodes accounting for 750ms, 100% of 750ms total
      flat  flat%   sum%        cum   cum%
      50ms  6.67%  6.67%       50ms  6.67%  internal/runtime/syscall/linux.Syscall6
      40ms  5.33% 12.00%       40ms  5.33%  internal/strconv.readFloat
      30ms  4.00% 16.00%      150ms 20.00%  github.com/lib/pq/internal/pqtime.Parse
      20ms  2.67% 18.67%      440ms 58.67%  github.com/lib/pq.textDecode
      20ms  2.67% 21.33%      210ms 28.00%  runtime.mallocgc
      10ms  1.33% 22.67%      580ms 77.33%  github.com/lib/pq.(*rows).Next
      10ms  1.33% 24.00%       90ms 12.00%  github.com/seed2085993a/redshiftsync.(*unit).decodeInto
     570ms 76.00%   100%      570ms 76.00%  something.else (inline)
`

func TestProfileSummary(t *testing.T) {
	if got := trimPprof(pprofSample); strings.Contains(got, "File:") || !strings.Contains(got, "Duration:") {
		t.Errorf("trimPprof kept the header or dropped the duration:\n%s", got)
	}
	cats := map[string]float64{}
	var sum float64
	for _, c := range categorise(pprofSample) {
		cats[c.Name] = c.Percent
		sum += c.Percent
	}
	if sum < 99.9 || sum > 100.1 {
		t.Errorf("categories sum to %.2f%%, want 100%%: %v", sum, cats)
	}
	if got := cats["lib/pq: wire protocol and parsing values from text"]; got < 7.99 || got > 8.01 {
		t.Errorf("lib/pq flat = %.2f, want 8.00 (pqtime 4.00 + textDecode 2.67 + Next 1.33)", got)
	}
	if got := cats["other"]; got != 76 {
		t.Errorf("other = %.2f, want 76", got)
	}
	spots := map[string]float64{}
	for _, c := range hot(pprofSample) {
		spots[c.Name] = c.Percent
	}
	if got := spots[hotSpots[0].label]; got != 77.33 {
		t.Errorf("rows.Next cum = %v, want 77.33", got)
	}
	if got := spots[hotSpots[3].label]; got != 12 {
		t.Errorf("decodeInto cum = %v, want 12", got)
	}
}

func TestCheckTargets(t *testing.T) {
	mk := func(id, group string, best float64, rss float64) *caseStats {
		return &caseStats{Case: &benchCase{ID: id, Group: group, Table: tableWide}, Rows: 1000, Best: best, Median: best, Worst: best,
			RowsPerSec: 1000 / best, PeakRSSMiB: rss}
	}
	byID := map[string]*caseStats{
		"a":        mk("a", "", 2.0, 10),
		"c":        mk("c", "", 1.0, 9),
		"d":        mk("d", "", 1.9, 30),
		"d-nockpt": mk("d-nockpt", "", 1.88, 30),
		"e2":       mk("e2", "e", 1.5, 40),
		"e4":       mk("e4", "e", 1.2, 60),
		"d-1M":     mk("d-1M", "", 0.4, 28),
		"f":        mk("f", "", 0.2, 9),
	}
	var cases []*benchCase
	for _, id := range []string{"a", "c", "d", "d-nockpt", "e2", "e4", "f", "d-1M"} {
		cases = append(cases, byID[id].Case)
	}
	got := map[string]string{}
	for _, tg := range checkTargets(byID, cases, 1000) {
		got[tg.Name] = tg.Status + " " + tg.Detail
	}
	want := map[string]string{
		"(d) rows/s ≥ 1.0× (a)":                                     "PASS 1.05×",
		"best of (e) rows/s ≥ 1.3× (a)":                             "PASS (e4) 1.67×",
		"best of (e) time ≤ 1.25× (c)":                              "PASS (e4) 1.20×",
		"(d) peak RSS ≤ 64 MiB (batch_size 10,000)":                 "PASS 30.0 MiB",
		"(d) peak RSS within 10% between the 1M- and 1k-row tables": "PASS 30.0 MiB vs 28.0 MiB (+7.1%)",
		"checkpoint every 50,000 rows costs < 3%":                   "PASS +1.1%",
		"(f) incremental sync finding nothing new < 1 s":            "PASS slowest repetition 0.200s",
	}
	for name, prefix := range want {
		if !strings.HasPrefix(got[name], prefix) {
			t.Errorf("%s: got %q, want it to start %q", name, got[name], prefix)
		}
	}
	byID["d"].RowsPerSec, byID["d"].Best, byID["d"].PeakRSSMiB = 1000/2.5, 2.5, 70
	delete(byID, "e2")
	delete(byID, "e4")
	got = map[string]string{}
	for _, tg := range checkTargets(byID, cases, 1000) {
		got[tg.Name] = tg.Status
	}
	for name, status := range map[string]string{
		"(d) rows/s ≥ 1.0× (a)":                     "MISS",
		"best of (e) rows/s ≥ 1.3× (a)":             "N/A",
		"(d) peak RSS ≤ 64 MiB (batch_size 10,000)": "MISS",
		"checkpoint every 50,000 rows costs < 3%":   "MISS",
	} {
		if got[name] != status {
			t.Errorf("%s: got %s, want %s", name, got[name], status)
		}
	}
}

func TestRateAndProbe(t *testing.T) {
	tl := []int64{100, 200, 300, 400, 500, 550, 560, 570, 580, 590}
	if r, ok := rate(tl, 0, 5); !ok || r != 100 {
		t.Errorf("rate(0,5) = %v, %v; want 100", r, ok)
	}
	if r, ok := rate(tl, 5, 10); !ok || r != 18 {
		t.Errorf("rate(5,10) = %v, %v; want 18", r, ok)
	}
	if _, ok := rate(tl, 5, 11); ok {
		t.Error("rate past the end: ok")
	}
	p := &probeResult{Rows: 590, Seconds: 10, Stopped: true, Timeline: tl, TableRows: 5000}
	if !p.degraded() {
		t.Error("a rate falling from 100 to 18 rows/s is not degraded")
	}
	if got := p.summary(); !strings.Contains(got, "100 rows/s in its first 5 s, 18 rows/s in its last 5 s") || !strings.Contains(got, "590 of 5,000") {
		t.Errorf("summary = %q", got)
	}
	p.Timeline = []int64{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000}
	if p.degraded() {
		t.Error("a steady rate is degraded")
	}
}

func TestNotes(t *testing.T) {
	if got := notes(map[string]*caseStats{}); len(got) != 0 {
		t.Errorf("notes without cases = %q", got)
	}
	st := func(best, cpu float64, rows int64) *caseStats {
		return &caseStats{Best: best, CPUMedian: cpu, Rows: rows}
	}
	got := notes(map[string]*caseStats{"a": st(10, 10, 100), "b": st(8, 8, 100), "b-pages": st(12, 8.5, 25_000), "d": st(15, 15, 100)})
	if len(got) != 2 || !strings.Contains(got[0], "+50% of (a)'s CPU and +88% of (b)'s") || !strings.Contains(got[1], "+50%") || !strings.Contains(got[1], "(3 queries") {
		t.Errorf("notes = %q", got)
	}
}
