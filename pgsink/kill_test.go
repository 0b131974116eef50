package pgsink_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// Sizes of the kill test's tables.
const (
	killBigRows  = 300_000 // incremental (updated_at): synced once, across the kills
	killFullRows = 60_000  // no replication key: resynced in full by every run
)

// countingTrigger makes the destination count, per table (by oid) and id,
// every row inserted or updated: an event trigger puts statement triggers
// with transition tables on each table created in the synced schema and
// in pgsink.ResyncSchema (the tables and the resync copies). The counts are written in the loading
// transaction, so a rolled-back load counts nothing.
const countingTrigger = `
CREATE TABLE public.applied (relid oid, id bigint, n int NOT NULL, PRIMARY KEY (relid, id));
CREATE FUNCTION public.count_applied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.applied SELECT TG_RELID, id, 1 FROM new_rows
	ON CONFLICT (relid, id) DO UPDATE SET n = applied.n + 1;
	RETURN NULL;
END $$;
CREATE FUNCTION public.attach_counter() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
	FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND schema_name IN (%s, 'redshiftsync_resync') LOOP
		EXECUTE format('CREATE TRIGGER count_inserts AFTER INSERT ON %%s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.count_applied()', r.object_identity);
		EXECUTE format('CREATE TRIGGER count_updates AFTER UPDATE ON %%s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.count_applied()', r.object_identity);
	END LOOP;
END $$;
CREATE EVENT TRIGGER attach_counter ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.attach_counter();`

// TestKillExactlyOnce runs examples/basic with -dest on a 300k-row
// incremental table and a 60k-row table resynced in full, SIGKILLs it 3 to
// 5 times at random moments after it has committed rows, and runs it again
// each time, then to completion. After every kill the destination holds
// exactly the rows its saved state claims; at the end it equals the source,
// and the counting triggers prove that every row of the final tables was
// applied exactly once.
func TestKillExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills examples/basic")
	}
	t.Parallel()
	setup := time.Now()
	e := newEnv(t)
	s := e.schema
	mustExec(t, e.src, `
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, updated_at timestamp NOT NULL, amount numeric(18,4), note text, doc jsonb);
INSERT INTO %[1]s.big SELECT i, timestamp '2024-01-01' + i * interval '1 millisecond', i * 1.0001, 'note ' || md5(i::text), jsonb_build_object('i', i)
FROM generate_series(1, %[2]d) i;
CREATE INDEX ON %[1]s.big (updated_at, id);
CREATE TABLE %[1]s.full (id bigint PRIMARY KEY, v text, d date);
INSERT INTO %[1]s.full SELECT 1000000 + i, md5(i::text), date '2000-01-01' + i %% 9000 FROM generate_series(1, %[3]d) i;
ANALYZE %[1]s.big; ANALYZE %[1]s.full;`, s, killBigRows, killFullRows)
	pgtest.Exec(t, e.dst, fmt.Sprintf(countingTrigger, quoteLiteral(s)))
	t.Logf("source tables loaded in %v", time.Since(setup).Round(time.Millisecond))

	bin := filepath.Join(t.TempDir(), "basic")
	build := exec.Command(goTool(), "build", "-o", bin, "github.com/seed2085993a/redshiftsync/examples/basic")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/basic: %v\n%s", err, out)
	}
	args := []string{"-source", pgtest.DSN(t), "-schema", s, "-dest", e.dstDSN,
		"-batch-size", "5000", "-checkpoint-every", "20000", "-out", t.TempDir(), "-progress", "plain"}

	t.Logf("examples/basic built in %v", time.Since(setup).Round(time.Millisecond))

	kills := 3 + rand.IntN(3)
	start := time.Now()
	for k := range kills {
		// Kill when big's saved progress passes a random point of its
		// k-th slice of the table, then a random moment later, so that
		// kills land anywhere between checkpoints.
		slice := (killBigRows - 40_000) / kills
		at := int64(20_000 + k*slice + rand.IntN(slice))
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		finished := false
	wait:
		for {
			select {
			case err := <-exited:
				// Finished before the kill point: nothing left to kill.
				if err != nil {
					t.Fatalf("run %d failed: %v\n%s", k, err, out.String())
				}
				finished = true
				break wait
			case <-time.After(10 * time.Millisecond):
			}
			if bigProgress(t, e.dst, s) >= at {
				time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				break
			}
			if time.Since(start) > 3*time.Minute {
				cmd.Process.Kill()
				t.Fatalf("run %d: no progress past %d rows\n%s", k, at, out.String())
			}
		}
		if finished {
			t.Logf("run %d finished before its kill point %d", k, at)
			break
		}
		t.Logf("kill %d at %v: big's state claims %d rows", k+1, time.Since(start).Round(time.Millisecond), bigProgress(t, e.dst, s))
		checkClaims(t, e.dst, s, k+1)
	}

	final := exec.Command(bin, args...)
	if out, err := final.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	} else {
		t.Logf("final run:\n%s", out)
	}
	elapsed := time.Since(start)

	cfg := e.config(t)
	e.compareAll(t, cfg, "after the kills", false)
	for _, table := range []string{"big", "full"} {
		want := int64(killBigRows)
		if table == "full" {
			want = killFullRows
		}
		var rows, most, least int64
		err := e.dst.QueryRow(`SELECT count(*), coalesce(max(n), 0), coalesce(min(n), 0) FROM public.applied WHERE relid = $1::regclass`,
			sqlident.Qualified(s, table)).Scan(&rows, &most, &least)
		if err != nil {
			t.Fatal(err)
		}
		if rows != want || most != 1 || least != 1 {
			t.Errorf("%s: %d keys applied to the final table, each between %d and %d times; want %d keys, each exactly once", table, rows, least, most, want)
		}
	}
	if n := queryInt(t, e.dst, `SELECT count(*) FROM pg_tables WHERE schemaname = $1`, pgsink.ResyncSchema); n != 0 {
		t.Errorf("%d resync copies left", n)
	}
	t.Logf("%d kills; %d + %d×runs rows in %v", kills, killBigRows, killFullRows, elapsed.Round(time.Millisecond))
}

