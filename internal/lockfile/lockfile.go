// Package lockfile takes exclusive locks on files that the operating system
// releases when the process holding them ends, however it ends (a SIGKILL,
// a crash, a power cut): a lock left by a dead process never blocks the next
// one. The state file store and the JSONL sink use it so that one state, or
// one output directory, has one writer at a time.
//
// The lock is flock(2) on Unix and LockFileEx on Windows; both are held by
// the open file, so two Acquires of one path conflict also within one
// process. Where neither exists (Plan 9, WebAssembly, Solaris, AIX, ...)
// Acquire takes no lock and [Supported] is false. On a network file system
// the lock is only as good as the file system's own locking (Linux maps
// flock to NFS byte-range locks).
package lockfile

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Holder identifies the process that holds a lock, as it wrote itself into
// the lock file.
type Holder struct {
	PID  int    // 0 when unknown
	Host string // "" when unknown
}

// HeldError is returned by Acquire when another open of the file, in this
// process or another, holds the lock.
type HeldError struct {
	Path   string
	Holder Holder // read from the file: zero when the holder had not written it yet
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is locked by pid %d on host %s", e.Path, e.Holder.PID, e.Holder.Host)
}

// Lock is a lock taken by Acquire.
type Lock struct {
	f *os.File
}

// Acquire takes the exclusive lock of the file at path, creating the file
// when it does not exist. It does not wait: a lock held elsewhere is a
// *HeldError. Once it holds the lock it writes "<pid> <host name>" into the
// file, for the error of the next Acquire to name. The file is never
// removed: removing a lock file races with a process that just opened it.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	held, err := tryLock(f)
	if err != nil || held {
		var h Holder
		if held {
			h = readHolder(f)
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return nil, &HeldError{Path: path, Holder: h}
	}
	host, _ := os.Hostname()
	// Best effort: the holder's identity only feeds an error message.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+" "+host+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up and closes the file. Calling it again does
// nothing.
func (l *Lock) Release() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	err := unlock(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readHolder reads "<pid> <host>" from a lock file; a file being written
// reads as an unknown holder.
func readHolder(f *os.File) Holder {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	line, complete := strings.CutSuffix(string(buf[:n]), "\n")
	if !complete {
		return Holder{}
	}
	pid, host, _ := strings.Cut(line, " ")
	n, err := strconv.Atoi(pid)
	if err != nil {
		return Holder{}
	}
	return Holder{PID: n, Host: host}
}

// Wait calls try until it succeeds, fails for a reason other than busy, or
// wait has passed: a lock that another run holds is tried again after a
// short pause, growing to a second. waiting is called once, with the first
// busy error, when Wait starts to wait. A wait of 0 tries once.
func Wait(ctx context.Context, wait time.Duration, try func() error, busy func(error) bool, waiting func(error)) error {
	deadline := time.Now().Add(wait)
	pause := 50 * time.Millisecond
	for first := true; ; first = false {
		err := try()
		if err == nil || !busy(err) {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if !first {
				return fmt.Errorf("waited %s: %w", wait, err)
			}
			return err
		}
		if first && waiting != nil {
			waiting(err)
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: stopped waiting: %w", ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}
