package jsonlsink_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// TestDirectoryLock: one Sink writes a directory at a time: a second New on
// it fails with ErrLocked naming this process until the first is closed;
// another directory is free; WithLockWait takes the lock once it is free.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	first, err := jsonlsink.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = jsonlsink.New(dir)
	host, _ := os.Hostname()
	var lerr *redshiftsync.LockError
	switch {
	case !errors.Is(err, redshiftsync.ErrLocked) || !errors.As(err, &lerr):
		t.Fatalf("second New: %v, want ErrLocked", err)
	case lerr.PID != os.Getpid() || lerr.Host != host || !strings.Contains(err.Error(), filepath.Join(dir, jsonlsink.LockFile)):
		t.Errorf("second New: %v: want the lock file and pid %d on host %s", err, os.Getpid(), host)
	}
	other, err := jsonlsink.New(filepath.Join(dir, "sub"))
	if err != nil {
		t.Fatalf("New of another directory: %v", err)
	}
	other.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := jsonlsink.New(dir, jsonlsink.WithLockWait(time.Minute))
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	again.Close()
}
