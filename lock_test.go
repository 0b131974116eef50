package redshiftsync_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// gatedSink is a memSink whose first Open waits until gate is closed, after
// telling entered: a run held inside its sync.
type gatedSink struct {
	*memSink
	entered chan struct{}
	gate    chan struct{}
}

func newGatedSink() *gatedSink {
	return &gatedSink{memSink: newMemSink(), entered: make(chan struct{}), gate: make(chan struct{})}
}

func (g *gatedSink) Open(ctx context.Context, t *redshiftsync.Table) error {
	select {
	case <-g.entered:
	default:
		close(g.entered)
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.memSink.Open(ctx, t)
}

// TestRunLocked: while a run holds a FileStore's state, a second extractor
// on the same file fails at once with ErrLocked naming this process, before
// it reads or writes anything; with WithLockWait it waits for the first to
// end, then runs; and once the first ended, a plain run goes ahead.
func TestRunLocked(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.t SELECT i, timestamp '2024-01-01' + i * interval '1 s' FROM generate_series(1, 500) i`)
	cfg := testConfig(t, s)
	path := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := newGatedSink()
	exA := synctest.New(t, cfg, first, redshiftsync.NewFileStore(path))
	doneA := make(chan error, 1)
	go func() { _, err := exA.Run(ctx); doneA <- err }()
	<-first.entered

	second := newMemSink()
	_, err := runOnce(t, cfg, second, redshiftsync.NewFileStore(path))
	host, _ := os.Hostname()
	var lerr *redshiftsync.LockError
	switch {
	case !errors.Is(err, redshiftsync.ErrLocked) || !errors.As(err, &lerr):
		t.Errorf("second run: %v, want ErrLocked", err)
	case lerr.PID != os.Getpid() || lerr.Host != host || !strings.Contains(err.Error(), path):
		t.Errorf("second run: %v: want the state file and pid %d on host %s", err, os.Getpid(), host)
	}
	if len(second.tables) != 0 {
		t.Errorf("the locked run opened %d tables", len(second.tables))
	}

	// WithLockWait: the third run waits, saying so, until the first ends.
	logs := &logBuffer{}
	third := newMemSink()
	doneC := make(chan error, 1)
	exC := synctest.New(t, cfg, third, redshiftsync.NewFileStore(path), redshiftsync.WithLockWait(time.Minute), redshiftsync.WithLogger(newLogger(logs)))
	go func() { _, err := exC.Run(ctx); doneC <- err }()
	for !strings.Contains(logs.String(), "waiting for the lock") {
		select {
		case err := <-doneC:
			t.Fatalf("the waiting run ended while the lock was held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !strings.Contains(logs.String(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("the wait's log line does not name the holder: %s", logs.String())
	}
	close(first.gate)
	if err := <-doneA; err != nil {
		t.Fatalf("first run: %v", err)
	}
	if err := <-doneC; err != nil {
		t.Fatalf("waiting run: %v", err)
	}
	if n := len(first.rows[s+".t"]); n != 500 {
		t.Errorf("first run: %d rows, want 500", n)
	}
	mustRun(t, cfg, newMemSink(), redshiftsync.NewFileStore(path))

	// A run that fails, or is canceled, releases the lock too.
	failing := newMemSink()
	failing.failAfter = 1
	pgtest.Exec(t, db, `UPDATE `+s+`.t SET updated_at = updated_at + interval '1 day'`)
	if _, err := runOnce(t, cfg, failing, redshiftsync.NewFileStore(path)); !errors.Is(err, errCrash) {
		t.Fatalf("failing run: %v", err)
	}
	canceled, stop := context.WithCancel(ctx)
	stop()
	exD := synctest.New(t, cfg, newMemSink(), redshiftsync.NewFileStore(path))
	if _, err := exD.Run(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run: %v", err)
	}
	unlock, err := redshiftsync.NewFileStore(path).Lock(ctx)
	if err != nil {
		t.Fatalf("lock after a failed and a canceled run: %v", err)
	}
	unlock()
}
