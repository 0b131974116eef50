// This file holds the crash test of delete detection: examples/basic, with
// delete_detection on, SIGKILLed while it detects deletes (into pgsink and
// into JSONL files), then run to completion.

package pgsink_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// Sizes of the detection kill test's tables: items has five ranges of
// rangeKeys (20,000) keys, full two.
const (
	detKillItems = 100_000 // incremental (updated_at)
	detKillFull  = 30_000  // no replication key: resynced in full by every run
)

// detectionQuery matches, in pg_stat_activity, the queries only delete
// detection sends on the schema: the range and chunk digests
// (hashint8extended for an integer key, hashtextextended for others), the lookups of a chunk's sink keys and the point
// lookups of a key. A backend whose last query is one of them is inside a
// detection: when detection ends it sets the planner back, another query.
const detectionQuery = `(query LIKE '%%hashint8extended%%' OR query LIKE '%%hashtextextended%%' OR query LIKE 'SELECT DISTINCT CASE%%' OR query LIKE 'SELECT 1 FROM%%LIMIT 1')
	AND query LIKE '%%' || %s || '%%'`

// TestKillDuringDeleteDetection runs examples/basic with delete_detection
// on, into pgsink (-dest) and into JSONL files, and SIGKILLs it at random
// moments inside delete detection: first during the table's first
// detection (every range compared), then, after deletes at the source of
// single rows, a whole range (as the state cut it), the first and the last keys (and updates and
// inserts), during the detection that finds them; on an incremental table
// and on one resynced in full by every run (its detection runs before the
// resync ends). A kill counts as landing inside detection when, at that
// moment, a backend of the run had a detection query as its last query
// (pg_stat_activity). After each series of kills a run to completion must
// leave exactly the source's keys live and every key the source lost
// deleted (soft-deleted, or a tombstone as the key's last line), nothing
// lost and nothing falsely deleted; the state records no sync in progress,
// and one more run deletes nothing.
func TestKillDuringDeleteDetection(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills examples/basic")
	}
	bin := filepath.Join(t.TempDir(), "basic")
	build := exec.Command(goTool(), "build", "-o", bin, "github.com/seed2085993a/redshiftsync/examples/basic")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/basic: %v\n%s", err, out)
	}
	for _, dest := range []string{"pgsink", "jsonlsink"} {
		t.Run(dest, func(t *testing.T) {
			t.Parallel()
			testKillDuringDetection(t, bin, dest)
		})
	}
}

