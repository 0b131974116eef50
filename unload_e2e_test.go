package redshiftsync_test

// The UNLOAD read end to end: the Redshift stand-in (started in-process,
// with its own S3 endpoint) executes the extractor's UNLOAD statements,
// writing Parquet parts and a verbose manifest as Redshift documents them,
// and package unload reads them back over S3.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/standin"
	"github.com/seed2085993a/redshiftsync/internal/standin/s3stub"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
	"github.com/seed2085993a/redshiftsync/unload"
)

const e2eBucket = "redshiftsync-e2e"

// unloadStandin is an in-process stand-in that executes UNLOAD into its own
// S3 endpoint, and a package unload Reader on that endpoint.
type unloadStandin struct {
	dsn    string
	store  *s3stub.Server
	reader *unload.Reader
	// unloads counts the UNLOAD statements the extractor ran through it.
	unloads atomic.Int64
}

func startUnloadStandin(t *testing.T) *unloadStandin {
	t.Helper()
	// 4 slices, and a "megabyte" of 128 bytes (MAXFILESIZE 128 MB is 16
	// KB), so that a small table makes several parts per slice.
	return startUnloadStandinMB(t, 128)
}

// startUnloadStandinMB is startUnloadStandin with mb bytes to UNLOAD's MB.
func startUnloadStandinMB(t *testing.T, mb int64) *unloadStandin {
	t.Helper()
	// The SDK must read no machine configuration, nor wait on the
	// instance-metadata service.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	store, err := s3stub.Listen("127.0.0.1:0", []string{e2eBucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s, err := standin.Listen(pgtest.DSN(t), "127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.EnableUnload(standin.UnloadConfig{Store: store, Slices: 4, MB: mb})
	r, err := unload.New(context.Background(), unload.Options{Region: "us-east-1", Endpoint: store.URL(), AccessKeyID: "AKIAE2ETESTKEYID0001", SecretAccessKey: "e2e-reader-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return &unloadStandin{dsn: s.URL(), store: store, reader: r}
}

func (u *unloadStandin) config(t *testing.T, schema string, threshold int) redshiftsync.Config {
	t.Helper()
	cfg := configFor(t, u.dsn, schema)
	cfg.UnloadS3URI = "s3://" + e2eBucket + "/sync/"
	cfg.UnloadIAMRole = "arn:aws:iam::123456789012:role/redshiftsync-unload"
	cfg.UnloadThreshold = threshold
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// options gives the Reader, and counts the UNLOAD statements on their way
// to the stand-in.
func (u *unloadStandin) options() []redshiftsync.Option {
	return []redshiftsync.Option{redshiftsync.WithUnloader(u.reader), redshiftsync.WithUnloadExec(func(ctx context.Context, conn *sql.Conn, stmt string) error {
		u.unloads.Add(1)
		_, err := conn.ExecContext(ctx, stmt)
		return err
	})}
}

func (u *unloadStandin) keys(t *testing.T) []string {
	t.Helper()
	keys, err := u.store.ListKeys(e2eBucket, "sync/")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestUnloadStandinEveryType: a table of every type the stand-in unloads to
// Parquet (and those the UNLOAD's SELECT casts to text) synced through
// UNLOAD equals, value by value, the same table synced with SELECT; its
// files are deleted after the sync. A table with a type UNLOAD cannot write
// to Parquet is read with SELECT, the plan saying why.
func TestUnloadStandinEveryType(t *testing.T) {
	u := startUnloadStandin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE DOMAIN %[1]s.super AS text;
CREATE TABLE %[1]s.all_types (
	id integer PRIMARY KEY, i2 smallint, i8 bigint, d5 numeric(5,2), d15 numeric(15,3), d38 numeric(38,10), dn numeric,
	f4 real, f8 double precision, b boolean, c char(5), v varchar(30), tx text, dt date,
	ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval, sup %[1]s.super);
INSERT INTO %[1]s.all_types
SELECT i, (i %% 30000)::smallint - 15000, i::bigint * 1000003 - 9000000000000000000, (i %% 1000) / 7.0, i * 1234.567, i * 12345678901234567.0123456789, i / 3.0,
	i / 7.0, i / 3.0, i %% 3 = 0, 'c' || (i %% 100), E'it''s \\ ' || i, repeat('t', i %% 50) || '☃',
	date '2000-01-01' + i, timestamp '1999-12-31 23:59:59.999999' + i * interval '1 second', timestamptz '2026-06-01 12:00:00+02' + i * interval '1 minute',
	time '00:00:00' + i * interval '1 second', timetz '10:00:00-03:30', i * interval '1 day 2 hours', ('{"i": ' || i || ', "s": "x"}')
FROM generate_series(1, 400) i;
INSERT INTO %[1]s.all_types (id) VALUES (0);
INSERT INTO %[1]s.all_types (id, tm, f8, f4, d5) VALUES (-1, '24:00:00', 'NaN', '-Infinity', -999.99);
CREATE TABLE %[1]s.with_bytes (id integer PRIMARY KEY, raw bytea);
INSERT INTO %[1]s.with_bytes SELECT i, decode(md5(i::text), 'hex') FROM generate_series(1, 50) i;`, s))
	cfg := u.config(t, s, 1)
	cfg.BatchSize = 64
	ex, err := redshiftsync.New(cfg, newMemSink(), &redshiftsync.MemoryStore{}, u.options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	d, err := ex.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Plans {
		switch p.Table.Name {
		case "all_types":
			if !p.Unload.Use || len(p.Unload.Casts) == 0 {
				t.Errorf("all_types: %+v, want it unloaded, with casts", p.Unload)
			}
		case "with_bytes":
			if p.Unload.Use || !strings.Contains(p.Unload.Reason, `column "raw"`) {
				t.Errorf("with_bytes: %+v, want it read with SELECT because of raw", p.Unload)
			}
		}
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, &redshiftsync.MemoryStore{}, u.options()...)
	if n := u.unloads.Load(); n != 1 {
		t.Errorf("%d UNLOAD statements, want 1 (all_types)", n)
	}
	sqlSink := newMemSink()
	mustRun(t, configFor(t, u.dsn, s), sqlSink, &redshiftsync.MemoryStore{})
	for _, table := range []string{s + ".all_types", s + ".with_bytes"} {
		want, got := sqlSink.rows[table], sink.rows[table]
		if len(got) != len(want) || len(want) == 0 {
			t.Errorf("%s: %d rows unloaded, %d selected", table, len(got), len(want))
		}
		cols := sqlSink.tables[table].Columns
		bad := 0
		for k, w := range want {
			g := got[k]
			for i := range w {
				if g == nil || !sameValue(g[i], w[i]) {
					if bad++; bad <= 10 {
						var gv any
						if g != nil {
							gv = g[i]
						}
						t.Errorf("%s row %s column %s: unloaded %#v (%T), selected %#v (%T)", table, k, cols[i].Name, gv, gv, w[i], w[i])
					}
				}
			}
		}
	}
	if keys := u.keys(t); len(keys) != 0 {
		t.Errorf("files left after the sync: %v", keys)
	}
}

// TestUnloadStandinIncremental: an incremental table's first sync and a
// later large phase are unloaded through the stand-in, with the phase's
// bounds in the UNLOAD's SELECT; the rows that arrive are the phase's.
func TestUnloadStandinIncremental(t *testing.T) {
	defer redshiftsync.SetWatermarkTimings(time.Second, 0, 5*time.Minute)()
	u := startUnloadStandin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.events (id bigint PRIMARY KEY, v varchar(40), updated_at timestamp NOT NULL);
INSERT INTO %[1]s.events SELECT i, 'e' || i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 500) i;`, s))
	cfg := u.config(t, s, 100)
	store := &redshiftsync.MemoryStore{}
	first := newMemSink()
	mustRun(t, cfg, first, store, u.options()...)
	if u.unloads.Load() != 1 || len(first.rows[s+".events"]) != 500 {
		t.Fatalf("first sync: %d UNLOADs, %d rows", u.unloads.Load(), len(first.rows[s+".events"]))
	}
	mustRun(t, cfg, newMemSink(), store, u.options()...) // releases the first sync's mark
	before := u.unloads.Load()
	pgtest.Exec(t, db, `UPDATE `+s+`.events SET v = 'u' || id, updated_at = timestamp '2024-06-01' + id * interval '1 second' WHERE id % 4 = 0`)
	sink := newMemSink()
	mustRun(t, cfg, sink, store, u.options()...)
	if u.unloads.Load() != before+1 {
		t.Errorf("the phase of 125 rows was not unloaded (%d UNLOADs before, %d after)", before, u.unloads.Load())
	}
	got := sink.column(s+".events", "v")
	want := sourceMap(t, db, `SELECT id::text, v FROM `+s+`.events WHERE id % 4 = 0`)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("id %s: %q arrived, the source holds %q", k, got[k], v)
		}
	}
	if len(got) > len(want)+1 { // the bookmark's own row, read again (>=)
		t.Errorf("%d rows arrived for a phase of %d", len(got), len(want))
	}
	if keys := u.keys(t); len(keys) != 0 {
		t.Errorf("files left: %v", keys)
	}
}

