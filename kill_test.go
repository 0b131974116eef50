package redshiftsync_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// TestKillAndResume: examples/basic killed with SIGKILL at five random points
// of a sync and resumed each time leaves every source row in the JSONL
// files, and each resume re-reads no more than about a checkpoint's worth of
// rows (counted as lines beyond the table's rows).
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills examples/basic")
	}
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	const rows = 500_000
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.big SELECT i, md5(i::text), timestamp '2024-01-01' + (i / 5) * interval '1 second' FROM generate_series(1, %[2]d) i;
CREATE INDEX ON %[1]s.big (updated_at, id);
CREATE TABLE %[1]s.keyless (n int, label text);
INSERT INTO %[1]s.keyless SELECT i, 'l' || i FROM generate_series(1, 5000) i;
ANALYZE %[1]s.big;`, s, rows))

	bin := filepath.Join(t.TempDir(), "basic")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/basic").CombinedOutput(); err != nil {
		t.Fatalf("build examples/basic: %v\n%s", err, out)
	}
	out := t.TempDir()
	const batch = 2000
	args := []string{"-source", pgtest.DSN(t), "-schema", s, "-out", out, "-batch-size", fmt.Sprint(batch), "-checkpoint-every", fmt.Sprint(batch), "-workers", "2"}
	bigFile := filepath.Join(out, jsonlsink.FileName(s, "big"))

	kills := 0
	for kills < 5 {
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random point after the run has written some rows.
		target := fileSize(bigFile) + int64(rand.IntN(4_000_000)) + 100_000
		for deadline := time.Now().Add(20 * time.Second); fileSize(bigFile) < target && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if err == nil {
			break // finished before the kill: the sync is done
		}
		kills++
	}
	if kills == 0 {
		t.Fatal("the sync finished before any kill: the test proves nothing")
	}
	cmd := exec.Command(bin, args...)
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, outb)
	}

	ids, lines := jsonlIDs(t, bigFile, "id")
	if len(ids) != rows {
		t.Errorf("big: %d distinct ids after %d kills, want %d", len(ids), kills, rows)
	}
	for i := 1; i <= rows; i++ {
		if !ids[fmt.Sprint(i)] {
			t.Fatalf("big: id %d lost after %d kills", i, kills)
		}
	}
	// Each kill may lose to a re-read what was written since the last
	// checkpoint: a checkpoint's rows plus the page in flight, per worker.
	if extra, bound := lines-rows, kills*2*(2*batch+5); extra > bound {
		t.Errorf("big: %d lines for %d rows: %d re-read over %d kills, more than %d", lines, rows, extra, kills, bound)
	}
	keyless, _ := jsonlIDs(t, filepath.Join(out, jsonlsink.FileName(s, "keyless")), "n")
	if len(keyless) != 5000 {
		t.Errorf("keyless: %d distinct rows, want 5000", len(keyless))
	}
	t.Logf("%d kills; big.jsonl has %d lines for %d rows", kills, lines, rows)
}

// jsonlIDs reads a JSONL file and returns the set of values of field in its
// rows, and the number of its row lines.
func jsonlIDs(t *testing.T, path, field string) (map[string]bool, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids := map[string]bool{}
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if jsonlsink.IsControl(sc.Bytes()) {
			continue // the begin or end of a resync, not a row
		}
		lines++
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("%s line %d: %v", path, lines, err)
		}
		ids[fmt.Sprint(row[field])] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids, lines
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