// stateTables returns the table entries of the state rows in db.
func stateTables(t *testing.T, db *sql.DB) map[string]*redshiftsync.TableView {
	t.Helper()
	var doc []byte
	err := db.QueryRow(`SELECT doc::text FROM public.redshiftsync_state`).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) || isUndefinedTable(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return synctest.DecodeState(t, doc).Tables
}

// bigProgress returns the rows of big that the saved state claims.
func bigProgress(t *testing.T, db *sql.DB, schema string) int64 {
	t.Helper()
	ts := stateTables(t, db)[schema+".big"]
	switch {
	case ts == nil:
		return 0
	case ts.InProgress == nil:
		return killBigRows
	}
	return ts.InProgress.Rows
}

// checkClaims checks that what the destination holds is exactly what the
// saved state claims: the rows delivered so far of big (each once: the
// first sync of an incremental table with unique keys), and for full a
// resync copy holding the rows of the resync in progress, or no copy. A
// COMMIT the killed process sent just before it died may still be landing,
// so a mismatch is only reported if it lasts.
func checkClaims(t *testing.T, db *sql.DB, schema string, kill int) {
	t.Helper()
	var problems []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if problems = claimProblems(t, db, schema); len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Errorf("kill %d: %s", kill, p)
	}
}

func claimProblems(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	var out []string
	tables := stateTables(t, db)
	if big := tables[schema+".big"]; big != nil && big.InProgress != nil {
		if got, err := countRows(db, schema, "big"); err != nil || got != big.InProgress.Rows {
			out = append(out, fmt.Sprintf("big holds %d rows (%v), its state claims %d", got, err, big.InProgress.Rows))
		}
	}
	full := tables[schema+".full"]
	copyExists := exists(t, db, pgsink.ResyncSchema, pgsink.ResyncName(schema, "full"))
	switch {
	case full != nil && full.InProgress != nil && full.InProgress.Resync:
		if !copyExists {
			out = append(out, "the state records a resync of full, but there is no copy")
		} else if got, err := countRows(db, pgsink.ResyncSchema, pgsink.ResyncName(schema, "full")); err != nil || got != full.InProgress.Rows {
			out = append(out, fmt.Sprintf("the copy of full holds %d rows (%v), the state claims %d", got, err, full.InProgress.Rows))
		}
	case copyExists:
		out = append(out, fmt.Sprintf("a copy of full exists, but the state records no resync: %+v", full))
	}
	if full != nil && full.LastSyncedAt != nil {
		if got, err := countRows(db, schema, "full"); err != nil || got != killFullRows {
			out = append(out, fmt.Sprintf("full has %d rows (%v) after a finished sync", got, err))
		}
	}
	return out
}

// countRows counts the rows of schema.table.
func countRows(db *sql.DB, schema, table string) (int64, error) {
	var n int64
	err := db.QueryRow(`SELECT count(*) FROM ` + sqlident.Qualified(schema, table)).Scan(&n)
	return n, err
}

func isUndefinedTable(err error) bool {
	return err != nil && redshiftsync.SQLState(err) == "42P01"
}

func quoteLiteral(s string) string {
	return "'" + string(bytes.ReplaceAll([]byte(s), []byte("'"), []byte("''"))) + "'"
}

// goTool returns the go command: the one on PATH, else the toolchain's.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}
