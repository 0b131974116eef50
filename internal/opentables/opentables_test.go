package opentables

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

// TestRegistry: a table is found only once opened, twice opened is refused,
// and after Close every call fails with ErrClosed while Close returns what
// was open, once.
func TestRegistry(t *testing.T) {
	r := New[int]("sinkpkg")
	a := &redshiftsync.Table{Schema: "s", Name: "a"}
	if _, err := r.Get(a, "Write"); err == nil || err.Error() != "sinkpkg: Write: table s.a was not opened" {
		t.Errorf("Get before Put: %v", err)
	}
	if _, err := r.Get(nil, "Flush"); err == nil || err.Error() != "sinkpkg: Flush: nil table" {
		t.Errorf("Get(nil): %v", err)
	}
	if err := r.Put(a, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(a, 2); err == nil || !strings.Contains(err.Error(), "opened concurrently") {
		t.Errorf("second Put: %v", err)
	}
	if v, err := r.Get(a, "Write"); err != nil || v != 1 {
		t.Errorf("Get = %d, %v; want 1", v, err)
	}
	if v, ok, err := r.Remove(a); err != nil || !ok || v != 1 {
		t.Errorf("Remove = %d, %v, %v", v, ok, err)
	}
	if _, ok, _ := r.Lookup(a); ok {
		t.Error("removed table still found")
	}
	r.Put(a, 3)
	if open, ok := r.Close(); !ok || len(open) != 1 || open[0] != 3 {
		t.Errorf("Close = %v, %v; want [3], true", open, ok)
	}
	if open, ok := r.Close(); ok || open != nil {
		t.Errorf("second Close = %v, %v", open, ok)
	}
	for _, err := range []error{r.Put(a, 4), func() error { _, err := r.Get(a, "Write"); return err }()} {
		if !errors.Is(err, r.ErrClosed()) || err.Error() != "sinkpkg: sink is closed" {
			t.Errorf("after Close: %v", err)
		}
	}
}