// TestUnloadStandinResumes: a sink that fails while the parts stream stops
// the run with the files kept; the next run resumes with the parts not yet
// delivered, without a second UNLOAD and without losing a row. Parts asks
// of a location with no UNLOAD get ErrUnloadNotFound (what a resume unloads
// again on).
func TestUnloadStandinResumes(t *testing.T) {
	u := startUnloadStandin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.big SELECT i, repeat('v', 40) || i FROM generate_series(1, 3000) i;`, s))
	cfg := u.config(t, s, 1)
	cfg.BatchSize = 50
	cfg.CheckpointEveryRows = 1
	store := &redshiftsync.MemoryStore{}
	failing := newMemSink()
	failing.failAfter = 1500
	if _, err := runOnce(t, cfg, failing, store, u.options()...); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the sink's failure", err)
	}
	if len(u.keys(t)) == 0 {
		t.Fatal("the failed run deleted the files")
	}
	sink := newMemSink()
	mustRun(t, cfg, sink, store, u.options()...)
	if n := u.unloads.Load(); n != 1 {
		t.Errorf("%d UNLOAD statements over both runs, want 1", n)
	}
	all := map[string]bool{}
	for k := range failing.rows[s+".big"] {
		all[k] = true
	}
	for k := range sink.rows[s+".big"] {
		all[k] = true
	}
	resumed := len(sink.rows[s+".big"])
	if len(all) != 3000 || resumed >= 3000 || sink.maxDeliveries(s+".big") != 1 {
		t.Errorf("%d distinct rows over both runs (want 3000); the resumed run delivered %d, up to %d times each", len(all), resumed, sink.maxDeliveries(s+".big"))
	}
	if keys := u.keys(t); len(keys) != 0 {
		t.Errorf("files left after the resumed sync: %v", keys)
	}
	if _, err := u.reader.Parts(context.Background(), "s3://"+e2eBucket+"/sync/none/"); !errors.Is(err, redshiftsync.ErrUnloadNotFound) {
		t.Errorf("Parts of no UNLOAD: %v, want ErrUnloadNotFound", err)
	}
}

// sameValue is reflect.DeepEqual, with NaN equal to NaN.
func sameValue(a, b any) bool {
	fa, okA := a.(float64)
	fb, okB := b.(float64)
	if okA && okB && math.IsNaN(fa) && math.IsNaN(fb) {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestUnloadKillResume: examples/basic, configured to unload, killed with
// SIGKILL while it streams the parts of its UNLOAD, then run again: the
// second run issues no UNLOAD (each is logged as it is sent), loses no
// row, and deletes the files at the end. -describe says which table is
// unloaded and why; no output shows a key.
func TestUnloadKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills examples/basic")
	}
	u := startUnloadStandinMB(t, 4096) // MAXFILESIZE 128 MB is 512 KB: a part per about 8000 rows
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	const rows = 100_000
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.big (id bigint PRIMARY KEY, v text, at timestamp);
INSERT INTO %[1]s.big SELECT i, md5(i::text), timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, %[2]d) i;
CREATE TABLE %[1]s.small (id int PRIMARY KEY);
INSERT INTO %[1]s.small SELECT generate_series(1, 10);
ANALYZE %[1]s.big; ANALYZE %[1]s.small;`, s, rows))
	src, err := redshiftsync.ConfigFromURL(u.dsn)
	if err != nil {
		t.Fatal(err)
	}
	const keyID, secret, readerSecret = "AKIAKILLTESTKEYID001", "kill-test-UNLOAD-secret", "kill-test-READER-secret"
	conf := map[string]string{
		"redshift_host": src.Host, "redshift_port": fmt.Sprint(src.Port), "redshift_database": src.Database,
		"redshift_user": src.User, "sslmode": "disable", "redshift_schema": s, "batch_size": "1000",
		"checkpoint_every_rows": "1000", "max_parallel_workers": "2",
		"unload_s3_uri": "s3://" + e2eBucket + "/sync/", "unload_access_key_id": keyID, "unload_secret_access_key": secret,
		"unload_s3_region": "us-east-1", "unload_s3_endpoint": u.store.URL(),
		"unload_s3_access_key_id": "AKIAKILLREADERKEY001", "unload_s3_secret_access_key": readerSecret,
		"unload_threshold_rows": "50000",
	}
	dir := t.TempDir()
	confPath := filepath.Join(dir, "configuration.json")
	data, _ := json.Marshal(conf)
	if err := os.WriteFile(confPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "basic")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/basic").CombinedOutput(); err != nil {
		t.Fatalf("build examples/basic: %v\n%s", err, out)
	}
	var all bytes.Buffer // every output of every run, checked for the keys
	t0 := time.Now()
	describe, err := exec.Command(bin, "-config", confPath, "-describe").CombinedOutput()
	all.Write(describe)
	if err != nil {
		t.Fatalf("-describe: %v\n%s", err, describe)
	}
	for _, want := range []string{"READ", "UNLOAD: about 100000 rows reach unload_threshold_rows (50000)", "read with SELECT: about 10 rows, below unload_threshold_rows (50000)"} {
		if !strings.Contains(string(describe), want) {
			t.Errorf("-describe does not say %q:\n%s", want, describe)
		}
	}
	out := filepath.Join(dir, "out")
	args := []string{"-config", confPath, "-out", out, "-v", "-progress", "off"}
	bigFile := filepath.Join(out, jsonlsink.FileName(s, "big"))
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &all
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once a third of the rows are in the file: the parts stream.
	for deadline := time.Now().Add(time.Minute); fileSize(bigFile) < 20*rows && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatal("the sync finished before the kill: the test proves nothing")
	}
	first := stderr.String()
	all.WriteString(first)
	if !strings.Contains(first, "UNLOAD done") {
		t.Fatalf("killed before the UNLOAD was done:\n%s", first)
	}
	if len(u.keys(t)) == 0 {
		t.Fatal("no files left after the kill")
	}
	cmd = exec.Command(bin, args...)
	second, err := cmd.CombinedOutput()
	all.Write(second)
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, second)
	}
	if n := strings.Count(first, "unloading the table") + strings.Count(string(second), "unloading the table"); n != 1 {
		t.Errorf("%d UNLOAD statements over both runs, want 1:\n%s", n, second)
	}
	ids, lines := jsonlIDs(t, bigFile, "id")
	if len(ids) != rows {
		t.Errorf("big: %d distinct ids after the kill and resume, want %d", len(ids), rows)
	}
	t.Logf("big.jsonl has %d lines for %d rows; the runs took %v", lines, rows, time.Since(t0))
	if keys := u.keys(t); len(keys) != 0 {
		t.Errorf("files left after the resumed sync: %d", len(keys))
	}
	for _, v := range []string{keyID, secret, readerSecret} {
		if strings.Contains(all.String(), v) {
			t.Errorf("%s shows in the command's output", v)
		}
	}
}
