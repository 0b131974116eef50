package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

func TestParseFlags(t *testing.T) {
	f, err := parseFlags([]string{"-dest", "postgres://x@h/db", "-progress", "plain", "-batch-size", "5"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if f.dest != "postgres://x@h/db" || f.progress != "plain" || f.batchSize != 5 {
		t.Errorf("flags = %+v", f)
	}
	if _, err := parseFlags([]string{"-progress", "fancy"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "auto, live, plain or off") {
		t.Errorf("-progress fancy: %v", err)
	}
	if f, _ := parseFlags(nil, &bytes.Buffer{}); f.progress != "auto" {
		t.Errorf("default -progress = %q", f.progress)
	}
}

func TestProgressMode(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		progress string
		verbose  bool
		want     displayMode
	}{
		{"auto", false, displayPlain}, // a buffer is no terminal
		{"live", false, displayLive},
		{"plain", false, displayPlain},
		{"off", true, displayOff},
	} {
		if got := progressMode(flags{progress: c.progress, verbose: c.verbose}, &buf); got != c.want {
			t.Errorf("progressMode(%q) = %v, want %v", c.progress, got, c.want)
		}
	}
	if isTerminal(&buf) {
		t.Error("a buffer is a terminal")
	}
	if f, err := os.CreateTemp(t.TempDir(), "x"); err == nil {
		defer f.Close()
		if isTerminal(f) {
			t.Error("a file is a terminal")
		}
	}
}

func sampleStats() redshiftsync.Stats {
	return redshiftsync.Stats{Rows: 1_250_000, Tables: []redshiftsync.TableStats{
		{Table: "public.orders", State: "running", Rows: 1_200_000, EstimatedRows: 4_800_000, RowsPerSecond: 120_000.4, ETA: 30 * time.Second},
		{Table: "public.a_table_with_a_very_long_name_indeed", State: "running", Rows: 50_000, EstimatedRows: -1, RowsPerSecond: 5000},
		{Table: "public.done", State: "done", Rows: 0, EstimatedRows: 0},
		{Table: "public.waiting", State: "waiting", EstimatedRows: 10},
	}}
}

func TestLiveProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, live: true}
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	p.draw(sampleStats(), now)
	first := buf.String()
	for _, want := range []string{"public.orders", "1,200,000", "~4,800,000", "25%", "120,000 rows/s", "ETA 30s", "1/4 tables done, 2 running, 1 waiting, 1,250,000 rows"} {
		if !strings.Contains(first, want) {
			t.Errorf("live frame lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(first, "public.a_table_with_a_very_long… ") || !strings.Contains(first, "?     5,000 rows/s  ETA ?") {
		t.Errorf("live frame: a table without an estimate:\n%s", first)
	}
	if strings.Contains(first, "public.done ") {
		t.Errorf("live frame shows a table that is done:\n%s", first)
	}
	if strings.HasPrefix(first, "\x1b[") {
		t.Error("the first frame moves the cursor up")
	}
	if got := strings.Count(first, "\n"); got != 4 {
		t.Errorf("live frame has %d lines, want 4 (2 running tables, 1 waiting and the total)", got)
	}
	for _, line := range strings.Split(strings.TrimSuffix(first, "\n"), "\n") {
		if n := len([]rune(strings.ReplaceAll(line, "\x1b[K", ""))); n > 100 {
			t.Errorf("line of %d characters: %q", n, line)
		}
	}
	buf.Reset()
	p.draw(sampleStats(), now)
	if !strings.HasPrefix(buf.String(), "\x1b[4F\x1b[J") {
		t.Errorf("second frame does not replace the first: %q", buf.String()[:min(20, buf.Len())])
	}
	buf.Reset()
	p.clear()
	if buf.String() != "\x1b[4F\x1b[J" {
		t.Errorf("clear wrote %q", buf.String())
	}
	buf.Reset()
	p.clear()
	if buf.Len() != 0 {
		t.Errorf("second clear wrote %q", buf.String())
	}
}

func TestPlainProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf}
	p.draw(sampleStats(), time.Date(2024, 1, 1, 12, 0, 5, 0, time.UTC))
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("plain progress holds escapes: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "12:00:05 public.orders") || !strings.Contains(lines[2], "1/4 tables done") {
		t.Errorf("plain progress:\n%s", out)
	}
	buf.Reset()
	p.draw(redshiftsync.Stats{Tables: []redshiftsync.TableStats{{Table: "a", State: "done"}}}, time.Now())
	if buf.Len() != 0 {
		t.Errorf("plain progress with nothing running printed %q", buf.String())
	}
}

