// This file holds the run lock: the Locker ability of a StateStore, the
// LockError of a lock held elsewhere, FileStore's lock file, and how Run
// takes and waits for the lock.

package redshiftsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/lockfile"
)

// Locker is an optional interface of a StateStore whose state more than one
// process can reach (a file, a database table): two runs writing one state
// at once would interleave their output and each overwrite the other's
// progress. The extractor checks for it once, in New, and holds the lock
// from the start of Run until Run returns, whatever way it returns (an
// error, a canceled context, a panic in a sink).
//
// Lock does not wait: when another holder has the lock, it returns a
// *LockError (which matches ErrLocked) at once, and the extractor tries
// again only when WithLockWait allows. A nil error promises that no other
// Lock of the same state, in this process or another, succeeds until
// unlock is called or the holding process ends (a lock must never outlive
// its holder, so that a killed run does not block the next). Lock and
// unlock are called from one goroutine, once each per Run, before Load and
// after the last Save; unlock's error is logged, as the run's own outcome
// is already decided.
type Locker interface {
	Lock(ctx context.Context) (unlock func() error, err error)
}

// LockError is the error of a lock that another run holds. It matches
// ErrLocked with errors.Is.
type LockError struct {
	// What is what the lock guards: `state file "out/state.json"`.
	What string
	// Lock names the lock itself: a lock file, an advisory lock.
	Lock string
	// PID and Host identify the holding process when it is known (0 and
	// "" otherwise).
	PID  int
	Host string
}

// Error reads "redshiftsync: another sync of <What> is running (pid N on
// host H; <Lock>)".
func (e *LockError) Error() string {
	holder := "holder unknown"
	switch {
	case e.PID != 0 && e.Host != "":
		holder = fmt.Sprintf("pid %d on host %s", e.PID, e.Host)
	case e.PID != 0:
		holder = fmt.Sprintf("pid %d", e.PID)
	}
	return fmt.Sprintf("redshiftsync: another sync of %s is running (%s; %s)", e.What, holder, e.Lock)
}

// Is reports whether target is ErrLocked.
func (e *LockError) Is(target error) bool { return target == ErrLocked }

// WithLockWait makes Run wait up to d for a lock that another run holds
// (see Locker), instead of failing at once with ErrLocked. While it waits
// it logs one info line naming the holder, and reads nothing. It has no
// effect when the StateStore is not a Locker.
func WithLockWait(d time.Duration) Option {
	return func(e *Extractor) error {
		if d < 0 {
			return fmt.Errorf("redshiftsync: WithLockWait(%s): the wait must not be negative", d)
		}
		e.lockWait = d
		return nil
	}
}

// lock takes the state store's lock for Run, waiting as WithLockWait
// allows, and returns what releases it. A store that is no Locker needs no
// lock.
func (e *Extractor) lock(ctx context.Context) (unlock func(), err error) {
	if e.ab.locker == nil {
		return func() {}, nil
	}
	var release func() error
	err = lockfile.Wait(ctx, e.lockWait, func() (err error) {
		release, err = e.ab.locker.Lock(ctx)
		return err
	}, func(err error) bool { return errors.Is(err, ErrLocked) }, func(err error) {
		e.log.Info("waiting for the lock of the state", "wait", e.lockWait, "error", err)
	})
	if err != nil {
		return nil, err
	}
	return func() {
		if release == nil { // a Locker that breaks its contract holds nothing
			return
		}
		if err := release(); err != nil {
			e.log.Warn("release the lock of the state", "error", err)
		}
	}, nil
}

// Lock takes an exclusive lock on the file Path+".lock" (created beside the
// state file and kept there), so that one state file has one run at a time;
// see Locker. The operating system releases the lock when the process ends,
// so a killed run never blocks the next. It is flock(2) on Unix and
// LockFileEx on Windows; elsewhere no lock is taken.
func (f *FileStore) Lock(context.Context) (unlock func() error, err error) {
	l, err := lockfile.Acquire(f.Path + ".lock")
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, &LockError{What: fmt.Sprintf("state file %q", f.Path), Lock: "lock file " + held.Path, PID: held.Holder.PID, Host: held.Holder.Host}
	}
	if err != nil {
		return nil, fmt.Errorf("redshiftsync: lock state file %q: %w", f.Path, err)
	}
	return l.Release, nil
}
