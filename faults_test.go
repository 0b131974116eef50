package redshiftsync_test

// This file tests the extractor under faults: backends terminated at random
// moments, a server crash and restart in the middle of a run, failures whose
// output must not show the password, unusable state files, empty schemas,
// and tables that are dropped or change type between runs.
//
// The restart test stops its server, so it runs against a private
// PostgreSQL of its own (startPrivateServer), never the shared test server:
// go test ./... runs other packages' tests against that one at the same
// time. Nothing in this file calls t.Parallel.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
)

// hookSink is a memSink that calls onWrite after each successful Write with
// the number of rows written so far in the run.
type hookSink struct {
	*memSink
	rows    atomic.Int64
	onWrite func(total int64)
}

// onceAfter returns a hookSink that calls f once, in the Write that brings
// the rows written to n or more: a fault injected mid-run.
func onceAfter(n int64, f func()) *hookSink {
	var once sync.Once
	return &hookSink{memSink: newMemSink(), onWrite: func(total int64) {
		if total >= n {
			once.Do(f)
		}
	}}
}

func (h *hookSink) Write(ctx context.Context, b redshiftsync.Batch) error {
	if err := h.memSink.Write(ctx, b); err != nil {
		return err
	}
	n := h.rows.Add(int64(len(b.Rows)))
	if h.onWrite != nil {
		h.onWrite(n)
	}
	return nil
}

// debugLogger returns a JSON logger at debug level writing to a new buffer.
func debugLogger() (*slog.Logger, *testlog.Buffer) {
	buf := &testlog.Buffer{}
	return newLogger(buf), buf
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// assertSecretHidden fails the test if secret shows in any of the texts:
// an error's message, its %+v and %#v forms, log output.
func assertSecretHidden(t *testing.T, secret string, what string, texts ...string) {
	t.Helper()
	for i, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("%s: the password shows in output #%d:\n%s", what, i, s)
		}
	}
}

