package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// blockedRun is a run of the command that the test holds inside its sync:
// a transaction of the test holds an ACCESS EXCLUSIVE lock on the source
// table, so the run waits on it after it took its own locks.
type blockedRun struct {
	src    *sql.DB
	table  string // schema.t
	tx     *sql.Tx
	done   chan error
	stderr *testlog.Buffer
}

// lockSource starts the transaction that blocks every read of table.
func lockSource(t *testing.T, src *sql.DB, table string) *blockedRun {
	t.Helper()
	tx, err := src.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec(`LOCK TABLE ` + table + ` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return &blockedRun{src: src, table: table, tx: tx}
}

// start runs the command with args in a goroutine; its error arrives on the
// returned channel.
func (b *blockedRun) start(ctx context.Context, args []string) (<-chan error, *testlog.Buffer) {
	done, stderr := make(chan error, 1), &testlog.Buffer{}
	go func() { done <- run(ctx, args, &testlog.Buffer{}, stderr) }()
	return done, stderr
}

// waiters returns how many sessions wait for the test's lock on the table.
func (b *blockedRun) waiters(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.src.QueryRow(`SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted`, b.table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds; the deadline only keeps a broken run
// from hanging the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// lockTestSource creates the source table of the lock tests: n rows.
func lockTestSource(t *testing.T, n int) (src *sql.DB, schema string) {
	t.Helper()
	src = pgtest.Open(t)
	schema = pgtest.NewSchema(t, src)
	pgtest.Exec(t, src, fmt.Sprintf(`CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.t SELECT i, repeat('v', 200) || i, timestamptz '2024-01-01' + i * interval '1 s' FROM generate_series(1, %[2]d) i;`, schema, n))
	return src, schema
}

// checkJSONL checks that file holds only whole JSON lines, every id of
// 1..n, and no more than extra lines beyond n.
func checkJSONL(t *testing.T, file string, n, extra int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, lines, bad := map[int]bool{}, 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines++
		var row struct {
			ID int    `json:"id"`
			V  string `json:"v"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.V != strings.Repeat("v", 200)+fmt.Sprint(row.ID) {
			bad++
			continue
		}
		ids[row.ID] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if bad > 0 || len(ids) != n || lines > n+extra {
		t.Errorf("%s: %d lines, %d unreadable or mixed, %d distinct ids of %d", file, lines, bad, len(ids), n)
	}
}

// TestRunTwiceAtOnce: a second run on the same -out (or the same -dest
// state) while the first is in its sync fails at once with ErrLocked and
// one line naming the holder; the first finishes and its output is whole.
func TestRunTwiceAtOnce(t *testing.T) {
	const rows = 3000
	src, schema := lockTestSource(t, rows)
	for _, dest := range []bool{false, true} {
		name := "jsonl"
		if dest {
			name = "dest"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out := t.TempDir()
			args := []string{"-source", pgtest.DSN(t), "-schema", schema, "-batch-size", "100", "-out", out, "-progress", "off"}
			var dstDSN string
			if dest {
				dstDSN = pgtest.NewDatabase(t)
				args = append(args, "-dest", dstDSN)
			}
			b := lockSource(t, src, schema+".t")
			first, _ := b.start(ctx, args)
			waitFor(t, "the first run to wait on the source table", func() bool { return b.waiters(t) >= 1 })
			second, _ := b.start(ctx, args)
			// Before the lock existed, the second run waited on the table
			// too: let both go then, and see what they do.
			var err2 error
			waitFor(t, "the second run to end or wait", func() bool {
				select {
				case err2 = <-second:
					second = nil
					return true
				default:
					return b.waiters(t) >= 2
				}
			})
			if err := b.tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if err := <-first; err != nil {
				t.Fatalf("first run: %v", err)
			}
			if second != nil {
				err2 = <-second
			}
			host, _ := os.Hostname()
			msg := fmt.Sprint(err2)
			t.Logf("second run: %s", msg)
			if !errors.Is(err2, redshiftsync.ErrLocked) {
				t.Errorf("second run: %v, want ErrLocked", err2)
			} else if want := fmt.Sprintf("is running (pid %d on host %s", os.Getpid(), host); !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("second run's error %q: want one line holding %q", msg, want)
			}
			if err2 != nil && !strings.Contains(msg, "-wait") {
				t.Errorf("second run's error %q does not mention -wait", msg)
			}
			if dest {
				var n int
				if err := pgtest.OpenDSN(t, dstDSN).QueryRow(`SELECT count(DISTINCT id) FROM ` + schema + `.t`).Scan(&n); err != nil || n != rows {
					t.Errorf("destination holds %d rows, %v; want %d", n, err, rows)
				}
				return
			}
			checkJSONL(t, filepath.Join(out, jsonlsink.FileName(schema, "t")), rows, 0)
		})
	}
}

// TestRunWait: with -wait, a second run waits for the first to finish, then
// runs.
func TestRunWait(t *testing.T) {
	const rows = 3000
	src, schema := lockTestSource(t, rows)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := t.TempDir()
	args := []string{"-source", pgtest.DSN(t), "-schema", schema, "-batch-size", "100", "-out", out, "-progress", "off"}
	b := lockSource(t, src, schema+".t")
	first, _ := b.start(ctx, args)
	waitFor(t, "the first run to wait on the source table", func() bool { return b.waiters(t) >= 1 })
	second, stderr := b.start(ctx, append(args, "-wait", "2m"))
	waitFor(t, "the second run to say it waits", func() bool { return strings.Contains(stderr.String(), "waiting") })
	if b.waiters(t) != 1 {
		t.Error("the second run reads the source while it waits")
	}
	if err := b.tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first run: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second run: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("the wait message does not name the holder:\n%s", stderr.String())
	}
	// The second run is incremental: it reads again only the row at the
	// bookmark.
	checkJSONL(t, filepath.Join(out, jsonlsink.FileName(schema, "t")), rows, 1)
}
