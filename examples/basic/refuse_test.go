package main

// This file tests the runs that examples/basic refuses with one clear line:
// a destination that is the source, and a state from another server.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// oneLine checks that err, as main prints it, is one line that says want.
func oneLine(t *testing.T, err error, want string) {
	t.Helper()
	line := "basic: " + err.Error()
	if strings.Contains(line, "\n") || !strings.Contains(line, want) {
		t.Errorf("printed error is not one line saying %q:\n%s", want, line)
	}
}

// TestRunRefuses: -dest naming the source database fails before any change
// to the source; a state file recording another server fails until
// -adopt-state.
func TestRunRefuses(t *testing.T) {
	src, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.k (code text, n int);
INSERT INTO %[1]s.k SELECT 'c' || i, i FROM generate_series(1, 100) i;
CREATE FUNCTION %[1]s.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER keep_me BEFORE INSERT ON %[1]s.k FOR EACH ROW EXECUTE FUNCTION %[1]s.f();`)
	oid := func() (n int64) {
		if err := src.QueryRow(`SELECT $1::regclass::oid`, schema+".k").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := oid()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer

	err := run(ctx, []string{"-source", pgtest.DSN(t), "-schema", schema, "-dest", pgtest.DSN(t), "-progress", "off"}, &stdout, &stderr)
	if !errors.Is(err, redshiftsync.ErrDestinationIsSource) {
		t.Fatalf("-dest = -source: err = %v", err)
	}
	oneLine(t, err, "the destination is the source")
	if oid() != before {
		t.Error("the source table was replaced")
	}

	out := t.TempDir()
	args := []string{"-source", pgtest.DSN(t), "-schema", schema, "-out", out, "-progress", "off"}
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("first run: %v", err)
	}
	statePath := filepath.Join(out, "state.json")
	doc, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(doc, &st); err != nil {
		t.Fatal(err)
	}
	st["server"] = "postgresql:1"
	if doc, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, args, &stdout, &stderr)
	if !errors.Is(err, redshiftsync.ErrStateMismatch) {
		t.Fatalf("a state of another server: err = %v", err)
	}
	oneLine(t, err, "-adopt-state")
	if err := run(ctx, append(args, "-adopt-state"), &stdout, &stderr); err != nil {
		t.Fatalf("-adopt-state: %v", err)
	}
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("after -adopt-state, a plain run: %v", err)
	}
}