// errorTexts returns every way a caller might print err and the report.
func errorTexts(err error, rep *redshiftsync.Report) []string {
	out := []string{fmt.Sprint(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	if rep != nil {
		out = append(out, fmt.Sprintf("%+v", *rep), fmt.Sprintf("%#v", *rep))
		if js, jerr := json.Marshal(rep); jerr == nil {
			out = append(out, string(js))
		}
		for _, tr := range rep.Tables {
			out = append(out, fmt.Sprintf("%+v", tr.Err), fmt.Sprintf("%#v", tr.Err))
		}
	}
	// Walk the chain too: a wrapped cause printed on its own.
	for e := err; e != nil; e = errors.Unwrap(e) {
		out = append(out, fmt.Sprintf("%+v", e))
	}
	return out
}

// totalRetries sums the retries of every table of the last run.
func totalRetries(ex *redshiftsync.Extractor) int64 {
	var n int64
	for _, ts := range ex.Stats().Tables {
		n += ts.Retries
	}
	return n
}

// loadStateDoc reads the document a store holds.
func loadStateDoc(t *testing.T, store redshiftsync.StateStore) *redshiftsync.StateView {
	t.Helper()
	return synctest.LoadState(t, store)
}

// TestFaultTerminatedBackends: while three 100,000-row tables sync, a
// goroutine terminates one of the extractor's backends every 100-300ms, 30
// times (pg_terminate_backend: the server sends 57P01 and closes the socket).
// Every failure is retried on a fresh connection, and the sink ends equal to
// the source.
func TestFaultTerminatedBackends(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := pgtest.OpenDSN(t, dsn)
	const rowsPerTable = 100_000
	tables := []string{"t1", "t2", "t3"}
	for _, tb := range tables {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE public.%[1]s (id bigint PRIMARY KEY, v text NOT NULL, updated_at timestamp NOT NULL);
INSERT INTO public.%[1]s SELECT i, md5(i::text), timestamp '2024-01-01' + (i / 7) * interval '1 second' FROM generate_series(1, %d) i;
CREATE INDEX ON public.%[1]s (updated_at, id);`, tb, rowsPerTable))
	}
	var dbname string
	if err := db.QueryRow(`SELECT current_database()`).Scan(&dbname); err != nil {
		t.Fatal(err)
	}

	cfg, err := redshiftsync.ConfigFromURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Schema = "public"
	cfg.BatchSize = 2000
	cfg.MaxParallelWorkers = 3
	cfg.MaxRetries = 10
	cfg.CheckpointEveryRows = 10_000
	logger, logs := debugLogger()

	// Terminate only after discovery: the catalog queries of Run are not
	// retried (a failure there fails the run before any row is read).
	started := make(chan struct{})
	sink := onceAfter(1, func() { close(started) })
	ex := synctest.New(t, cfg, sink, &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(logger))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var terminated atomic.Int64
	const maxKills = 30
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		select {
		case <-started:
		case <-stop:
			return
		}
		// Every 100-300ms, up to maxKills times: enough to hit every
		// step of a page many times, bounded so that a slow machine does
		// not turn the run into mostly backoff. After a kill, the next
		// waits until the extractor delivered rows again: the retry
		// budget counts failures without progress, and on a loaded
		// machine a reconnect and its first batch can take longer than
		// the interval, so kills at a fixed pace could exhaust it (the
		// budget is tested elsewhere; this test is about resuming right).
		rowsAtKill := int64(-1) // rows delivered when the last kill landed
		for i := 0; terminated.Load() < maxKills; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(100+(i*73)%201) * time.Millisecond):
			}
			for sink.rows.Load() <= rowsAtKill {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			// One backend of this database's extractor, a busy one first.
			var n int
			err := db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM (
	SELECT pid FROM pg_stat_activity
	WHERE application_name = 'redshiftsync' AND datname = $1 AND pid <> pg_backend_pid()
	ORDER BY state = 'active' DESC, random() LIMIT 1) p`, dbname).Scan(&n)
			if err == nil && n > 0 {
				terminated.Add(int64(n))
				rowsAtKill = sink.rows.Load()
			}
		}
	}()
	t0 := time.Now()
	rep, err := ex.Run(ctx)
	close(stop)
	killer.Wait()
	retries := totalRetries(ex)
	t.Logf("run took %v; %d backends terminated, %d retries", time.Since(t0).Round(time.Millisecond), terminated.Load(), retries)
	if err != nil {
		t.Fatalf("run under terminations: %v\nlogs:\n%s", err, logs.String())
	}
	if terminated.Load() == 0 {
		t.Fatal("no backend was terminated: the test tested nothing")
	}
	if retries == 0 {
		t.Errorf("%d backends terminated but no retry counted", terminated.Load())
	}
	if got := strings.Count(logs.String(), "transient source error: retrying"); int64(got) != retries {
		t.Errorf("%d retry log lines, %d retries in Stats", got, retries)
	}
	for _, tb := range tables {
		if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM public.`+tb), sink.column("public."+tb, "v")); d != "" {
			t.Errorf("%s: %s", tb, d)
		}
	}
	if rep.Rows < int64(len(tables)*rowsPerTable) {
		t.Errorf("report counts %d rows, want at least %d", rep.Rows, len(tables)*rowsPerTable)
	}
}

// privateServer is a PostgreSQL server of one test's own, in a temporary
// directory, that the test may stop, crash and restart without disturbing
// other tests. Host connections need a password (scram-sha-256).
type privateServer struct {
	bindir string
	dir    string // temporary directory: data, log, socket
	owner  string // OS user that runs the server, "" for ourselves
	port   int
	DSN    string // postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres?sslmode=disable
}

// findPGBindir finds initdb, pg_ctl and postgres the way scripts/lib/pg.sh
// does: $REDSHIFTSYNC_PG_BINDIR, initdb on PATH (symlinks resolved), then
// the highest /usr/lib/postgresql/*/bin.
func findPGBindir() string {
	ok := func(d string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(d, b)); err != nil || st.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("REDSHIFTSYNC_PG_BINDIR"); d != "" && ok(d) {
		return d
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && ok(filepath.Dir(r)) {
			return filepath.Dir(r)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if ok(d) {
			return d
		}
	}
	return ""
}

// startPrivateServer initdb's and starts a server whose postgres role has
// password, and stops and removes it in the test's Cleanup. Without
// PostgreSQL's server binaries it skips the test, or fails it when
// REDSHIFTSYNC_REQUIRE_DB is set (scripts/test).
func startPrivateServer(t *testing.T, password string) *privateServer {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := "private PostgreSQL server: " + fmt.Sprintf(format, args...)
		if os.Getenv(pgtest.EnvRequireDB) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &privateServer{bindir: findPGBindir()}
	if s.bindir == "" {
		unavailable("no initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin (scripts/lib/pg.sh installs them)")
	}
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as "postgres", as
		// scripts/lib/pg.sh does (and creates that user).
		s.owner = "postgres"
		u, err := user.Lookup(s.owner)
		if err != nil {
			unavailable("running as root and there is no %q user to run the server as: %v", s.owner, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		if _, err := exec.LookPath("runuser"); err != nil {
			unavailable("running as root and there is no runuser to drop privileges")
		}
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		dir, err := os.MkdirTemp(base, "redshiftsync-private-pg-")
		if err != nil {
			continue
		}
		if s.owner != "" {
			// $TMPDIR may be private to root: the owner must reach it.
			if os.Chown(dir, uid, gid) != nil || s.run(t, "test", "-w", dir) != nil {
				os.RemoveAll(dir)
				continue
			}
		}
		s.dir = dir
		break
	}
	if s.dir == "" {
		t.Fatalf("private PostgreSQL server: no temporary directory the %q user can write", s.owner)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); err == nil {
			if err := s.pgctl(t, "stop", "-m", "immediate"); err != nil {
				t.Logf("private server: stop: %v", err)
			}
		}
		os.RemoveAll(s.dir)
	})

	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.owner != "" {
		if err := os.Chown(pwfile, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.run(t, filepath.Join(s.bindir, "initdb"), "-D", filepath.Join(s.dir, "data"),
		"--auth-local=trust", "--auth-host=scram-sha-256", "--username=postgres", "--pwfile="+pwfile,
		"--encoding=UTF8", "--locale=C", "--no-instructions", "--no-sync"); err != nil {
		t.Fatalf("private server: initdb: %v", err)
	}
	os.Remove(pwfile)
	// fsync off: the test crashes the server, not the machine.
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 40\nfsync = off\nfull_page_writes = off\ninclude_if_exists = 'port.conf'\n", s.dir)
	if err := appendFile(filepath.Join(s.dir, "data", "postgresql.conf"), conf); err != nil {
		t.Fatal(err)
	}
	var startErr error
	for range 5 {
		s.port = pgtest.FreePort(t)
		portConf := filepath.Join(s.dir, "data", "port.conf")
		if err := os.WriteFile(portConf, []byte(fmt.Sprintf("port = %d\n", s.port)), 0o644); err != nil {
			t.Fatal(err)
		}
		if startErr = s.pgctl(t, "start"); startErr == nil {
			break
		}
		if log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log")); !bytes.Contains(log, []byte("could not bind")) {
			break
		}
	}
	if startErr != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
		t.Fatalf("private server: start: %v\n%s", startErr, log)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/postgres", RawQuery: "sslmode=disable"}
	s.DSN = u.String()
	return s
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// run runs a command as the server's owner, from /.
func (s *privateServer) run(t *testing.T, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.owner != "" {
		args = append([]string{"-u", s.owner, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// pgctl runs pg_ctl on the server: "start", "stop -m immediate", ...
func (s *privateServer) pgctl(t *testing.T, args ...string) error {
	base := []string{"-D", filepath.Join(s.dir, "data"), "-w", "-t", "60", "-l", filepath.Join(s.dir, "postgres.log")}
	return s.run(t, filepath.Join(s.bindir, "pg_ctl"), append(base, args...)...)
}

// TestFaultPrivateServer runs the faults that need a server of the test's
// own: a crash and restart in the middle of a run, and failures of a server
// that checks passwords, whose output must never show the password.
func TestFaultPrivateServer(t *testing.T) {
	password := "pw-" + randomHex(t, 12) + "-'\"\\ %s"
	srv := startPrivateServer(t, password)
	admin := pgtest.OpenDSN(t, srv.DSN)
	const rowsPerTable = 60_000
	pgtest.Exec(t, admin, fmt.Sprintf(`CREATE SCHEMA src;
CREATE TABLE src.a (id bigint PRIMARY KEY, v text NOT NULL, updated_at timestamp NOT NULL);
INSERT INTO src.a SELECT i, md5(i::text), timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, %[1]d) i;
CREATE TABLE src.b (id bigint PRIMARY KEY, v text NOT NULL);
INSERT INTO src.b SELECT i, md5(i::text) FROM generate_series(1, %[1]d) i;`, rowsPerTable))
	baseCfg, err := redshiftsync.ConfigFromURL(srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	baseCfg.Schema = "src"
	baseCfg.BatchSize = 2000
	baseCfg.MaxParallelWorkers = 2
	baseCfg.MaxRetries = 10
	baseCfg.CheckpointEveryRows = 2000
	baseCfg.ConnectTimeout = 5 * time.Second

	// run runs one sync with a debug logger and returns everything a user
	// could print of it.
	run := func(t *testing.T, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore) (*redshiftsync.Extractor, *redshiftsync.Report, error, []string) {
		t.Helper()
		logger, logs := debugLogger()
		ex, rep, err := synctest.Run(t, cfg, sink, store, redshiftsync.WithLogger(logger))
		return ex, rep, err, append(errorTexts(err, rep), logs.String())
	}

	t.Run("wrong password", func(t *testing.T) {
		cfg := baseCfg
		wrong := "wrong-" + randomHex(t, 12)
		cfg.Password = redshiftsync.Secret(wrong)
		_, _, err, texts := run(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
		if redshiftsync.SQLState(err) != "28P01" {
			t.Fatalf("err = %v, want SQLSTATE 28P01 (invalid password)", err)
		}
		var ce *redshiftsync.ConnectError
		where := fmt.Sprintf("redshiftsync: connect to %s:%d database %s as %s: ", cfg.Host, cfg.Port, cfg.Database, cfg.User)
		hint := fmt.Sprintf("the server refused the password of user %q: check the user and the password", cfg.User)
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), where) || !strings.Contains(err.Error(), hint) {
			t.Errorf("err = %v, want a *ConnectError beginning %q and saying %q", err, where, hint)
		}
		assertSecretHidden(t, wrong, "wrong password", texts...)
		assertSecretHidden(t, password, "wrong password", texts...)
	})

	t.Run("unknown database", func(t *testing.T) {
		cfg := baseCfg
		cfg.Database = "no_such_db_" + randomHex(t, 4)
		_, _, err, texts := run(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
		if redshiftsync.SQLState(err) != "3D000" {
			t.Fatalf("err = %v, want SQLSTATE 3D000", err)
		}
		assertSecretHidden(t, password, "unknown database", texts...)
	})

	t.Run("closed port", func(t *testing.T) {
		cfg := baseCfg
		cfg.Port = pgtest.FreePort(t)
		cfg.MaxRetries = 1 // refused is transient: a server may be restarting
		_, _, err, texts := run(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err = %v, want connection refused", err)
		}
		assertSecretHidden(t, password, "closed port", texts...)
	})

	t.Run("permission denied", func(t *testing.T) {
		// A role that may read src.a but not src.b.
		role, rolePW := "reader_"+randomHex(t, 4), "rpw-"+randomHex(t, 12)
		pgtest.Exec(t, admin, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT USAGE ON SCHEMA src TO %[1]s; GRANT SELECT ON src.a TO %[1]s;`, role, rolePW))
		t.Cleanup(func() {
			admin.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role))
		})
		cfg := baseCfg
		cfg.User, cfg.Password = role, redshiftsync.Secret(rolePW)
		ex, rep, err, texts := run(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
		var te *redshiftsync.TableError
		for _, tr := range rep.Tables {
			if tr.Table == "src.b" {
				errors.As(tr.Err, &te)
			}
		}
		var pe *pq.Error
		if te == nil || te.Table != "src.b" || !errors.As(te, &pe) || pe.Code != "42501" || !errors.Is(err, te) {
			t.Fatalf("err = %v, want a TableError for src.b wrapping *pq.Error 42501", err)
		}
		if !strings.Contains(te.Error(), "(SQLSTATE 42501)") || te.Step == "" {
			t.Errorf("TableError %q names no step or SQLSTATE", te.Error())
		}
		for _, ts := range ex.Stats().Tables {
			if ts.Table == "src.b" && ts.Retries != 0 {
				t.Errorf("permission denied was retried %d times", ts.Retries)
			}
		}
		assertSecretHidden(t, rolePW, "permission denied", texts...)
		assertSecretHidden(t, password, "permission denied", texts...)
	})

	t.Run("crash and restart mid-run", func(t *testing.T) {
		// When the run has delivered 20,000 rows the server is killed
		// (pg_ctl stop -m immediate: a crash, recovery on the next start)
		// and started again a second later.
		restarted := make(chan error, 1)
		var downAt time.Time
		sink := onceAfter(20_000, func() {
			if err := srv.pgctl(t, "stop", "-m", "immediate"); err != nil {
				restarted <- err
				return
			}
			downAt = time.Now()
			go func() {
				time.Sleep(time.Second)
				restarted <- srv.pgctl(t, "start")
			}()
		})
		store := &redshiftsync.MemoryStore{}
		ex, _, err, texts := run(t, baseCfg, sink, store)
		var startErr error
		select {
		case startErr = <-restarted:
		case <-time.After(90 * time.Second):
			t.Fatal("the server was never stopped and started again")
		}
		if startErr != nil {
			t.Fatalf("restart: %v", startErr)
		}
		retries := totalRetries(ex)
		t.Logf("first run: err=%v, %d retries, server down at %s", err, retries, downAt.Format("15:04:05.000"))
		assertSecretHidden(t, password, "restart", texts...)
		if err != nil {
			// Allowed, if the state lets a rerun go on where it stopped.
			st := loadStateDoc(t, store)
			resumable := false
			for _, ts := range st.Tables {
				resumable = resumable || ts.InProgress != nil && ts.InProgress.Rows > 0
			}
			if !resumable {
				t.Fatalf("the run failed (%v) and saved no progress to resume", err)
			}
			_, _, err, texts = run(t, baseCfg, sink, store)
			assertSecretHidden(t, password, "rerun", texts...)
			if err != nil {
				t.Fatalf("rerun after the restart: %v", err)
			}
		} else if retries == 0 {
			t.Error("the run went through a server crash without a retry")
		}
		fresh := pgtest.OpenDSN(t, srv.DSN)
		for _, tb := range []string{"a", "b"} {
			if d := diffMaps(sourceMap(t, fresh, `SELECT id::text, v FROM src.`+tb), sink.column("src."+tb, "v")); d != "" {
				t.Errorf("src.%s after the restart: %s", tb, d)
			}
		}
	})
}

