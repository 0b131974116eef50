// Package durable writes files so that what a call reported written survives
// a crash: a directory's new entries are synced, and a file is replaced
// whole or not at all. The root package's FileStore (the state file) and
// jsonlsink (its directory and table files) use it, so the two agree on
// which file systems are tolerated.
package durable

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// SyncDir fsyncs the directory dir, so that the entries created, renamed or
// removed in it survive a crash. A file system that cannot sync a directory
// (the fsync fails with EINVAL or ENOTSUP, as on some network and virtual
// file systems) is tolerated: there is nothing more to do there, and
// failing every write on it would make the directory unusable. On Windows,
// where a directory cannot be opened for syncing, it does nothing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

// WriteFile replaces the file at path with data, atomically and durably: a
// temporary file beside it (mode 0600) is written, synced and renamed over
// path, and the directory synced. A crash leaves the old file or the new
// one, never a mix; a failed call leaves the old file and no temporary one.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}
