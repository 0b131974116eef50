package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAcquire: where locks are supported, a second Acquire of a held lock, in the same process, is a
// HeldError naming this process; Release frees it; the file stays.
func TestAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if !Supported { // as documented: no lock at all
		if _, err := Acquire(path); err != nil {
			t.Fatalf("second Acquire without lock support: %v", err)
		}
		return
	}
	host, _ := os.Hostname()
	var held *HeldError
	if _, err := Acquire(path); !errors.As(err, &held) || held.Holder != (Holder{os.Getpid(), host}) || held.Path != path {
		t.Fatalf("second Acquire: %v, want held by %d on %s", err, os.Getpid(), host)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l, err = Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l.Release()
	if _, err := Acquire(filepath.Join(t.TempDir(), "missing", "x.lock")); err == nil || errors.As(err, &held) {
		t.Errorf("Acquire in a missing directory: %v", err)
	}
}

// TestWait: a busy lock is tried again until it is free; a wait of 0 tries
// once; another error stops at once; a canceled context stops the wait.
func TestWait(t *testing.T) {
	errBusy, errOther := errors.New("busy"), errors.New("other")
	busy := func(err error) bool { return errors.Is(err, errBusy) }
	ctx := context.Background()
	tries, waited := 0, 0
	err := Wait(ctx, time.Minute, func() error {
		if tries++; tries < 3 {
			return errBusy
		}
		return nil
	}, busy, func(error) { waited++ })
	if err != nil || tries != 3 || waited != 1 {
		t.Errorf("Wait: %v after %d tries, %d wait calls; want nil after 3, 1", err, tries, waited)
	}
	tries = 0
	if err := Wait(ctx, 0, func() error { tries++; return errBusy }, busy, nil); !errors.Is(err, errBusy) || tries != 1 {
		t.Errorf("Wait(0): %v after %d tries", err, tries)
	}
	tries = 0
	if err := Wait(ctx, time.Minute, func() error { tries++; return errOther }, busy, nil); !errors.Is(err, errOther) || tries != 1 {
		t.Errorf("Wait with another error: %v after %d tries", err, tries)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = Wait(cctx, time.Hour, func() error { return errBusy }, busy, func(error) { cancel() })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errBusy) {
		t.Errorf("Wait canceled: %v", err)
	}
}
