package main

// This file tests -check: one line per check, exit 0 when all pass and 1
// when one fails, and nothing created.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

func TestCheckFlag(t *testing.T) {
	_, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.k (id int PRIMARY KEY); INSERT INTO %[1]s.k SELECT generate_series(1, 10);`)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"-source", pgtest.DSN(t), "-schema", schema, "-out", out, "-check"}

	code, output := runBinary(t, args...)
	if code != 0 {
		t.Fatalf("all pass: exit %d:\n%s", code, output)
	}
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for _, want := range []string{"ok   connect: ", "ok   select " + schema + ".k", "ok   state file " + filepath.Join(out, "state.json") + ": ", "ok   write state file "} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line starting %q:\n%s", want, output)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok   ") {
			t.Errorf("line %q is not ok", l)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-check created %s (%v)", out, err)
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(out, "state.json")
	if err := os.WriteFile(state, []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, output = runBinary(t, args...)
	if code != 1 {
		t.Errorf("a corrupt state: exit %d, want 1:\n%s", code, output)
	}
	if !strings.Contains(output, "\nFAIL state file "+state+": ") || !strings.Contains(output, " — fix: move "+state+" away") {
		t.Errorf("no FAIL line for the corrupt state:\n%s", output)
	}
	if doc, _ := os.ReadFile(state); string(doc) != "not json" {
		t.Errorf("the state file was changed to %q", doc)
	}

	code, output = runBinary(t, "-source", pgtest.DSN(t), "-schema", schema, "-dest", pgtest.DSN(t), "-check")
	if code != 1 || !strings.Contains(output, "\nFAIL destination is not the source: ") {
		t.Errorf("-dest = -source: exit %d, want 1 and a FAIL line:\n%s", code, output)
	}
}
