package pgsink_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// TestStateStoreLock: two runs with the same state name cannot run at once:
// the second fails with ErrLocked naming the holder, before it opens a
// table, while another name is free; pg_terminate_backend of the holder's
// session frees the lock, and the run that lost it can no longer save.
func TestStateStoreLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mustExec(t, e.src, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL); INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 second' FROM generate_series(1, 10) i`, e.schema)
	cfg := e.config(t)

	// The first run is held in its sync by its sink's Open.
	entered, gate := make(chan struct{}), make(chan struct{})
	held := redshiftsync.SinkFuncs{
		OpenFunc: func(ctx context.Context, _ *redshiftsync.Table) error {
			close(entered)
			<-gate
			return nil
		},
		WriteFunc: func(context.Context, redshiftsync.Batch) error { return nil },
	}
	exA := synctest.New(t, cfg, held, newStateStore(t, e.dst, pgsink.WithStateName("s")))
	doneA := make(chan error, 1)
	go func() { _, err := exA.Run(ctx); doneA <- err }()
	<-entered

	// A second run of the same state, through a sink of its own.
	sink := e.newSink(t, pgsink.WithStateName("s"))
	exB := synctest.New(t, cfg, sink, sink.StateStore())
	_, err := exB.Run(ctx)
	host, _ := os.Hostname()
	var lerr *redshiftsync.LockError
	switch {
	case !errors.Is(err, redshiftsync.ErrLocked) || !errors.As(err, &lerr):
		t.Fatalf("second run: %v, want ErrLocked", err)
	case lerr.PID != os.Getpid() || lerr.Host != host || !strings.Contains(err.Error(), `state "s"`) || !strings.Contains(err.Error(), "backend pid"):
		t.Errorf("second run: %v: want the state, the backend and pid %d on host %s", err, os.Getpid(), host)
	}
	var n int
	if err := e.dst.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = $1`, e.schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("the locked run created %d tables, %v", n, err)
	}

	// Another name is another lock.
	other := newStateStore(t, e.dst, pgsink.WithStateName("other"))
	unlock, err := other.Lock(ctx)
	if err != nil {
		t.Fatalf("lock of another name: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-doneA; err != nil {
		t.Fatalf("first run: %v", err)
	}
	e.sync(t, cfg, sink, sink.StateStore()) // the lock is free again

	// A holder whose backend is terminated loses the lock: the next run
	// takes it, and the old holder's saves are refused.
	a, b := newStateStore(t, e.dst, pgsink.WithStateName("s")), newStateStore(t, e.dst, pgsink.WithStateName("s"))
	unlockA, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx)
	if !errors.As(err, &lerr) {
		t.Fatalf("lock held by a: %v", err)
	}
	var backend int
	if _, err := fmt.Sscanf(lerr.Lock[strings.Index(lerr.Lock, "backend pid"):], "backend pid %d", &backend); err != nil {
		t.Fatalf("%q: %v", lerr.Lock, err)
	}
	if _, err := e.dst.Exec(`SELECT pg_terminate_backend($1)`, backend); err != nil {
		t.Fatal(err)
	}
	var unlockB func() error
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if unlockB, err = b.Lock(ctx); err == nil || !errors.Is(err, redshiftsync.ErrLocked) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("lock after pg_terminate_backend of its holder: %v", err)
	}
	if err := a.Save(ctx, []byte(`{"version":1,"by":"a"}`)); err == nil || !strings.Contains(err.Error(), "lock") {
		t.Errorf("save of the run that lost its lock: %v, want refused", err)
	}
	if err := b.Save(ctx, []byte(`{"version":1,"by":"b"}`)); err != nil {
		t.Fatalf("save of the lock's holder: %v", err)
	}
	if doc, err := b.Load(ctx); err != nil || !strings.Contains(string(doc), `"b"`) {
		t.Errorf("state = %s, %v", doc, err)
	}
	unlockA() // its session is gone: nothing to release
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
	// The pool's connections come back as they were lent.
	if err := e.dst.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'redshiftsync lock%' AND datname = current_database()`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions still named for a lock, %v", n, err)
	}
}

// TestNewStateStoreOptions: the state has one name, given by WithStateName;
// options of a Sink, a nil db and empty names are errors.
func TestNewStateStoreOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if s := newStateStore(t, e.dst); s.Name() != pgsink.DefaultStateName {
		t.Errorf("default name %q", s.Name())
	}
	if s := newStateStore(t, e.dst, pgsink.WithStateName("x/y")); s.Name() != "x/y" {
		t.Errorf("name %q, want x/y", s.Name())
	}
	for name, c := range map[string]struct {
		opts []pgsink.Option
		want string
	}{
		"sink option":  {[]pgsink.Option{pgsink.WithSchema("s")}, "WithSchema"},
		"intervals":    {[]pgsink.Option{pgsink.WithNativeIntervals()}, "WithNativeIntervals"},
		"empty name":   {[]pgsink.Option{pgsink.WithStateName("")}, "WithStateName"},
		"empty table":  {[]pgsink.Option{pgsink.WithStateTable("", "t")}, "WithStateTable"},
		"empty table2": {[]pgsink.Option{pgsink.WithStateTable("s", "")}, "WithStateTable"},
	} {
		if _, err := pgsink.NewStateStore(e.dst, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.want)
		}
	}
	if _, err := pgsink.NewStateStore(nil); err == nil {
		t.Error("nil db accepted")
	}
	for name, c := range map[string]struct {
		opt  pgsink.Option
		want string
	}{
		"empty state name":  {pgsink.WithStateName(""), "WithStateName"},
		"empty schema":      {pgsink.WithSchema(""), "WithSchema"},
		"resync schema":     {pgsink.WithSchema(pgsink.ResyncSchema), "resync copies"},
		"empty state table": {pgsink.WithStateTable("", ""), "WithStateTable"},
		"nil option":        {nil, "nil Option"},
	} {
		if _, err := pgsink.New(e.dst, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with %s: %v, want an error naming %s", name, err, c.want)
		}
	}
}
