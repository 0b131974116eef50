package redshiftsync

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// This file tests the state stores and the checkpointer (store.go, checkpoint.go), and
// the error classification and session setup that decide what a run does
// with a failure (retry.go, errors.go, pool.go): unit tests, no server.

func validDoc(t *testing.T, source string, rows int64) []byte {
	t.Helper()
	doc, err := json.MarshalIndent(&stateDoc{Version: StateVersion, Source: source, Tables: map[string]*tableState{
		"s.t": {Mode: ModeFull, InProgress: &progress{Phase: phaseRows, After: []string{"7"}, Rows: rows}},
	}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestFileStoreSaveLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs := NewFileStore(filepath.Join(dir, "state.json"))
	if _, err := fs.Load(ctx); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("Load of a missing file: %v, want ErrNoCheckpoint", err)
	}
	for i := range int64(3) {
		doc := validDoc(t, "d/s", i*1000)
		if err := fs.Save(ctx, doc); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		got, err := fs.Load(ctx)
		if err != nil || !bytes.Equal(got, doc) {
			t.Fatalf("load after save %d: %v\n%s", i, err, got)
		}
		// The temporary file was renamed over the state: nothing else is left.
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "state.json" {
			t.Fatalf("after save %d the directory holds %v", i, names)
		}
	}
}

// TestFileStoreRefusesUnreadable: a file Save cannot read as a state of this
// library version is kept byte for byte, and no temporary file is left.
func TestFileStoreRefusesUnreadable(t *testing.T) {
	ctx := context.Background()
	for name, old := range map[string]string{
		"garbage":         "this is not JSON\n",
		"empty":           "",
		"truncated":       `{"version":1,"tables":{"s.t":{"mode":"fu`,
		"newer version":   `{"version":9,"tables":{}}`,
		"trailing debris": `{"version":1,"tables":{}}` + "\x00\x00",
		"unknown phase":   `{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"zzz"}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
				t.Fatal(err)
			}
			err := NewFileStore(path).Save(ctx, validDoc(t, "d/s", 1))
			if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
				t.Fatalf("Save over %s: %v, want a refusal", name, err)
			}
			if !errors.Is(err, ErrStateCorrupt) && !errors.Is(err, ErrStateVersion) {
				t.Errorf("refusal wraps neither ErrStateCorrupt nor ErrStateVersion: %v", err)
			}
			if got, _ := os.ReadFile(path); string(got) != old {
				t.Errorf("the refused file changed: %q", got)
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %v after a refused save", names)
			}
		})
	}
}

func TestFileStoreMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "state.json")
	err := NewFileStore(path).Save(context.Background(), validDoc(t, "d/s", 1))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Save into a missing directory: %v", err)
	}
}

// TestFileStoreNeverTorn: a reader running beside a stream of saves only
// ever sees a whole document, old or new: Save renames a complete file over
// the old one.
func TestFileStoreNeverTorn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	fs := NewFileStore(path)
	// Documents of different sizes, so a torn one would not parse.
	docs := [][]byte{validDoc(t, "d/s", 1), validDoc(t, "d/s"+strings.Repeat("x", 5000), 2)}
	if err := fs.Save(ctx, docs[0]); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var torn error
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := os.ReadFile(path)
			if err != nil || (!bytes.Equal(got, docs[0]) && !bytes.Equal(got, docs[1])) {
				torn = fmt.Errorf("read %d bytes, err %v", len(got), err)
				return
			}
		}
	}()
	for i := range 60 {
		if err := fs.Save(ctx, docs[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if torn != nil {
		t.Fatalf("a reader saw a torn state: %v", torn)
	}
}

func TestMemoryStoreCopies(t *testing.T) {
	ctx := context.Background()
	var m MemoryStore
	if _, err := m.Load(ctx); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("zero MemoryStore Load: %v, want ErrNoCheckpoint", err)
	}
	doc := []byte(`{"version":1}`)
	if err := m.Save(ctx, doc); err != nil {
		t.Fatal(err)
	}
	doc[0] = 'X' // the caller reuses its buffer
	got, err := m.Load(ctx)
	if err != nil || string(got) != `{"version":1}` {
		t.Fatalf("Load after the saved buffer changed: %q, %v", got, err)
	}
	got[0] = 'Y' // the caller changes what it loaded
	if again, _ := m.Load(ctx); string(again) != `{"version":1}` {
		t.Fatalf("Load after the loaded buffer changed: %q", again)
	}
	if err := m.Save(ctx, []byte{}); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Load(ctx); err != nil || len(got) != 0 {
		t.Fatalf("an empty saved document: %q, %v (it was saved: no ErrNoCheckpoint)", got, err)
	}
}

// failingStore fails every Save while fail is set.
type failingStore struct {
	MemoryStore
	fail bool
}

func (f *failingStore) Save(ctx context.Context, doc []byte) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.MemoryStore.Save(ctx, doc)
}

// TestCheckpointerFailedSaveNotCarried: when a table's save fails, the
// document in memory forgets it, so the next save of another table does not
// claim rows that were never saved.
func TestCheckpointerFailedSaveNotCarried(t *testing.T) {
	ctx := context.Background()
	store := &failingStore{}
	var hooked []string
	ck := &checkpointer{store: store, hook: func(c Checkpoint) { hooked = append(hooked, c.Table) }}
	if err := ck.load(ctx, "d/s"); err != nil {
		t.Fatal(err)
	}
	if err := ck.save(ctx, "s.a", tableState{Mode: ModeFull, InProgress: &progress{Phase: phaseRows, Rows: 10}}, 10, false, nil); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	if err := ck.save(ctx, "s.a", tableState{Mode: ModeFull, InProgress: &progress{Phase: phaseRows, Rows: 99}}, 99, false, nil); err == nil {
		t.Fatal("save through a failing store succeeded")
	}
	if err := ck.save(ctx, "s.new", tableState{Mode: ModeFull}, 0, true, nil); err == nil {
		t.Fatal("save through a failing store succeeded")
	}
	store.fail = false
	if err := ck.save(ctx, "s.b", tableState{Mode: ModeFull}, 0, true, nil); err != nil {
		t.Fatal(err)
	}
	doc, _ := store.Load(ctx)
	st, err := decodeState(doc, "d/s")
	if err != nil {
		t.Fatal(err)
	}
	if a := st.Tables["s.a"]; a == nil || a.InProgress == nil || a.InProgress.Rows != 10 {
		t.Errorf("s.a after a failed save: %+v, want the last saved (10 rows)", a)
	}
	if _, ok := st.Tables["s.new"]; ok {
		t.Error("a table whose only save failed is in the document")
	}
	if fmt.Sprint(hooked) != "[s.a s.b]" {
		t.Errorf("hook called for %v, want only the saves that succeeded", hooked)
	}
}

func TestCheckpointerLoad(t *testing.T) {
	ctx := context.Background()
	ck := &checkpointer{store: &MemoryStore{}}
	if err := ck.load(ctx, "d/s"); err != nil || ck.state.Source != "d/s" || ck.state.Version != stateVersionBase {
		t.Fatalf("load of no state: %v %+v", err, ck.state)
	}
	store := &MemoryStore{}
	_ = store.Save(ctx, []byte(`{"version":1,"source":"other/s","tables":{}}`))
	if err := (&checkpointer{store: store}).load(ctx, "d/s"); !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("load of another source's state: %v", err)
	}
	loadErr := errors.New("permission denied")
	if err := (&checkpointer{store: storeFunc(func() ([]byte, error) { return nil, loadErr })}).load(ctx, "d/s"); !errors.Is(err, loadErr) {
		t.Fatalf("a store's Load error is not passed on: %v", err)
	}
}

type storeFunc func() ([]byte, error)

func (f storeFunc) Load(context.Context) ([]byte, error) { return f() }
func (f storeFunc) Save(context.Context, []byte) error   { return nil }

func pqErr(code, severity string) *pq.Error {
	return &pq.Error{Code: pq.ErrorCode(code), Severity: severity, Message: "m"}
}

func pqErrMsg(code, msg string) *pq.Error {
	return &pq.Error{Code: pq.ErrorCode(code), Severity: "ERROR", Message: msg}
}

func sysErr(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
}

func ctxCanceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestIsTransient pins the classification of source errors: what a retry
// can fix (the connection or server went away, a transient shortage, a lost
// race, a WLM or statement timeout) and what it cannot.
func TestIsTransient(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		// Transient SQLSTATEs.
		{"57P01 admin shutdown (pg_terminate_backend)", pqErr("57P01", "FATAL"), true},
		{"57P02 crash shutdown", pqErr("57P02", "FATAL"), true},
		{"57P03 cannot connect now (starting up)", pqErr("57P03", "FATAL"), true},
		{"57P05 idle session timeout", pqErr("57P05", "FATAL"), true},
		{"25P03 idle in transaction timeout", pqErr("25P03", "FATAL"), true},
		{"53300 too many connections", pqErr("53300", "FATAL"), true},
		{"53200 out of memory", pqErr("53200", "ERROR"), true},
		{"53100 disk full", pqErr("53100", "ERROR"), true},
		{"40001 serialization failure", pqErr("40001", "ERROR"), true},
		{"40P01 deadlock", pqErr("40P01", "ERROR"), true},
		{"08006 connection failure", pqErr("08006", "FATAL"), true},
		{"08001 cannot establish", pqErr("08001", "FATAL"), true},
		{"08P01 protocol violation", pqErr("08P01", "FATAL"), true},
		{"57014 WLM / statement timeout", pqErrMsg("57014", "Query (123) cancelled by WLM abort action of Query Monitoring Rule"), true},
		{"wrapped 57P01 in a session setup", fmt.Errorf("redshiftsync: set up session: %w", pqErr("57P01", "FATAL")), true},
		{"57P01 inside a join", errors.Join(errors.New("x"), pqErr("57P01", "FATAL")), true},
		// Permanent SQLSTATEs.
		{"42601 syntax error", pqErr("42601", "ERROR"), false},
		{"42501 permission denied", pqErrMsg("42501", "permission denied for table t"), false},
		{"42P01 undefined table", pqErr("42P01", "ERROR"), false},
		{"42703 undefined column", pqErr("42703", "ERROR"), false},
		{"42804 datatype mismatch", pqErr("42804", "ERROR"), false},
		{"22P02 invalid text representation", pqErr("22P02", "ERROR"), false},
		{"22008 datetime overflow", pqErr("22008", "ERROR"), false},
		{"28P01 invalid password", pqErr("28P01", "FATAL"), false},
		{"28000 no pg_hba entry", pqErr("28000", "FATAL"), false},
		{"3D000 unknown database", pqErr("3D000", "FATAL"), false},
		{"53400 configuration limit (temp_file_limit)", pqErr("53400", "ERROR"), false},
		{"57P04 database dropped", pqErr("57P04", "FATAL"), false},
		{"XX000 internal error", pqErr("XX000", "ERROR"), false},
		{"0A000 feature not supported", pqErr("0A000", "ERROR"), false},
		// Network and driver errors.
		{"driver.ErrBadConn (lib/pq's form of a FATAL on an open connection)", fmt.Errorf("redshiftsync: %w", driver.ErrBadConn), true},
		{"unexpected EOF", fmt.Errorf("read page: %w", io.ErrUnexpectedEOF), true},
		{"io.EOF", io.EOF, true},
		{"connection refused", sysErr(syscall.ECONNREFUSED), true},
		{"connection reset", sysErr(syscall.ECONNRESET), true},
		{"connection aborted", sysErr(syscall.ECONNABORTED), true},
		{"broken pipe", sysErr(syscall.EPIPE), true},
		{"use of closed connection", &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{"temporary DNS failure", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "h", IsTemporary: true}}, true},
		{"no such host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}}, false},
		{"TLS or other plain error", errors.New("pq: SSL is not enabled on the server"), false},
		{"a connect timeout (a deadline that is not the run's)", context.DeadlineExceeded, true},
		// A sink's or decoder's failure never reaches isTransient, but if it
		// did it would not be retried as the source's.
		{"table error around a plain error", &TableError{Table: "s.t", Step: "write to sink", Err: errors.New("sink full")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isTransient(ctx, tc.err); got != tc.want {
				t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	// Once the run's context is done nothing is retried: the 57014 that
	// lib/pq's cancel request produces is the run stopping, not a timeout.
	for _, err := range []error{pqErr("57014", "ERROR"), pqErr("57P01", "FATAL"), driver.ErrBadConn, sysErr(syscall.ECONNRESET)} {
		if isTransient(ctxCanceled(), err) {
			t.Errorf("isTransient(canceled ctx, %v) = true", err)
		}
	}
}

// TestTableErrorText: a table's error names the table, the step and the
// SQLSTATE once, and unwraps to the *pq.Error.
func TestTableErrorText(t *testing.T) {
	cause := pqErrMsg("42501", "permission denied for table orders")
	err := error(&TableError{Table: "sales.orders", Step: "read page", Err: cause})
	want := "redshiftsync: table sales.orders: read page: pq: permission denied for table orders (SQLSTATE 42501)"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
	var pe *pq.Error
	if !errors.As(err, &pe) || pe != cause || SQLState(err) != "42501" {
		t.Errorf("TableError does not unwrap to its *pq.Error: %v %v", pe, SQLState(err))
	}
	wrapped := &TableError{Table: "s.t", Step: "read", Err: fmt.Errorf("%w: %w", ErrTableGone, pqErrMsg("42P01", `relation "s.t" does not exist`))}
	if got := wrapped.Error(); !strings.HasSuffix(got, `does not exist (SQLSTATE 42P01)`) || strings.Count(got, "42P01") != 1 {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(wrapped, ErrTableGone) {
		t.Error("TableError does not unwrap to ErrTableGone")
	}
	plainErr := &TableError{Table: "s.t", Step: "write to sink", Err: errors.New("sink full")}
	if got := plainErr.Error(); got != "redshiftsync: table s.t: write to sink: sink full" {
		t.Errorf("Error() = %q", got)
	}
}

func TestBackoff(t *testing.T) {
	prevMax := time.Duration(0)
	for n := 1; n <= 20; n++ {
		d := 250 * time.Millisecond << min(n-1, 6)
		d = min(d, 10*time.Second)
		for range 50 {
			got := backoff(n)
			if got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, d/2, d)
			}
		}
		if d < prevMax {
			t.Fatalf("backoff shrinks at %d", n)
		}
		prevMax = d
	}
	if err := sleep(ctxCanceled(), time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep on a canceled context: %v", err)
	}
}

// TestSessionSetup: statement_timeout is set (in whole milliseconds, rounded
// up) when configured; the idle-in-transaction guard is applied to the
// pool's own connections unless the dialect is Redshift, which has no such
// setting; a caller's connections get every setting restored.
func TestSessionSetup(t *testing.T) {
	s := newSession(Config{Dialect: DialectAuto}, true)
	if s.sql != baseSessionSQL || s.restored != nil {
		t.Errorf("no statement timeout: %+v", s)
	}
	if s.guard != "SET idle_in_transaction_session_timeout TO 300000" {
		t.Errorf("guard = %q", s.guard)
	}
	s = newSession(Config{Dialect: DialectRedshift, StatementTimeout: 1500*time.Millisecond + time.Microsecond}, true)
	if !strings.HasSuffix(s.sql, "; SET statement_timeout TO 1501") || s.guard != "" {
		t.Errorf("redshift with a timeout: %+v", s)
	}
	s = newSession(Config{Dialect: DialectPostgres, StatementTimeout: time.Minute}, false)
	if !strings.HasSuffix(s.sql, "; SET statement_timeout TO 60000") || s.guard != "" ||
		s.captureSQL() != "SELECT current_setting('timezone'), current_setting('datestyle'), current_setting('extra_float_digits'), current_setting('statement_timeout')" ||
		s.restoreSQL() != "SELECT set_config('timezone', $1, false), set_config('datestyle', $2, false), set_config('extra_float_digits', $3, false), set_config('statement_timeout', $4, false)" {
		t.Errorf("adopted pool: %+v", s)
	}
	if s := newSession(Config{Dialect: DialectPostgres}, false); len(s.restored) != 3 {
		t.Errorf("adopted pool without a statement timeout restores %v", s.restored)
	}

	// The guard's own failure is tolerated when the server answered it
	// (Redshift: unrecognized configuration parameter), not when the
	// connection broke; the main batch's failure never is.
	ctx := context.Background()
	guarded := newSession(Config{Dialect: DialectAuto}, true)
	execFails := func(failing string, err error) func(context.Context, string) error {
		return func(_ context.Context, q string) error {
			if q == failing {
				return err
			}
			return nil
		}
	}
	if err := guarded.apply(ctx, execFails(guarded.guard, pqErrMsg("42704", `unrecognized configuration parameter "idle_in_transaction_session_timeout"`))); err != nil {
		t.Errorf("guard refused by the server: %v", err)
	}
	if err := guarded.apply(ctx, execFails(guarded.guard, driver.ErrBadConn)); !errors.Is(err, driver.ErrBadConn) {
		t.Errorf("connection broke during the guard: %v", err)
	}
	if err := guarded.apply(ctx, execFails(guarded.sql, pqErr("57P01", "FATAL"))); SQLState(err) != "57P01" {
		t.Errorf("main batch failed: %v", err)
	}
}

// TestSessionSetupOnServer: the server accepts the session setup, and the
// settings it reads back are the ones meant.
func TestSessionSetupOnServer(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := newSession(Config{Dialect: DialectAuto, StatementTimeout: 90 * time.Second}, true)
	for _, q := range []string{s.sql, s.guard} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for setting, want := range map[string]string{
		"statement_timeout":                   "90s",
		"idle_in_transaction_session_timeout": "5min",
		"TimeZone":                            "UTC",
		"DateStyle":                           "ISO, MDY",
		"extra_float_digits":                  "2",
	} {
		var got string
		if err := conn.QueryRowContext(ctx, "SHOW "+setting).Scan(&got); err != nil || got != want {
			t.Errorf("SHOW %s = %q, %v; want %q", setting, got, err, want)
		}
	}
	// What a server without the setting answers is an error the session
	// survives: apply goes on, and the connection still works.
	bogus := session{sql: baseSessionSQL, guard: "SET redshiftsync_no_such_setting TO 1"}
	if err := bogus.apply(ctx, func(ctx context.Context, q string) error { _, err := conn.ExecContext(ctx, q); return err }); err != nil {
		t.Fatalf("apply with a setting the server lacks: %v", err)
	}
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the connection after the refused SET: %v", err)
	}
}