// TestFaultStateFileUnusable: a state file that is corrupt, from a newer
// version or for another source stops the run before it reads a row, with
// an error that says so, and the file is left byte for byte as it was.
func TestFaultStateFileUnusable(t *testing.T) {
	_, s := pgtest.OpenSourceSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v varchar(8));
INSERT INTO %[1]s.t VALUES `+pgtest.Values(100, func(i int) string { return fmt.Sprintf("(%d, 'x')", i) }))
	cfg := testConfig(t, s)
	for _, tc := range []struct {
		name, doc string
		want      error
	}{
		{"corrupt", `{"version":1,"source":"postgres/` + s + `","tables":{"` + s + `.t":{"mode":"fu`, redshiftsync.ErrStateCorrupt},
		{"newer version", `{"version":99,"source":"x","tables":{"a":{"cursor":[1,2]}}}`, redshiftsync.ErrStateVersion},
		{"another source", `{"version":1,"source":"otherdb/other","tables":{}}`, redshiftsync.ErrStateMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			sink := newMemSink()
			_, err := runOnce(t, cfg, sink, redshiftsync.NewFileStore(path))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got, _ := os.ReadFile(path); string(got) != tc.doc {
				t.Errorf("the state file changed:\n%s", got)
			}
			if sink.written != 0 {
				t.Errorf("%d rows were delivered despite the unusable state", sink.written)
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 2 { // the state and its lock file
				t.Errorf("the state directory holds %d files", len(entries))
			}
		})
	}
}

// TestFaultNoTables: a schema without tables, or one that does not exist,
// is ErrNoTables, not an empty success.
func TestFaultNoTables(t *testing.T) {
	_, s := pgtest.OpenSchema(t, `CREATE VIEW %[1]s.v AS SELECT 1 AS x; CREATE SEQUENCE %[1]s.seq;`)
	for _, schema := range []string{s, s + "_missing"} {
		cfg := testConfig(t, schema)
		_, err := runOnce(t, cfg, newMemSink(), &redshiftsync.MemoryStore{})
		if !errors.Is(err, redshiftsync.ErrNoTables) || !strings.Contains(err.Error(), schema) {
			t.Errorf("schema %s: err = %v, want ErrNoTables naming the schema", schema, err)
		}
	}
}

// dropSink drops a table when the extractor opens it, after discovery and
// before its first read.
type dropSink struct {
	*memSink
	db   *sql.DB
	drop string // "schema.table"
}

func (d *dropSink) Open(ctx context.Context, t *redshiftsync.Table) error {
	if t.QualifiedName() == d.drop {
		if _, err := d.db.ExecContext(ctx, "DROP TABLE "+pq.QuoteIdentifier(t.Schema)+"."+pq.QuoteIdentifier(t.Name)); err != nil {
			return err
		}
	}
	return d.memSink.Open(ctx, t)
}

// TestFaultTableDropped: a table dropped between discovery and its read is
// reported as ErrTableGone, naming it, and the other tables are not lost:
// the issue asks that they finish in the same run; at the least a rerun
// (which no longer sees the dropped table) completes them.
func TestFaultTableDropped(t *testing.T) {
	db, s := pgtest.OpenSourceSchema(t, `
CREATE TABLE %[1]s.a (id int PRIMARY KEY, v varchar(8));
INSERT INTO %[1]s.a VALUES `+pgtest.Values(20000, func(i int) string { return fmt.Sprintf("(%d, 'a%d')", i, i) })+`;
CREATE TABLE %[1]s.gone (id int PRIMARY KEY, v varchar(8));
INSERT INTO %[1]s.gone VALUES `+pgtest.Values(100, func(i int) string { return fmt.Sprintf("(%d, 'g')", i) })+`;
CREATE TABLE %[1]s.z (id int PRIMARY KEY, v varchar(8));
INSERT INTO %[1]s.z VALUES `+pgtest.Values(20000, func(i int) string { return fmt.Sprintf("(%d, 'z%d')", i, i) }))
	cfg := testConfig(t, s)
	cfg.MaxRetries = 3
	sink := &dropSink{memSink: newMemSink(), db: db, drop: s + ".gone"}
	store := &redshiftsync.MemoryStore{}
	rep, err := runOnce(t, cfg, sink, store)
	var te *redshiftsync.TableError
	if !errors.Is(err, redshiftsync.ErrTableGone) || !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TableError wrapping ErrTableGone", err)
	}
	gone := false
	for _, tr := range rep.Tables {
		if errors.Is(tr.Err, redshiftsync.ErrTableGone) {
			gone = tr.Table == s+".gone"
		}
	}
	if !gone || !strings.Contains(err.Error(), s+".gone") || redshiftsync.SQLState(err) != "42P01" {
		t.Errorf("the error does not name the dropped table with SQLSTATE 42P01: %v", err)
	}
	var unfinished []string
	for _, tr := range rep.Tables {
		if tr.Table != s+".gone" && tr.Err != nil {
			unfinished = append(unfinished, tr.Table)
		}
	}
	if len(unfinished) > 0 {
		// Run fails fast on any table error today (extractor.go): the issue
		// wants a dropped table reported and the others finished.
		t.Logf("tables stopped by the dropped table's failure: %v; rerunning", unfinished)
		mustRun(t, cfg, sink.memSink, store)
	}
	for _, tb := range []string{"a", "z"} {
		if d := diffMaps(sourceMap(t, db, fmt.Sprintf(`SELECT id::text, v FROM %s.%s`, s, tb)), sink.column(s+"."+tb, "v")); d != "" {
			t.Errorf("%s: %s", tb, d)
		}
	}
}