func testKillDuringDetection(t *testing.T, bin, dest string) {
	e := newEnv(t)
	s := e.schema
	mustExec(t, e.src, `
CREATE TABLE %[1]s.items (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.items SELECT i, md5(i::text), timestamptz '2024-01-01' + i * interval '1 millisecond' FROM generate_series(1, %[2]d) i;
CREATE INDEX ON %[1]s.items (updated_at, id);
CREATE TABLE %[1]s.full (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.full SELECT i, md5(i::text) FROM generate_series(1, %[3]d) i;
ANALYZE %[1]s.items; ANALYZE %[1]s.full;`, s, detKillItems, detKillFull)

	dir := t.TempDir()
	conf := filepath.Join(dir, "config.json")
	if err := os.WriteFile(conf, []byte(`{"redshift_host": "h", "redshift_database": "d", "redshift_user": "u", "delete_detection": "on"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"-config", conf, "-source", pgtest.DSN(t), "-schema", s, "-out", out,
		"-batch-size", "5000", "-checkpoint-every", "20000", "-workers", "2", "-progress", "off", "-v"}
	if dest == "pgsink" {
		args = append(args, "-dest", e.dstDSN)
	}
	k := &detKiller{t: t, src: e.src, schema: s, bin: bin, args: args}

	// Every key each table ever held at the source: the deleted keys are
	// those of it the source lacks at the end.
	ever := map[string]map[string]bool{"items": {}, "full": {}}
	remember := func() {
		for table := range ever {
			for _, id := range pgtest.QueryColumn[string](t, e.src, "SELECT id::text FROM "+s+"."+table) {
				ever[table][id] = true
			}
		}
	}
	check := func(stage string) {
		t.Helper()
		for table := range ever {
			want := pgtest.QueryColumn[string](t, e.src, "SELECT id::text FROM "+s+"."+table)
			held := map[string]bool{}
			for _, id := range want {
				held[id] = true
			}
			var gone []string
			for id := range ever[table] {
				if !held[id] {
					gone = append(gone, id)
				}
			}
			var live, deleted []string
			if dest == "pgsink" {
				live = pgtest.QueryColumn[string](t, e.dst, "SELECT id::text FROM "+s+"."+table+" WHERE NOT "+pgsink.DeletedColumn)
				deleted = pgtest.QueryColumn[string](t, e.dst, "SELECT id::text FROM "+s+"."+table+" WHERE "+pgsink.DeletedColumn)
			} else {
				live, deleted = jsonlKeyStates(t, filepath.Join(out, jsonlsink.FileName(s, table)), []string{"id"})
			}
			for _, l := range [][]string{want, gone, live, deleted} {
				slices.Sort(l)
			}
			if !slices.Equal(live, want) {
				t.Errorf("%s: %s: %d live keys, the source holds %d; live but not at the source: %v; at the source but not live: %v",
					stage, table, len(live), len(want), missing(live, want), missing(want, live))
			}
			if !slices.Equal(deleted, gone) {
				t.Errorf("%s: %s: %d keys deleted, the source lost %d; deleted but at the source: %v; lost but not deleted: %v",
					stage, table, len(deleted), len(gone), missing(deleted, gone), missing(gone, deleted))
			}
		}
		doc := k.stateDoc(e.dst, out)
		for table := range ever {
			ts := synctest.DecodeState(t, doc).Tables[s+"."+table]
			if ts == nil || ts.InProgress != nil || ts.LastSyncedAt == nil {
				t.Errorf("%s: %s: the state records no finished sync: %+v", stage, table, ts)
			}
		}
	}

	remember()
	k.series("the first detection", 2)
	check("after the first detection's kills")

	// The bounds of items' third range, from the state the first detection
	// saved: the range is deleted whole.
	var doc struct {
		Tables map[string]struct {
			Deletes struct {
				Bounds [][]string `json:"bounds"`
			} `json:"deletes"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(k.stateDoc(e.dst, out), &doc); err != nil {
		t.Fatal(err)
	}
	bounds := doc.Tables[s+".items"].Deletes.Bounds
	if len(bounds) < 3 {
		t.Fatalf("items was cut into %d ranges, want at least 4", len(bounds)+1)
	}
	mustExec(t, e.src, `
DELETE FROM %[1]s.items WHERE id IN (1, %[2]d) OR (id >= %[4]s AND id < %[5]s) OR id %% 4999 = 0;
UPDATE %[1]s.items SET v = 'changed', updated_at = timestamptz '2025-01-01' + id * interval '1 millisecond' WHERE id %% 1009 = 1;
INSERT INTO %[1]s.items SELECT i, 'new', timestamptz '2025-06-01' + i * interval '1 millisecond' FROM generate_series(%[2]d + 1, %[2]d + 500) i;
DELETE FROM %[1]s.full WHERE id IN (1, %[3]d) OR id BETWEEN 10001 AND 10600 OR id %% 2999 = 0;`, s, detKillItems, detKillFull, bounds[1][0], bounds[2][0])
	remember()
	k.series("the detection of the deletes", 3)
	check("after the kills")

	// One more run finds nothing left to delete.
	outb := k.run()
	finished := 0
	for _, line := range strings.Split(outb, "\n") {
		if !strings.Contains(line, `msg="delete detection finished"`) {
			continue
		}
		finished++
		if !strings.HasSuffix(line, " deleted=0") {
			t.Errorf("the last run deleted keys again: %s", line)
		}
	}
	if finished != 2 {
		t.Errorf("the last run logged %d finished detections, want 2:\n%s", finished, outb)
	}
	check("after one more run")
	t.Logf("%d kills, %d of them inside a detection", k.kills, k.inside)
	if k.inside == 0 {
		t.Error("no kill landed inside a detection: the test proves nothing")
	}
}

// detKiller runs examples/basic and kills it inside delete detection.
type detKiller struct {
	t            *testing.T
	src          *sql.DB
	schema, bin  string
	args         []string
	kills        int
	inside       int // kills that landed inside a detection
	windowMillis int
}

// stateDoc returns the saved state: in the destination with pgsink, in
// out/state.json with JSONL files.
func (k *detKiller) stateDoc(dst *sql.DB, out string) []byte {
	k.t.Helper()
	var doc []byte
	if slices.Contains(k.args, "-dest") {
		if err := dst.QueryRow(`SELECT doc::text FROM public.redshiftsync_state`).Scan(&doc); err != nil {
			k.t.Fatal(err)
		}
		return doc
	}
	doc, err := os.ReadFile(filepath.Join(out, "state.json"))
	if err != nil {
		k.t.Fatal(err)
	}
	return doc
}

// run runs examples/basic to completion and returns its output.
func (k *detKiller) run() string {
	k.t.Helper()
	out, err := exec.Command(k.bin, k.args...).CombinedOutput()
	if err != nil {
		k.t.Fatalf("run: %v\n%s", err, out)
	}
	return string(out)
}

// series kills runs of examples/basic inside their delete detection, up to
// n times (a run may finish before its kill), then runs it to completion.
func (k *detKiller) series(stage string, n int) {
	t := k.t
	t.Helper()
	if k.windowMillis == 0 {
		k.windowMillis = 1000
	}
	for i := 0; i < n; i++ {
		var out bytes.Buffer
		cmd := exec.Command(k.bin, k.args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		started := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var seen time.Time // when a detection query of this run was first seen
		delay := time.Duration(rand.IntN(k.windowMillis)) * time.Millisecond
		for killed := false; !killed; {
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("%s: run %d failed: %v\n%s", stage, i, err, out.String())
				}
				t.Logf("%s: run %d finished before its kill", stage, i)
				k.windowMillis = max(50, k.windowMillis/2)
				return
			case <-time.After(2 * time.Millisecond):
			}
			in := k.detecting(started)
			if seen.IsZero() && in {
				seen = time.Now()
			}
			if seen.IsZero() || time.Since(seen) < delay {
				if time.Since(started) > 3*time.Minute {
					_ = cmd.Process.Kill()
					t.Fatalf("%s: run %d: no detection seen in 3 minutes\n%s", stage, i, out.String())
				}
				continue
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			killed = true
			k.kills++
			if in {
				k.inside++
			} else {
				k.windowMillis = max(50, k.windowMillis/2)
			}
			t.Logf("%s: kill %d, %v after the detection began, inside it: %v", stage, k.kills, time.Since(seen).Round(time.Millisecond), in)
		}
	}
	t0 := time.Now()
	k.run()
	t.Logf("%s: the run to completion took %v", stage, time.Since(t0).Round(time.Millisecond))
}

// detecting reports whether a backend of the run started at started is
// inside a delete detection of the schema's tables.
func (k *detKiller) detecting(started time.Time) bool {
	var n int
	q := `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'redshiftsync' AND backend_start >= $1 AND ` +
		fmt.Sprintf(detectionQuery, "$2")
	if err := k.src.QueryRow(q, started.Add(-time.Second), k.schema).Scan(&n); err != nil {
		k.t.Fatal(err)
	}
	return n > 0
}

// jsonlKeyStates reads a jsonlsink table file and returns its live keys and
// its deleted keys (those whose last line is a tombstone), each key's
// columns joined with "|".
func jsonlKeyStates(t *testing.T, path string, key []string) (live, deleted []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	state := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if jsonlsink.IsControl(sc.Bytes()) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		parts := make([]string, len(key))
		for i, k := range key {
			parts[i] = fmt.Sprint(obj[k])
		}
		state[strings.Join(parts, "|")] = obj[jsonlsink.DeletedKey] != true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for k, ok := range state {
		if ok {
			live = append(live, k)
		} else {
			deleted = append(deleted, k)
		}
	}
	return live, deleted
}

// missing returns up to ten of the sorted a's elements that sorted b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
			if len(out) == 10 {
				break
			}
		}
	}
	return out
}
