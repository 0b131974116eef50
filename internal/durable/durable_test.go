package durable_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/durable"
)

func TestSyncDir(t *testing.T) {
	if err := durable.SyncDir(t.TempDir()); err != nil {
		t.Errorf("SyncDir of a new directory: %v", err)
	}
	if err := durable.SyncDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SyncDir of a missing directory = %v, want fs.ErrNotExist", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, doc := range []string{`{"v":1}`, `{"v":2,"longer":true}`, `{}`} {
		if err := durable.WriteFile(path, []byte(doc)); err != nil {
			t.Fatalf("WriteFile(%s): %v", doc, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != doc {
			t.Fatalf("after WriteFile(%s) the file holds %q, %v", doc, got, err)
		}
		assertOnly(t, dir, "state.json")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("the file's mode is %v: readable by others", perm)
	}
}

// TestWriteFileFails: a rename that cannot happen (path is a directory)
// returns its error and leaves what was there, and no temporary file.
func TestWriteFileFails(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "taken")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "inside"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(target, []byte("x")); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	assertOnly(t, dir, "taken")
	if err := durable.WriteFile(filepath.Join(dir, "missing", "f"), []byte("x")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile into a missing directory = %v, want fs.ErrNotExist", err)
	}
}

// assertOnly fails the test unless dir holds exactly the entry name: no
// temporary file is left behind.
func assertOnly(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %q, want only %q", dir, names, name)
	}
}