// TestFaultColumnTypeChanged: between two runs the replication key changes
// type (timestamp to timestamptz) and another column too (int to text). The
// bookmark, taken on the old type, is not reused: the table syncs in full
// again, and the values arrive in their new types.
func TestFaultColumnTypeChanged(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, n int, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, i, timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 3000) i;`)
	cfg := testConfig(t, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	st := loadStateDoc(t, store).Tables[s+".t"]
	if st == nil || st.KeyType != "timestamp without time zone" || st.Bookmark == nil {
		t.Fatalf("state after the first run: %+v", st)
	}

	// Only the incremental tail changes, but the key's type changed too.
	pgtest.Exec(t, db, fmt.Sprintf(`ALTER TABLE %[1]s.t ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC';
ALTER TABLE %[1]s.t ALTER COLUMN n TYPE text USING 'n' || n;
UPDATE %[1]s.t SET updated_at = now() WHERE id = 7;`, s))
	rep := mustRun(t, cfg, sink, store)
	if tr := rep.Tables[0]; tr.Rows != 3000 || tr.Key != "updated_at" {
		t.Errorf("after the key's type changed: %d rows on key %q, want a full 3000 on updated_at", tr.Rows, tr.Key)
	}
	st = loadStateDoc(t, store).Tables[s+".t"]
	if st.KeyType != "timestamp with time zone" {
		t.Errorf("state key type %q after the change", st.KeyType)
	}
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, n FROM `+s+`.t`), sink.column(s+".t", "n")); d != "" {
		t.Errorf("after the type change: %s", d)
	}
	if col, _ := sink.tables[s+".t"].Column("n"); col.Type != redshiftsync.TypeString {
		t.Errorf("column n is %s after it became text", col.Type)
	}
	// And the incremental run after that reads only the changes.
	pgtest.Exec(t, db, fmt.Sprintf(`UPDATE %[1]s.t SET n = 'changed', updated_at = now() + interval '1 hour' WHERE id = 9;`, s))
	rep = mustRun(t, cfg, sink, store)
	if rep.Tables[0].Rows > 2 {
		t.Errorf("the incremental run after the type change read %d rows", rep.Tables[0].Rows)
	}
	if got := sink.column(s+".t", "n")["9"]; got != "changed" {
		t.Errorf("row 9 = %q after the incremental run", got)
	}
}

