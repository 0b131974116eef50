// This file holds the lock of Windows: LockFileEx, called through kernel32
// because the root module takes no dependency on golang.org/x/sys.

//go:build windows

package lockfile

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// Supported reports whether Acquire takes a lock on this system.
const Supported = true

var (
	kernel32       = syscall.NewLazyDLL("kernel32.dll")
	procLockFileEx = kernel32.NewProc("LockFileEx")
	procUnlockFile = kernel32.NewProc("UnlockFileEx")
)

const (
	lockfileFailImmediately = 0x1
	lockfileExclusiveLock   = 0x2
	errorLockViolation      = syscall.Errno(33)
)

// The locked byte lies far past the holder's line, because a Windows lock
// is mandatory: readers of the holder's line must not hit it.
func lockRange() *syscall.Overlapped { return &syscall.Overlapped{OffsetHigh: 1} }

func tryLock(f *os.File) (held bool, err error) {
	r, _, e := procLockFileEx.Call(f.Fd(), lockfileExclusiveLock|lockfileFailImmediately, 0, 1, 0, uintptr(unsafe.Pointer(lockRange())))
	if r != 0 {
		return false, nil
	}
	if errors.Is(e, errorLockViolation) {
		return true, nil
	}
	return false, e
}

func unlock(f *os.File) error {
	r, _, e := procUnlockFile.Call(f.Fd(), 0, 1, 0, uintptr(unsafe.Pointer(lockRange())))
	if r == 0 {
		return e
	}
	return nil
}