func TestStartProgressStops(t *testing.T) {
	var mu bytes.Buffer
	stop := startProgress(displayOff, &mu, nil)
	stop()
	calls := 0 // written by the display's goroutine, read after stop
	stop = startProgress(displayLive, &mu, func() redshiftsync.Stats { calls++; return sampleStats() })
	time.Sleep(1200 * time.Millisecond)
	stop()
	if calls < 1 {
		t.Error("the live display never drew")
	}
	if !strings.HasSuffix(mu.String(), "\x1b[J") {
		t.Error("the live display was not cleared at the end")
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestRunDest runs the command with -dest on a real server: the tables land
// in the destination, the state in its state table under the source's name;
// with -state, the state goes to that file instead.
func TestRunDest(t *testing.T) {
	src, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.t SELECT i, 'v' || i, timestamptz '2024-01-01' + i * interval '1 s' FROM generate_series(1, 2500) i;
CREATE TABLE %[1]s.k (code text, n int);
INSERT INTO %[1]s.k SELECT 'c' || i, i FROM generate_series(1, 100) i;`)
	dstDSN := pgtest.NewDatabase(t)
	dst := pgtest.OpenDSN(t, dstDSN)
	var database string
	if err := src.QueryRow(`SELECT current_database()`).Scan(&database); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := t.TempDir()
	args := []string{"-source", pgtest.DSN(t), "-schema", schema, "-dest", dstDSN, "-batch-size", "500", "-out", out}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), schema+".t") || !strings.Contains(stdout.String(), "2600 rows in") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	var n int
	if err := dst.QueryRow(`SELECT (SELECT count(*) FROM ` + schema + `.t) + (SELECT count(*) FROM ` + schema + `.k)`).Scan(&n); err != nil || n != 2600 {
		t.Errorf("destination rows = %d, %v; want 2600", n, err)
	}
	var doc []byte
	if err := dst.QueryRow(`SELECT doc::text FROM public.redshiftsync_state WHERE name = $1`, database+"/"+schema).Scan(&doc); err != nil {
		t.Fatalf("state row %q: %v", database+"/"+schema, err)
	}
	if st, err := redshiftsync.InspectState(doc); err != nil || st.Tables[schema+".t"] == nil {
		t.Errorf("state: %s, %v", doc, err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("-dest wrote into -out: %v", entries)
	}

	// -state keeps the state in a file (at-least-once) and leaves the
	// destination's state row as it was.
	pgtest.Exec(t, src, `UPDATE `+schema+`.t SET v = 'x', updated_at = now() WHERE id <= 10`)
	stateFile := filepath.Join(t.TempDir(), "state.json")
	stdout.Reset()
	if err := run(ctx, append(args, "-state", stateFile), &stdout, &stderr); err != nil {
		t.Fatalf("run -state: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(stateFile); err != nil {
		t.Errorf("state file: %v", err)
	}
	if err := dst.QueryRow(`SELECT count(*) FROM ` + schema + `.t WHERE v = 'x'`).Scan(&n); err != nil || n != 10 {
		t.Errorf("updated rows in the destination = %d, %v; want 10", n, err)
	}
	var after []byte
	dst.QueryRow(`SELECT doc::text FROM public.redshiftsync_state WHERE name = $1`, database+"/"+schema).Scan(&after)
	if !bytes.Equal(doc, after) {
		t.Error("with -state, the destination's state row changed")
	}

	// -describe needs no destination and writes nothing.
	stdout.Reset()
	fresh := filepath.Join(t.TempDir(), "none")
	if err := run(ctx, []string{"-source", pgtest.DSN(t), "-schema", schema, "-describe=json", "-out", fresh, "-dest", "postgres://nobody@127.0.0.1:1/x"}, &stdout, &stderr); err != nil {
		t.Fatalf("describe: %v", err)
	}
	if !strings.Contains(stdout.String(), `"mode"`) {
		t.Errorf("describe printed:\n%s", stdout.String())
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("-describe created the output directory")
	}
}

// TestDefaultBatchSize: with no -batch-size and none in the configuration the
// example reads batches of defaultBatchSize rows (its memory: a page per
// worker); the flag still wins.
func TestDefaultBatchSize(t *testing.T) {
	t.Setenv("PGHOST", "localhost")
	t.Chdir(t.TempDir()) // no configuration.json
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, defaultBatchSize},
		{[]string{"-batch-size", "700"}, 700},
	} {
		f, err := parseFlags(c.args, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := loadConfig(f)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BatchSize != c.want || defaultBatchSize != 5000 {
			t.Errorf("%v: BatchSize %d, want %d (defaultBatchSize %d)", c.args, cfg.BatchSize, c.want, defaultBatchSize)
		}
	}
}
