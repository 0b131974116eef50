// This file holds the lock of the output directory: one Sink writes a
// directory at a time, in this process or any other.

package jsonlsink

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/lockfile"
)

// LockFile is the name of the lock file a Sink keeps in its directory.
const LockFile = ".jsonlsink.lock"

// WithLockWait makes New wait up to d for the lock of the directory while
// another Sink holds it, instead of failing at once; 0 (the default) does
// not wait. A negative d is an error.
func WithLockWait(d time.Duration) Option {
	return func(s *Sink) error {
		if d < 0 {
			return fmt.Errorf("jsonlsink: WithLockWait(%s): the wait must not be negative", d)
		}
		s.lockWait = d
		return nil
	}
}

// lockDir takes the lock of the sink's directory, waiting as WithLockWait
// allows.
func (s *Sink) lockDir() error {
	path := filepath.Join(s.dir, LockFile)
	return lockfile.Wait(context.Background(), s.lockWait, func() error {
		l, err := lockfile.Acquire(path)
		var held *lockfile.HeldError
		switch {
		case errors.As(err, &held):
			return &redshiftsync.LockError{What: fmt.Sprintf("JSONL directory %q", s.dir), Lock: "lock file " + path, PID: held.Holder.PID, Host: held.Holder.Host}
		case err != nil:
			return fmt.Errorf("jsonlsink: %w", err)
		}
		s.lock = l
		return nil
	}, func(err error) bool { return errors.Is(err, redshiftsync.ErrLocked) }, nil)
}