// TestFaultPrimaryKeyChangedMidSync: a full sync is interrupted, and before
// the rerun the table's primary key changes. The saved position is a tuple
// of the old key; the rerun must not resume with it on the new key: a tuple
// of another length cannot be bound, and one of another column skips the
// rows that sort below it on the new key.
func TestFaultPrimaryKeyChangedMidSync(t *testing.T) {
	for _, tc := range []struct{ name, alter string }{
		{"key moves to another column", `ALTER TABLE %[1]s.t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (code)`},
		{"key gains a column", `ALTER TABLE %[1]s.t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (id, code)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, code text NOT NULL, v text);
INSERT INTO %[1]s.t SELECT i, md5(i::text), 'v' || i FROM generate_series(1, 5000) i;`)
			cfg := testConfig(t, s)
			cfg.BatchSize = 500
			cfg.CheckpointEveryRows = 500
			sink, store := newMemSink(), &redshiftsync.MemoryStore{}
			sink.failAfter = 2600
			if _, err := runOnce(t, cfg, sink, store); !errors.Is(err, errCrash) {
				t.Fatalf("first run: %v, want the simulated crash", err)
			}
			doc, _ := store.Load(context.Background())
			if !bytes.Contains(doc, []byte(`"order"`)) {
				// Resuming would panic (index out of range in tupleAfter)
				// or skip rows.
				t.Fatalf("the saved progress does not record the ordering it belongs to: %s", doc)
			}
			pgtest.Exec(t, db, fmt.Sprintf(tc.alter, s))
			sink.failAfter = 0
			mustRun(t, cfg, sink, store)
			got := map[string]string{}
			for _, v := range sink.column(s+".t", "v") {
				got[strings.TrimPrefix(v, "v")] = v
			}
			if d := diffMaps(sourceMap(t, db, `SELECT id::text, v FROM `+s+`.t`), got); d != "" {
				t.Errorf("after the key changed mid-sync: %s", d)
			}
		})
	}
}

