// This file tests the schema file Open writes: present after a table's
// first Open, left alone while current, rewritten when stale or missing.

package jsonlsink

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

// TestSchemaFileAtOpen: a table opened once, never changed, has its schema
// file with its columns and primary key; a later Open with the same columns
// leaves the file (and the change SchemaChanged wrote) alone; an Open with
// other columns, or after the file was removed, writes the current columns,
// atomically (no temporary file left), with the table files' mode.
func TestSchemaFileAtOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "s.c.schema.json")
	read := func(stage string) (SchemaFile, []byte) {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		var doc SchemaFile
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v\n%s", stage, err, data)
		}
		return doc, data
	}
	open := func(tbl *redshiftsync.Table) {
		t.Helper()
		s := mustNew(t, dir, WithFileMode(0o640))
		defer s.Close()
		if err := s.Open(ctx, tbl); err != nil {
			t.Fatal(err)
		}
	}
	names := func(cols []redshiftsync.Column) []string {
		var out []string
		for _, c := range cols {
			out = append(out, c.Name)
		}
		return out
	}

	tbl := compositeTable()
	open(tbl)
	doc, _ := read("first open")
	if doc.Schema != "s" || doc.Table != "c" || !slices.Equal(names(doc.Columns), []string{"v", "n", "name"}) ||
		doc.Columns[1].Type != redshiftsync.TypeLong || !slices.Equal(doc.PrimaryKey, []string{"name", "n"}) ||
		doc.Change.Added != nil || doc.ChangedAt == "" {
		t.Errorf("first open: %+v", doc)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode: %v, %v; want 0640", fi.Mode(), err)
	}

	// SchemaChanged's file, current, survives later Opens.
	s := mustNew(t, dir)
	if err := s.Open(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if err := s.SchemaChanged(ctx, tbl, redshiftsync.SchemaChange{Added: tbl.Columns[:1]}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, before := read("after SchemaChanged")
	open(tbl)
	if _, after := read("open, unchanged"); !bytes.Equal(after, before) {
		t.Errorf("an Open with the same columns rewrote the file:\n%s\nwas\n%s", after, before)
	}

	// Other columns: the file follows them.
	wider := compositeTable()
	wider.Columns = append(wider.Columns, redshiftsync.Column{Name: "note", Type: redshiftsync.TypeString})
	open(wider)
	if doc, _ := read("open, a column more"); !slices.Equal(names(doc.Columns), []string{"v", "n", "name", "note"}) || doc.Change.Added != nil {
		t.Errorf("open, a column more: %+v", doc)
	}

	// Removed: written again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	open(tbl)
	if doc, _ := read("open, file removed"); !slices.Equal(names(doc.Columns), []string{"v", "n", "name"}) {
		t.Errorf("open, file removed: %+v", doc)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" || bytes.Contains([]byte(e.Name()), []byte(".tmp")) {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}
