//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package redshiftsync_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// The helper process of TestLockDiesWithHolder (the test binary run again
// with these variables set) takes the locks of the state file and the JSONL
// directory they name, says so, and sleeps until it is killed.
const (
	envLockState = "REDSHIFTSYNC_TEST_LOCK_STATE"
	envLockDir   = "REDSHIFTSYNC_TEST_LOCK_DIR"
)

func TestMain(m *testing.M) {
	if state := os.Getenv(envLockState); state != "" {
		lockAndSleep(state, os.Getenv(envLockDir))
	}
	os.Exit(m.Run())
}

func lockAndSleep(state, dir string) {
	if _, err := redshiftsync.NewFileStore(state).Lock(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := jsonlsink.New(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Hour) // until killed
	os.Exit(3)
}

// TestLockDiesWithHolder: a process that holds the lock of a state file and
// of a JSONL directory blocks others, who are told its pid, until it is
// killed with SIGKILL: then the locks are free at once, although the lock
// files stay.
func TestLockDiesWithHolder(t *testing.T) {
	tmp := t.TempDir()
	state, dir := filepath.Join(tmp, "state.json"), filepath.Join(tmp, "out")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envLockState+"="+state, envLockDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	store := redshiftsync.NewFileStore(state)
	var lerr *redshiftsync.LockError
	if _, err := store.Lock(context.Background()); !errors.As(err, &lerr) || lerr.PID != cmd.Process.Pid {
		t.Fatalf("state lock held by pid %d: %v", cmd.Process.Pid, err)
	}
	if _, err := jsonlsink.New(dir); !errors.As(err, &lerr) || lerr.PID != cmd.Process.Pid {
		t.Fatalf("directory lock held by pid %d: %v", cmd.Process.Pid, err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	unlock, err := store.Lock(context.Background())
	if err != nil {
		t.Fatalf("state lock after the holder was killed: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	sink, err := jsonlsink.New(dir)
	if err != nil {
		t.Fatalf("directory lock after the holder was killed: %v", err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(state + ".lock"); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