// TestFaultStatementTimeout: Config.StatementTimeout reaches the session
// (statement_timeout), a statement that outlives it fails with 57014, which
// is retried like a WLM timeout, MaxRetries times, then fails the table
// naming the SQLSTATE.
func TestFaultStatementTimeout(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	// Partitioned, so read in one streaming statement (block ranges do not
	// apply to a partitioned table).
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.streamed (id bigint NOT NULL, v text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE %[1]s.streamed_all PARTITION OF %[1]s.streamed DEFAULT;
INSERT INTO %[1]s.streamed SELECT i, repeat('y', 4000) FROM generate_series(1, 20000) i;`, s))
	cfg := testConfig(t, s)
	cfg.BatchSize = 500
	cfg.MaxRetries = 1
	cfg.StatementTimeout = time.Second
	// One streaming statement of 80MB, more than socket buffers hold, and
	// a sink that takes 2s over its 40 batches: the statement outlives 1s.
	sink := newCountSink(20_000)
	sink.delay = 50 * time.Millisecond
	ex := synctest.New(t, cfg, sink, &redshiftsync.MemoryStore{})
	_, err := ex.Run(t.Context())
	var te *redshiftsync.TableError
	if !errors.As(err, &te) || redshiftsync.SQLState(err) != "57014" || !strings.Contains(err.Error(), "(SQLSTATE 57014)") {
		t.Fatalf("err = %v, want a TableError with SQLSTATE 57014 (statement timeout)", err)
	}
	if n := totalRetries(ex); n != 1 {
		t.Errorf("%d retries of the timed-out statement, want MaxRetries = 1", n)
	}
}
